"""Which side of a near-capacity gap is loose: topo-opt's answer against a certified reference.

Builds one instance of ``near_capacity.py`` (demands scaled to ``fraction`` of the maximum
concurrent flow), solves it through the front door (``models/min-delay.toml``, gap 1e-6) and
with Ipopt at tight settings on the arc formulation (``peers.solve_ipopt``, tol 1e-10, bounds
not relaxed).  Ipopt's flows are certified with topo-opt's own Frank–Wolfe bound at them, so the
reference optimum ``T*`` lies in ``[LB_ref, T_ref]``; topo-opt's objective above ``T_ref`` is the
primal side of its gap, ``LB_ref`` above its bound the bound side.  CPU seconds of this process.

Usage::

    python benchmarks/near_capacity_reference.py [--topology gabriel/100/0] [--fraction 0.999]
                                                 [--time-limit 120]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topology", default="gabriel/100/0")
    parser.add_argument("--fraction", type=float, default=0.999)
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()

    import topologies
    from peers import solve_ipopt

    from topo_opt.algorithms.flow_deviation import frank_wolfe_bound
    from topo_opt.algorithms.shortest_paths import (
        ArcGraph,
        demand_distances,
        shortest_path_forest,
    )
    from topo_opt.evaluators.delay import DelayObjective
    from topo_opt.model.synthesis import scale_demands
    from topo_opt.solve.cards import load_card
    from topo_opt.solve.dispatch import solve
    from topo_opt.solve.lp_methods import solve_max_utilization

    network = topologies.instance(args.topology)
    network = scale_demands(network, args.fraction / solve_max_utilization(network).lower_bound)
    card = load_card("min-delay", ("solver.gap=1e-6", f"solver.time_limit_s={args.time_limit}"))
    start = time.process_time()
    result = solve(network, card)
    topo_cpu = time.process_time() - start

    start = time.process_time()
    peer = solve_ipopt(network, tol=1e-10, bound_relax_factor=0.0, time_limit_s=10 * args.time_limit)
    ipopt_cpu = time.process_time() - start
    objective = DelayObjective.for_network(network)
    t_ref = objective.value(peer.arc_flow)
    gradient = objective.arc_gradient(peer.arc_flow)
    forest = shortest_path_forest(ArcGraph.from_network(network), gradient, network.demand_source)
    lb_ref = frank_wolfe_bound(t_ref, gradient, peer.arc_flow, demand_distances(forest, network),
                               network.demand_rate)
    utilization = network.queue_load(peer.arc_flow) / objective.queue_capacity

    print(f"{args.topology} at {args.fraction}: {network.n_nodes} nodes, {network.n_demands} demands")
    print(f"topo-opt {result.method} {result.status.value}: T = {result.objective:.7e} s, "
          f"LB = {result.lower_bound:.7e} s, gap {result.gap:.2e}, {topo_cpu:.1f} CPU s")
    print(f"Ipopt {peer.status}: T_ref = {t_ref:.7e} s, certified LB_ref = {lb_ref:.7e} s "
          f"(gap {(t_ref - lb_ref) / t_ref:.1e}), flow residual {peer.feasibility_residual:.1e}, "
          f"max utilisation {utilization.max():.6f}, {ipopt_cpu:.1f} CPU s")
    print(f"primal side: T above T_ref by {(result.objective - t_ref) / t_ref:.2e}; "
          f"bound side: LB below LB_ref by {(lb_ref - result.lower_bound) / lb_ref:.2e}")


if __name__ == "__main__":
    main()
