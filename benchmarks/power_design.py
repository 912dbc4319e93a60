"""Benchmark min-power design: MILP time and gap, power saved, EARP heuristic against the MILP.

Usage (from the repository root, see ``BENCHMARKS.md``)::

    python benchmarks/power_design.py [--instances abilene polska ...] [--factor 1.5]
                                      [--time-limit 120] [--profile core-router]
                                      [--demand-delay-factor 1.2]

Instances are SNDlib native files from the ``sndlib`` collection (``benchmarks/external.py``) made solvable by the rule
of ``instances/convert_sndlib.py`` (great-circle lengths; capacities sized so that min-hop
routing loads every link to at most 50 %).  Per instance, with T* the minimum average delay with
every link on (gradient projection, gap 1e-6) and T_max = factor·T*:

* ``all-on`` -- power of the min-delay routing with every router and link on (the baseline);
* ``milp`` -- :func:`topo_opt.solve.min_power.solve_min_power` (HiGHS, MIP gap 1e-4, time limit);
* ``earp`` -- :func:`topo_opt.algorithms.earp.solve_earp` (8 candidate paths per demand).

With ``--demand-delay-factor f`` both also get a per-demand end-to-end bound
D_max = f · max_k (least zero-load delay Σ_a (L̄/C_a + τ_a) of demand k), the smallest D_max
every demand can meet scaled by f (the MILP then chooses one candidate path per demand).

Every design goes through the shared checker (power and delay recomputed).  Results are written
to ``benchmarks/results/power_design.json`` and printed as a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

from external import collection, sndlib_converter  # noqa: E402
from topo_opt.algorithms.baselines import single_path_routing  # noqa: E402
from topo_opt.algorithms.earp import solve_earp  # noqa: E402
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp  # noqa: E402
from topo_opt.errors import TopoOptError  # noqa: E402
from topo_opt.evaluators.delay import zero_load_delay_s  # noqa: E402
from topo_opt.evaluators.power import network_power  # noqa: E402
from topo_opt.io.atomic import atomic_write_text  # noqa: E402
from topo_opt.io.power_profile import load_power_profile  # noqa: E402
from topo_opt.io.solution_json import json_clean  # noqa: E402
from topo_opt.evaluators.design_check import check_result  # noqa: E402
from topo_opt.solve.min_power import solve_min_power  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_INSTANCES = ("abilene", "polska", "nobel-us", "atlanta", "geant", "france", "janos-us",
                     "cost266", "germany50")


def run(name: str, factor: float, time_limit_s: float, profile_name: str,
        demand_delay_factor: float | None = None) -> dict:
    network = sndlib_converter()(collection("sndlib", f"{name}.txt"))
    profile = load_power_profile(HERE.parent / "models" / "power" / f"{profile_name}.toml")
    record: dict = {"instance": name, "nodes": network.n_nodes, "links": network.n_links,
                    "demands": network.n_demands}
    all_on = solve_min_delay_gp(network, gap=1e-6)
    t_max = factor * all_on.objective
    d_max = None
    if demand_delay_factor:
        zero_load = zero_load_delay_s(network)
        routing = single_path_routing(network, zero_load)
        d_max = demand_delay_factor * float((routing.incidence(network.n_arcs) @ zero_load).max())
    record.update(min_delay_s=all_on.objective, max_delay_s=t_max, max_demand_delay_s=d_max,
                  all_on_power_w=network_power(network, all_on.design, profile).total_w)
    tick = time.perf_counter()
    try:
        milp = solve_min_power(network, profile, max_delay_s=t_max, max_demand_delay_s=d_max, gap=1e-4,
                               time_limit_s=time_limit_s)
        record.update(milp_status=milp.status.value, milp_power_w=milp.objective,
                      milp_bound_w=milp.lower_bound, milp_gap=milp.gap, milp_rounds=milp.iterations,
                      milp_delay_s=milp.details["average_delay_s"],
                      milp_worst_demand_delay_s=milp.details["max_demand_delay_s"],
                      milp_incumbent_w=milp.details["milp_incumbent_w"],
                      milp_candidate_bound_w=milp.details["candidate_bound_w"],
                      milp_candidates_complete=milp.details["candidates_complete"],
                      milp_links_off=len(milp.details["links_off"]),
                      milp_nodes_off=len(milp.details["nodes_off"]),
                      milp_check=check_result(network, milp, power=profile, rtol=1e-6))
    except TopoOptError as exc:
        record.update(milp_status=f"error: {exc}")
    record["milp_time_s"] = time.perf_counter() - tick
    tick = time.perf_counter()
    try:
        earp = solve_earp(network, profile, max_delay_s=t_max, max_demand_delay_s=d_max)
        record.update(earp_power_w=earp.objective, earp_delay_s=earp.details["average_delay_s"],
                      earp_check=check_result(network, earp, power=profile, rtol=1e-6))
    except TopoOptError as exc:
        record.update(earp_status=f"error: {exc}")
    record["earp_time_s"] = time.perf_counter() - tick
    return record


def table(records: list[dict]) -> str:
    lines = ["| instance | nodes/links/demands | MILP time (s) | status | MIP gap | power all-on (W) | "
             "MILP power (W) | saved | links/nodes off | EARP power (W) | EARP vs MILP bound | EARP time (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        milp, bound, earp = r.get("milp_power_w"), r.get("milp_bound_w"), r.get("earp_power_w")
        lines.append(
            f"| {r['instance']} | {r['nodes']}/{r['links']}/{r['demands']} | {r['milp_time_s']:.1f} | "
            f"{r['milp_status'][:40]} | {r.get('milp_gap', float('nan')):.1e} | {r['all_on_power_w']:.0f} | "
            + (f"{milp:.0f} | {1 - milp / r['all_on_power_w']:.1%} | "
               f"{r['milp_links_off']}/{r['milp_nodes_off']} | " if milp else "– | – | – | ")
            + (f"{earp:.0f} | {earp / bound - 1:+.1%} | " if earp and bound and math.isfinite(bound)
               else "– | – | ")
            + f"{r['earp_time_s']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", nargs="+", default=list(DEFAULT_INSTANCES))
    parser.add_argument("--factor", type=float, default=1.5, help="T_max = factor x T* (default 1.5)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="MILP time limit (s)")
    parser.add_argument("--profile", default="core-router")
    parser.add_argument("--demand-delay-factor", type=float, default=None,
                        help="add D_max = factor x the largest least zero-load demand delay")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "power_design.json")
    args = parser.parse_args()
    records = []
    for name in args.instances:
        records.append(run(name, args.factor, args.time_limit, args.profile, args.demand_delay_factor))
        print(json.dumps(json_clean(records[-1])), flush=True)
        atomic_write_text(args.output, json.dumps(json_clean({
            "settings": vars(args) | {"output": str(args.output)}, "machine": platform.platform(),
            "records": records}), indent=1) + "\n")
    print(table(records))


if __name__ == "__main__":
    main()
