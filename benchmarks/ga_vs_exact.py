"""Benchmark the GA against the exact single-path MILP (and the splittable bound) on SNDlib.

Usage (from the repository root)::

    python benchmarks/ga_vs_exact.py [--instances polska nobel-germany ...] [--seeds 3]
                                     [--time-limit 30] [--plot benchmarks/results/ga_vs_exact.png]

SNDlib native files come from the ``sndlib`` collection (``benchmarks/external.py``) and are made solvable by the rule
of the bundled instances (``instances/convert_sndlib.py``: installed capacities with demands
scaled to ≤ 50 % min-hop utilisation, or capacities sized to standard line rates).  Every method
runs single-threaded in this process through :func:`topo_opt.batch.benchmark.run_benchmark`;
every result goes through the shared solution checker.  Targets (issue 6): the GA within 2 % of
the exact single-path optimum, or within 5 % of the splittable lower bound where the MILP is
out of reach, within 30 s, on networks up to 50 nodes.  Results:
``benchmarks/results/ga_vs_exact.json`` and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from external import collection, sndlib_converter  # noqa: E402
from topo_opt.report.bench_plot import plot_convergence  # noqa: E402
from topo_opt.io.atomic import atomic_write_text  # noqa: E402
from topo_opt.io.solution_json import json_clean  # noqa: E402
from topo_opt.batch.benchmark import run_benchmark, summarize  # noqa: E402
from topo_opt.evaluators.design_check import check_result  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT = ("polska", "nobel-germany", "nobel-eu", "cost266", "germany50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="+", default=list(DEFAULT))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--plot", default=str(HERE / "results" / "ga_vs_exact.png"))
    args = parser.parse_args()
    convert = sndlib_converter()
    networks = [(name, convert(collection("sndlib", f"{name}.txt"))) for name in args.instances]
    runs = run_benchmark(networks, ["exact", "ga", "splittable"], args.seeds, args.time_limit,
                         progress=lambda r: print(f"  {r['instance']} {r['method']} {r['seed']}: "
                                                  f"{r['objective']:.6g} in {r['time_s']:.1f} s", flush=True))
    by_name = dict(networks)
    for run in runs:
        if run.result.design is None:  # e.g. the MILP stopped at the time limit before a solution
            continue
        problems = check_result(by_name[run.record["instance"]], run.result)
        if problems:
            raise AssertionError(f"{run.record['instance']} {run.record['method']}: {problems}")
    records = [r.record for r in runs]
    summary = summarize(records)
    atomic_write_text(HERE / "results" / "ga_vs_exact.json", json.dumps(json_clean(
        {"settings": vars(args), "sizes": {n: [net.n_nodes, net.n_links, net.n_demands] for n, net in networks},
         "summary": summary, "runs": records}), indent=1) + "\n")
    plot_convergence([r for r in records if r["instance"] in args.instances[-2:]], args.plot)
    print("| instance | nodes/links/demands | exact T (ms) | exact status, bound source | splittable LB (ms) "
          "| GA mean ± std (ms) | GA vs exact | GA vs LB | GA time (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, net in networks:
        rows = {s["method"]: s for s in summary if s["instance"] == name}
        exact = next(r for r in records if r["instance"] == name and r["method"] == "exact")
        ga = rows["ga"]
        lb = rows["ga"]["best_bound"]
        vs_exact = ga["objective_mean"] / exact["objective"] - 1 if exact["objective"] is not None \
            and math.isfinite(exact["objective"]) else math.nan
        print(f"| {name} | {net.n_nodes}/{net.n_links}/{net.n_demands} | {1e3 * exact['objective']:.4f} "
              f"| {exact['status']}, {exact['lower_bound_source']} | {1e3 * lb:.4f} "
              f"| {1e3 * ga['objective_mean']:.4f} ± {1e3 * ga['objective_std']:.1e} | {100 * vs_exact:+.3f} % "
              f"| {100 * ga['gap_to_best_bound_mean']:.3f} % | {ga['time_s_mean']:.1f} |")


if __name__ == "__main__":
    main()
