"""Benchmark the measurement pipeline on synthetic ground truth (issue 16).

Usage (from the repository root)::

    python benchmarks/measure.py [--set tm|em|all] [--seeds 3] [--trains 1000] [--iterations 10]

``--set tm``: traffic-matrix estimation error on synthetic abilene and geant days
(:func:`topo_opt.measure.synthetic.synthetic_counters`: the bundled demands × a daily profile ×
10 % noise, min-hop routing, 32-bit counters every 5 min ± 15 s with wraps, two resets and three
missed polls), ingested by the counters → rates pipeline; the day-mean rates are explained by
tomogravity (λ = 0.01), gravity and least squares, with and without the access (ingress/egress)
counters.  Error: ‖x̂ − x‖/‖x‖ against the true day-mean demands; residual ‖y − A x̂‖/‖y‖.

``--set em``: EM time per iteration on binary probe trees (M/M/1-like link delays, the delay
range cut into ``bins`` bins) against the number of receivers (32 bins) and against the number
of bins (16 receivers); one iteration is O(links × trains × bins²), so the time should grow
about linearly with the receivers and quadratically with the bins.

Single-threaded (``OMP/OPENBLAS/MKL_NUM_THREADS=1``).  Results: ``benchmarks/results/measure.json``
and Markdown tables on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

from topo_opt.io.atomic import atomic_write_text  # noqa: E402
from topo_opt.io.detect import read_instance  # noqa: E402
from topo_opt.io.solution_json import json_clean  # noqa: E402
from topo_opt.measure import counters, rates, synthetic, tree_tomography  # noqa: E402
from topo_opt.measure import routing_matrix as rm  # noqa: E402
from topo_opt.measure import traffic_matrix as tm  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def tm_benchmark(seeds: int) -> list[dict]:
    rows = []
    for name in ("abilene", "geant"):
        network = read_instance(ROOT / "instances" / f"{name}.json")
        routing = rm.routing_for(network, "min-hop")
        for seed in range(seeds):
            syn = synthetic.synthetic_counters(network, seed=seed)
            series = counters.parse_counters(syn.csv)
            clean = [counters.clean_series(series[k]) for k in sorted(series)]
            records = rates.summarize(rates.bin_all(clean, 300.0), clean)
            keys_all = [(r["link"], r["direction"]) for r in records]
            y_all = np.array([r["mean"] for r in records])
            matrix_all = rm.measurement_matrix(network, routing, keys_all)
            for counters_used in ("links+access", "links"):
                keep = [i for i, k in enumerate(keys_all)
                        if counters_used == "links+access" or k[1] in ("forward", "reverse")]
                keys, y, matrix = [keys_all[i] for i in keep], y_all[keep], matrix_all[keep]
                for method in tm.METHODS:
                    start = time.perf_counter()
                    result = tm.estimate(network, keys, y, matrix, method)
                    rows.append({"instance": name, "seed": seed, "counters": counters_used, "method": method,
                                 "interfaces": len(keys), "demands": network.n_demands, "rank": result.rank,
                                 "error": tm.relative_error(result.x, syn.demand_mean),
                                 "residual": result.relative_residual,
                                 "time_s": time.perf_counter() - start})
    return rows


def em_time(receivers: int, bins: int, trains: int, iterations: int) -> dict:
    tree = synthetic.binary_tree(receivers)
    rng = np.random.default_rng(receivers * 1000 + bins)
    pmf = np.array([synthetic.mm1_wait_pmf(rho, 4.0, 1.0, bins) for rho in rng.uniform(0.1, 0.6, len(tree.links))])
    delays = synthetic.sample_tree_delays(tree, pmf, 1.0, trains, seed=1)
    y = np.rint(delays * bins / delays.max()).astype(np.int64)  # `bins` bins over the delay range
    size = bins + 1
    start_pmf = np.full((len(tree.links), size), 1.0 / size)
    tree_tomography.em_step(tree, y, start_pmf)  # warm-up
    start = time.perf_counter()
    for _ in range(iterations):
        start_pmf, _ = tree_tomography.em_step(tree, y, start_pmf)
    per_iteration = (time.perf_counter() - start) / iterations
    return {"receivers": receivers, "links": len(tree.links), "bins": size, "trains": trains,
            "time_per_iteration_s": per_iteration,
            "time_per_link_bin2_train_ns": per_iteration / (len(tree.links) * size ** 2 * trains) * 1e9}


def em_benchmark(trains: int, iterations: int) -> dict:
    by_receivers = [em_time(r, 32, trains, iterations) for r in (4, 8, 16, 32, 64, 128)]
    by_bins = [em_time(16, b, trains, iterations) for b in (16, 32, 64, 128)]
    return {"by_receivers": by_receivers, "by_bins": by_bins}


def print_tm(rows: list[dict]) -> None:
    print("| instance | counters | method | interfaces | rank | demands | error ‖x̂−x‖/‖x‖ (mean ± std) "
          "| residual ‖y−Ax̂‖/‖y‖ | time (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["instance"], r["counters"], r["method"]), []).append(r)
    for (instance, used, method), group in groups.items():
        err = np.array([g["error"] for g in group])
        print(f"| {instance} | {used} | {method} | {group[0]['interfaces']} | {group[0]['rank']} | "
              f"{group[0]['demands']} | {err.mean():.3f} ± {err.std():.3f} | "
              f"{np.mean([g['residual'] for g in group]):.2e} | {np.median([g['time_s'] for g in group]):.3f} |")


def print_em(result: dict) -> None:
    for key, label in (("by_receivers", "receivers (32 bins)"), ("by_bins", "bins (16 receivers)")):
        rows = result[key]
        base = rows[0]
        print(f"\n| {label} | links | bins | time / iteration (s) | ratio to first | "
              f"ns per link·bin²·train |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['receivers']} | {r['links']} | {r['bins']} | {r['time_per_iteration_s']:.4f} | "
                  f"{r['time_per_iteration_s'] / base['time_per_iteration_s']:.2f} | "
                  f"{r['time_per_link_bin2_train_ns']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("tm", "em", "all"), default="all")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trains", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "measure.json")
    args = parser.parse_args()
    out: dict = {"seeds": args.seeds, "trains": args.trains, "iterations": args.iterations}
    if args.set in ("tm", "all"):
        out["tm"] = tm_benchmark(args.seeds)
        print_tm(out["tm"])
    if args.set in ("em", "all"):
        out["em"] = em_benchmark(args.trains, args.iterations)
        print_em(out["em"])
    atomic_write_text(args.output, json.dumps(json_clean(out), indent=1) + "\n")


if __name__ == "__main__":
    main()
