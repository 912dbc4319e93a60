"""Near capacity: min-delay routing with demands at 97 %, 99 %, 99.9 % and 101 % of the maximum
concurrent flow, on real topologies (``topologies.py``).  Every instance must be answered:
optimal with its certified gap, or infeasible with the saturated cut.

For each topology the least max utilisation U* of its demands is found by the exact LP
(:func:`topo_opt.solve.lp_methods.solve_max_utilization`), the demands are scaled by
``fraction / U*`` (so the scaled instance has U* = fraction), and ``models/min-delay.toml``
(method ``auto``, gap 1e-6) is solved through the front door
(:func:`topo_opt.solve.dispatch.solve`) in a subprocess per instance, killed after the time
limit plus a margin.  Times are wall times of the solve (instance building and U* excluded).

Usage::

    python benchmarks/near_capacity.py [--topologies ...] [--fractions 0.97 0.99 0.999 1.01]
                                       [--time-limit 120] [--output benchmarks/results]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

TOPOLOGIES = (
    "sndlib:abilene", "sndlib:polska", "sndlib:nobel-us", "sndlib:atlanta", "sndlib:nobel-germany",
    "sndlib:geant", "sndlib:france", "sndlib:janos-us", "sndlib:cost266", "sndlib:germany50",
    "topozoo/Geant2010", "topozoo/Cesnet201006", "topozoo/Dfn", "topozoo/Uninett2011",
    "gabriel/25/0", "gabriel/50/0", "gabriel/100/0",
)
FRACTIONS = (0.97, 0.99, 0.999, 1.01)


def _run(name: str, fraction: float, u_star: float, gap: float, time_limit_s: float, queue) -> None:
    """Worker: build the scaled instance, solve it, report a record."""
    import numpy as np

    import topologies
    from topo_opt.errors import InfeasibleError, TopoOptError
    from topo_opt.model.synthesis import scale_demands
    from topo_opt.solve.cards import load_card
    from topo_opt.solve.dispatch import solve

    np.seterr(all="ignore")
    network = scale_demands(topologies.instance(name), fraction / u_star)
    card = load_card("min-delay", (f"solver.gap={gap}", f"solver.time_limit_s={time_limit_s}"))
    record = {"answer": None}
    start = time.perf_counter()
    try:
        result = solve(network, card)
        load = network.queue_load(result.design.arc_flow(network))
        record.update(answer=result.status.value, method=result.method, gap=result.gap,
                      iterations=result.iterations, max_utilization=float(np.max(load / network.queue_capacity())))
    except InfeasibleError as exc:
        details = exc.details or {}
        record.update(answer="infeasible", cut_links=len(details.get("saturated_links", [])),
                      cut_demands=len(details.get("demands", [])),
                      cut_max_utilization=details.get("max_utilization", details.get("max_utilization_lower_bound")),
                      message=str(exc)[:300])
    except TopoOptError as exc:
        record.update(answer="error", message=str(exc)[:300])
    record["time_s"] = time.perf_counter() - start
    queue.put(record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topologies", nargs="+", default=TOPOLOGIES)
    parser.add_argument("--fractions", nargs="+", type=float, default=FRACTIONS)
    parser.add_argument("--gap", type=float, default=1e-6)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--output", type=Path, default=HERE / "results")
    args = parser.parse_args()

    import topologies
    from topo_opt.solve.lp_methods import solve_max_utilization

    args.output.mkdir(parents=True, exist_ok=True)
    out = args.output / "near_capacity.json"
    records = []
    context = mp.get_context("spawn")
    for name in args.topologies:
        network = topologies.instance(name)
        start = time.perf_counter()
        u_star = solve_max_utilization(network).lower_bound
        lp_time = time.perf_counter() - start
        for fraction in args.fractions:
            queue = context.Queue()
            worker = context.Process(target=_run, args=(name, fraction, u_star, args.gap, args.time_limit, queue))
            worker.start()
            worker.join(args.time_limit * 1.25 + 30)
            if worker.is_alive():
                worker.kill()
                worker.join()
                record = {"answer": "killed", "time_s": args.time_limit * 1.25 + 30}
            else:
                record = queue.get() if not queue.empty() else {"answer": f"crashed (exit {worker.exitcode})"}
            record.update(topology=name, nodes=network.n_nodes, links=network.n_links,
                          demands=network.n_demands, fraction=fraction, u_star_lp_time_s=lp_time)
            records.append(record)
            print(json.dumps(record), file=sys.stderr, flush=True)
            out.write_text(json.dumps({"settings": vars(args) | {"output": args.output.name},
                                       "machine": platform.platform(), "records": records}, indent=1))
    print("| topology | nodes | links | demands | fraction | answer | method | gap | max util | time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        gap = f"{r['gap']:.1e}" if r.get("gap") is not None else "—"
        util = f"{r['max_utilization']:.5f}" if r.get("max_utilization") is not None else \
            (f"cut {r['cut_links']} links / {r['cut_demands']} demands" if r["answer"] == "infeasible" else "—")
        print(f"| {r['topology']} | {r['nodes']} | {r['links']} | {r['demands']} | {r['fraction']} | "
              f"{r['answer']} | {r.get('method', '—')} | {gap} | {util} | {r['time_s']:.2f} |")


if __name__ == "__main__":
    main()
