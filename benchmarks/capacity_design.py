"""Benchmark capacity design: square-root assignment against its closed form, modular MILP time.

Usage (the SNDlib collection is found as the tests find it, ``benchmarks/external.py``)::

    python benchmarks/capacity_design.py --set closed-form      # every SNDlib network
    python benchmarks/capacity_design.py --set modular          # abilene, nobel-germany, germany50, geant
    python benchmarks/capacity_design.py --set modular --instances abilene --time-limit 120

* ``closed-form`` -- on each SNDlib network, min-hop flows, Kleinrock's channel model (each
  direction its own capacity, as in the closed form): the largest relative difference between
  topo-opt's capacities and the closed form C = F + D_e √(F/d)/Σ√(F d) (budget 3 Σ d F), the
  same for the delay-bound form, and on the duplex network (one capacity per link, solved by
  Newton's method) the relative gap between the objective and its Lagrangian dual bound, and the
  peer: the same duplex problem in cvxpy solved by Clarabel (time with compilation, N relative to
  topo-opt's; a warm-up solve first so that imports are not charged).
* ``modular`` -- the SNDlib file converted by the bundled-instance rule
  (``instances/convert_sndlib.py``: capacities sized to standard line rates at 50 % min-hop
  utilisation where SNDlib installs none), then ``models/modular-capacity.toml`` (design from
  scratch with the SNDlib modules, min cost s.t. T ≤ the installed network's min-delay delay,
  MIP gap 1 %): time, rounds, gap, MILP size, design cost against the installed capacities
  priced with the same modules.

Results go to ``benchmarks/results/capacity_<set>.json`` and are printed as Markdown.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from external import collection, sndlib_converter  # noqa: E402
from topo_opt.algorithms.baselines import min_hop_routing  # noqa: E402
from topo_opt.algorithms.square_root_rule import link_queue_loads  # noqa: E402
from topo_opt.io.atomic import atomic_write_text  # noqa: E402
from topo_opt.io.sndlib import read_sndlib  # noqa: E402
from topo_opt.model.costs import unit_capacity_cost  # noqa: E402
from topo_opt.model.validation import replace_network
from topo_opt.algorithms.capacity_flow_assignment import solve_capacity_assignment  # noqa: E402
from topo_opt.solve.cards import load_card  # noqa: E402
from topo_opt.evaluators.design_check import check_result  # noqa: E402
from topo_opt.solve.dispatch import solve  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MODULAR = ("abilene", "nobel-germany", "germany50", "geant")


def as_channels(network):
    """Each link split into two directed links (one capacity per direction)."""
    links = [dataclasses.replace(link, id=f"{link.id}>") for link in network.links] + \
        [dataclasses.replace(link, id=f"{link.id}<", source=link.target, target=link.source)
         for link in network.links]
    return replace_network(network, links=tuple(links), link_model="directed")


def closed_form_row(path: Path) -> dict:
    duplex = read_sndlib(path)
    network = as_channels(duplex)
    flow = network.queue_load(min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs))
    d = unit_capacity_cost(network)
    used = flow > 0
    f, du = flow[used], d[used]
    s = np.sum(np.sqrt(f * du))
    budget = 3.0 * float(d @ flow)
    tick = time.perf_counter()
    result = solve_capacity_assignment(network, form="budget", routing_rule="min-hop", target=budget,
                                       include_fixed_delay=False)
    elapsed = time.perf_counter() - tick
    closed = f + (budget - du @ f) * np.sqrt(f / du) / s
    t_max = 2.0 * result.objective
    bound = solve_capacity_assignment(network, form="delay-bound", routing_rule="min-hop", target=t_max,
                                      include_fixed_delay=False)
    closed_bound = f + np.sqrt(f / du) * s / (network.total_packet_rate * t_max)
    loads = link_queue_loads(duplex.queue_load(min_hop_routing(duplex).arc_flow(duplex.demand_rate, duplex.n_arcs)),
                             duplex.queue_link, duplex.n_links)
    shared = solve_capacity_assignment(duplex, form="budget", routing_rule="min-hop", include_fixed_delay=False,
                                       target=3.0 * float(unit_capacity_cost(duplex) @ loads.max(axis=1)))
    peer_time, peer_objective = clarabel_duplex(loads, unit_capacity_cost(duplex),
                                                3.0 * float(unit_capacity_cost(duplex) @ loads.max(axis=1)))
    tick = time.perf_counter()
    solve_capacity_assignment(duplex, form="budget", routing_rule="min-hop", include_fixed_delay=False,
                              target=3.0 * float(unit_capacity_cost(duplex) @ loads.max(axis=1)))
    ours = time.perf_counter() - tick
    return {"instance": path.stem, "nodes": duplex.n_nodes, "links": duplex.n_links,
            "duplex_time_s": ours, "clarabel_time_s": peer_time,
            "clarabel_rel_diff": (peer_objective - shared.objective * duplex.total_packet_rate)
            / (shared.objective * duplex.total_packet_rate),
            "demands": duplex.n_demands, "time_s": elapsed,
            "budget_max_rel_diff": float(np.max(np.abs(result.design.link_capacity[used] - closed) / closed)),
            "bound_max_rel_diff": float(np.max(np.abs(bound.design.link_capacity[used] - closed_bound)
                                               / closed_bound)),
            "duplex_dual_gap": shared.gap, "checker": check_result(network, result) + check_result(duplex, shared)}


def clarabel_duplex(loads: np.ndarray, unit_cost: np.ndarray, budget: float) -> tuple[float, float]:
    """The peer: the same duplex budget problem written in cvxpy, solved by Clarabel (defaults).

    Returns (seconds including cvxpy's compilation, N at its solution)."""
    import cvxpy as cp

    tick = time.perf_counter()
    scale = loads.max()  # O(1) numbers: Clarabel fails on bit/s and cost-per-bit/s magnitudes
    f, d = loads / scale, unit_cost * scale / budget
    capacity = cp.Variable(len(loads))
    terms = [x * cp.inv_pos(capacity[l] - x) for l, row in enumerate(f) for x in row if x > 0]
    problem = cp.Problem(cp.Minimize(cp.sum(cp.hstack(terms))), [d @ capacity <= 1.0, capacity >= 0])
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        return time.perf_counter() - tick, float("nan")
    elapsed = time.perf_counter() - tick
    c = capacity.value
    return elapsed, float(np.sum(np.where(f > 0, f / (c[:, None] - f), 0.0)))


def modular_row(name: str, time_limit_s: float) -> dict:
    network = sndlib_converter()(collection("sndlib", f"{name}.txt"))
    card = load_card(HERE.parent / "models" / "modular-capacity.toml", (f"solver.time_limit_s={time_limit_s}",))
    tick = time.perf_counter()
    result = solve(network, card)
    elapsed = time.perf_counter() - tick
    details = result.details
    if result.design is None:
        return {"instance": name, "status": result.status.value, "time_s": elapsed,
                "lower_bound": result.lower_bound, "message": result.message}
    return {"instance": name, "nodes": network.n_nodes, "links": network.n_links,
            "demands": network.n_demands, "levels": details["levels"],
            "truncated_links": len(details["levels_truncated_links"]),
            "lp_columns": details["lp_columns"], "lp_rows": details["lp_rows"],
            "status": result.status.value, "time_s": elapsed, "rounds": details["rounds"],
            "cost": result.objective, "lower_bound": result.lower_bound, "gap": result.gap,
            "installed_cost": details["installed_cost"], "max_delay_s": details["max_delay_s"],
            "delay_s": details["average_delay_s"], "checker": check_result(network, result)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("closed-form", "modular"), default="closed-form")
    parser.add_argument("--instances", nargs="*", default=None)
    parser.add_argument("--time-limit", type=float, default=600.0)
    args = parser.parse_args(argv)
    rows = []
    if args.set == "closed-form":
        clarabel_duplex(np.ones((1, 2)), np.ones(1), 10.0)  # warm-up: imports and first-call costs
        names = args.instances or sorted(p.stem for p in collection("sndlib").glob("*.txt"))
        for name in names:
            rows.append(closed_form_row(collection("sndlib", f"{name}.txt")))
            r = rows[-1]
            print(f"| {r['instance']} | {r['nodes']} | {r['links']} | {r['budget_max_rel_diff']:.1e} | "
                  f"{r['bound_max_rel_diff']:.1e} | {r['duplex_dual_gap']:.1e} | {r['duplex_time_s'] * 1e3:.1f} | "
                  f"{r['clarabel_time_s'] * 1e3:.0f} | {r['clarabel_time_s'] / r['duplex_time_s']:.0f} | "
                  f"{r['clarabel_rel_diff']:.1e} |", flush=True)
    else:
        for name in args.instances or MODULAR:
            rows.append(modular_row(name, args.time_limit))
            r = rows[-1]
            if "levels" not in r:
                print(f"| {r['instance']} | {r['status']} | {r['time_s']:.1f} | {r['message']} |", flush=True)
                continue
            print(f"| {r['instance']} | {r['nodes']} | {r['links']} | {r['demands']} | {r['levels']} "
                  f"({r['truncated_links']}) | {r['lp_columns']} × {r['lp_rows']} | {r['status']} | "
                  f"{r['time_s']:.1f} | {r['rounds']} | {r['cost']:.6g} | {r['gap']:.2%} | "
                  f"{r['installed_cost']:.6g} |", flush=True)
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"capacity_{args.set}.json", json.dumps(
        {"python": sys.version.split()[0], "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
