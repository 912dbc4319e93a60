"""Worst-case delay (network calculus) and DDoS benchmarks (issue 17); results in BENCHMARKS.md.

    python benchmarks/worst_case.py --set anchors     # NCBounds published values vs topo-opt
    python benchmarks/worst_case.py --set analyses    # TFA / PBOO / regulated: bounds and times
    python benchmarks/worst_case.py --set design      # deadline design: dual vs cvxpy + Clarabel
    python benchmarks/worst_case.py --set ddos        # attack what-if: iterations, bracket, time
    python benchmarks/worst_case.py --set scale       # CommaLab planar100/500 (benchmarks/external.py)

Needs the ``bench`` extra (cvxpy, Clarabel) for ``--set design``.  Prints Markdown tables.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from external import collection  # noqa: E402
from topo_opt.algorithms.baselines import min_hop_routing  # noqa: E402
from topo_opt.evaluators.network_calculus import ArrivalCurve  # noqa: E402
from topo_opt.evaluators.worst_case import (  # noqa: E402
    ServerFlowSystem, separated_flow_analysis, total_flow_analysis, worst_case_delays,
)
from topo_opt.io.detect import read_instance  # noqa: E402
from topo_opt.model.design import Design  # noqa: E402
from topo_opt.model.traffic import traffic_descriptors  # noqa: E402

INSTANCES = ("six-node", "abilene", "nobel-us", "geant")


def anchors() -> None:
    """NCBounds (A. Bouillard, Nokia Bell Labs) doctest values: SFA with blind multiplexing."""
    ring = ServerFlowSystem.build([6] * 3, [4] * 3, [(ArrivalCurve.token_bucket(2, 1), [(i + j) % 3 for j in range(3)])
                                                      for i in range(3)])
    sfa = separated_flow_analysis(ring)
    backlog = sfa.hop_burst[2] + 1.0 * (2.0 + sfa.hop_burst[1] + 24.0) / 4.0
    toy = ServerFlowSystem.build([4, 5, 7], [2, 3, 1], [(ArrivalCurve.token_bucket(1, 2), [0, 1, 2]),
                                                        (ArrivalCurve.token_bucket(2, 3), [1, 2]),
                                                        (ArrivalCurve.token_bucket(1, 1), [0, 2])])
    toy_sfa = separated_flow_analysis(toy)
    rows = [("Ring(3), σ=2, ρ=1, β=RL(6,4): bursts of flow 0 (SFA fixed point)", "2, 24.4, 41.2",
             ", ".join(f"{x:.6g}" for x in sfa.hop_burst[:3])),
            ("Ring(3): backlog of flow 0 at server 2", "53.8", f"{backlog:.6g}"),
            ("ToyNetwork: SFA delay of flow 0", "24.166666666666664", f"{toy_sfa.flow_delay_s[0]:.17g}"),
            ("ToyNetwork: SFA backlog of flow 0 at server 2", "48.33333333333333",
             f"{toy_sfa.hop_burst[2] + 2 * (24 + 5.5 + 7) / 3:.16g}")]
    print("| case | NCBounds | topo-opt |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\n| ring n | u = n r/R | TFA (topo-opt) | closed form | status |\n|---|---|---|---|---|")
    for n in (4, 6, 9):
        limit = 2 / (n - 1)
        for u in (0.9 * limit, 1.01 * limit):
            system = ServerFlowSystem.build([100.0] * n, [1e-3] * n,
                                            [(ArrivalCurve.token_bucket(1.0, u * 100 / n), [(i + j) % n for j in range(n)])
                                             for i in range(n)])
            tfa = total_flow_analysis(system)
            closed = n * (1e-3 + n / 100) / (1 - u * (n - 1) / 2) if u < limit else float("inf")
            print(f"| {n} | {u:.4g} | {tfa.flow_delay_s[0]:.9g} | {closed:.9g} | "
                  f"{'bounded' if tfa.bounded else 'unbounded'} ({tfa.iterations} it.) |")


def analyses() -> None:
    print("| instance | demands | flows | TFA max (ms) | PBOO max (ms) | min(TFA,PBOO) max (ms) | regulated max (ms) "
          "| M/M/1 mean max (ms) | time (s) |\n|---|---|---|---|---|---|---|---|---|")
    from topo_opt.evaluators.metrics import evaluate_design
    for name in INSTANCES:
        network = read_instance(ROOT / "instances" / f"{name}.json")
        design = Design.for_network(network, min_hop_routing(network))
        start = time.perf_counter()
        report = worst_case_delays(network, design, traffic_descriptors(network))
        elapsed = time.perf_counter() - start
        mean = evaluate_design(network, design).demand_worst_delay_s
        cells = [np.nanmax(report.demand_delay_s[m]) * 1e3 for m in ("tfa", "sfa")]
        print(f"| {name} | {network.n_demands} | {report.system.n_flows} | {cells[0]:.4g} | {cells[1]:.4g} | "
              f"{np.nanmax(report.best()) * 1e3:.4g} | {np.nanmax(report.demand_delay_s['regulated']) * 1e3:.4g} | "
              f"{np.nanmax(mean) * 1e3:.4g} | {elapsed:.3g} |")


def design() -> None:
    import cvxpy as cp

    from topo_opt.solve.worst_case_capacity import solve_worst_case_capacity
    print("| instance | deadline (ms) | topo-opt cost | bound | gap | time (s) | Clarabel cost | Clarabel time (s) "
          "| rel. diff | Clarabel max bound/deadline |\n|---|---|---|---|---|---|---|---|---|---|")
    for name, deadline in (("six-node", 2e-4), ("abilene", 0.03), ("nobel-us", 0.032), ("geant", 0.074)):
        network = read_instance(ROOT / "instances" / f"{name}.json")
        traffic = traffic_descriptors(network)
        start = time.perf_counter()
        result = solve_worst_case_capacity(network, traffic, routing_rule="min-hop", deadline=deadline)
        ours = time.perf_counter() - start
        # the same convex program in cvxpy: min d·C s.t. Σ_hops (M + B_q)/C_l + fixed ≤ D, C ≥ F/0.95
        start = time.perf_counter()
        routing = min_hop_routing(network)
        system = worst_case_delays(network, Design.for_network(network, routing), traffic, ()).system
        burst = np.bincount(system.flow_servers, weights=system.flow_burst[system.hop_flow],
                            minlength=network.n_queues) + traffic.max_packet
        load = network.queue_load(routing.arc_flow(network.demand_rate, network.n_arcs))
        scale = float(load.max())
        capacity = cp.Variable(network.n_links)
        inverse = cp.inv_pos(capacity)
        rows = []
        for f in range(system.n_flows):
            queues = system.flow_servers[system.flow_indptr[f]:system.flow_indptr[f + 1]]
            links = network.queue_link[queues]
            rows.append(cp.sum(cp.multiply(burst[queues] / scale, inverse[links])) + system.flow_fixed_delay_s[f] <= deadline)
        link_load = np.zeros(network.n_links)
        np.maximum.at(link_load, network.queue_link, load)
        from topo_opt.model.costs import unit_capacity_cost
        cost = unit_capacity_cost(network) * scale
        problem = cp.Problem(cp.Minimize(cost @ capacity), rows + [capacity >= link_load / 0.95 / scale])
        problem.solve(solver=cp.CLARABEL)
        theirs = time.perf_counter() - start
        design_c = Design.for_network(network, routing, link_capacity=np.maximum(capacity.value, 0) * scale)
        check = worst_case_delays(network, design_c, traffic, ("regulated",)).demand_delay_s["regulated"]
        print(f"| {name} | {deadline * 1e3:g} | {result.objective:.10g} | {result.lower_bound:.10g} | {result.gap:.2g} | "
              f"{ours:.3g} | {problem.value:.10g} | {theirs:.3g} | "
              f"{(problem.value - result.objective) / result.objective:.2g} | {np.max(check / deadline):.12g} |")


def ddos() -> None:
    from topo_opt.io.attack_card import load_attack_card
    from topo_opt.model.attack import parse_attack
    from topo_opt.batch.attack_whatif import run_attack_whatif
    print("| instance | attack | iterations | bracket | legit loss before → after | time (s) |\n|---|---|---|---|---|---|")
    for name, spec in (("abilene", "ATLAng,CHINng,HSTNng>STTLng@9e9"), ("nobel-us", "Houston,Atlanta>Seattle@2e9")):
        network = read_instance(ROOT / "instances" / f"{name}.json")
        flows = parse_attack(spec, network)
        card = load_attack_card(ROOT / "models/attack/ddos.toml", network)
        start = time.perf_counter()
        result = run_attack_whatif(network, flows, card)
        elapsed = time.perf_counter() - start
        a = result.attacked
        print(f"| {name} | `{spec}` | {a.iterations} | {a.bracket:.2g} | {result.legit_loss[0]:.4g} → "
              f"{result.legit_loss[1]:.4g} | {elapsed:.3g} |")


def scale() -> None:
    """Each strategy on min-delay routings (gradient projection, gap 1e-4) of CommaLab networks."""
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
    from topo_opt.evaluators.worst_case import STRATEGIES, describe
    print("| instance | nodes | demands | flows | strategy | bounded | max bound (s) | fixed-point iterations "
          "| time (s) |\n|---|---|---|---|---|---|---|---|---|")
    for name in ("planar100", "planar500"):
        network = read_instance(collection("commalab", "planar", name))
        design = solve_min_delay_gp(network, gap=1e-4).design
        start = time.perf_counter()
        system = describe(network, design, traffic_descriptors(network))
        built = time.perf_counter() - start
        for method, strategy in STRATEGIES.items():
            start = time.perf_counter()
            result = strategy(system)
            elapsed = time.perf_counter() - start + built
            print(f"| {name} | {network.n_nodes} | {network.n_demands} | {system.n_flows} | {method} | "
                  f"{'yes' if result.bounded else 'no'} | {float(np.max(result.flow_delay_s)):.4g} | "
                  f"{result.iterations} | {elapsed:.3g} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="all", choices=("anchors", "analyses", "design", "ddos", "scale", "all"))
    chosen = parser.parse_args().set
    for name, run in (("anchors", anchors), ("analyses", analyses), ("design", design), ("ddos", ddos),
                      ("scale", scale)):
        if chosen in (name, "all"):
            print(f"\n### {name}\n")
            run()


if __name__ == "__main__":
    main()
