"""Benchmark ``topo-opt batch`` throughput (jobs per minute) with 1 and 2 local workers.

Usage (from the repository root)::

    python benchmarks/batch_throughput.py [--workers 1 2] [--time-limit 120] [--sndlib DIR]

The 26 SNDlib native networks of the ``sndlib`` collection (found as the tests find it:
``$TOPO_OPT_BENCHMARKS``, else ``../shared/benchmarks``; ``benchmarks/external.py``) are made solvable by the rule of
the bundled instances (``instances/convert_sndlib.py``: great-circle lengths; installed
capacities kept with demands scaled to <= 50 % min-hop utilisation, or capacities sized to
standard line rates at 50 %), written as native JSON to a temporary folder, and solved as one
batch with ``models/min-delay.toml`` (certified gap 1e-6) per worker count, each into a fresh
results folder.  Throughput = jobs / wall-clock time of :func:`run_batch` (worker processes'
start-up included; the forkserver that has imported the solvers is warmed up once, untimed).
Results go to ``benchmarks/results/batch_throughput.json`` and print as Markdown.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path

from external import collection, sndlib_converter
from topo_opt.batch.grid import expand_jobs
from topo_opt.batch.runner import run_batch
from topo_opt.batch.spec import BatchSpec, ModelEntry
from topo_opt.batch.table import read_results
from topo_opt.io.detect import write_instance

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "batch_throughput.json"


def prepare(sndlib: Path, folder: Path) -> tuple[list[str], dict[str, str]]:
    """Native JSON of every SNDlib file that the bundled rule makes solvable; the others' reasons."""
    convert = sndlib_converter()
    files, skipped = [], {}
    for path in sorted(sndlib.glob("*.txt")):
        try:
            network = convert(path)
        except Exception as exc:  # record why a network is left out, keep going
            skipped[path.stem] = f"{type(exc).__name__}: {exc}"
            continue
        out = folder / f"{path.stem}.json"
        write_instance(network, out)
        files.append(str(out))
    return files, skipped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--time-limit", type=float, default=120.0, help="per-job hard limit (s)")
    parser.add_argument("--sndlib", type=Path, default=None)
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        files, skipped = prepare(args.sndlib or collection("sndlib"), Path(tmp))
        card = ModelEntry(str(ROOT / "models/min-delay.toml"))
        jobs = expand_jobs(BatchSpec(instances=tuple(files), models=(card,)))
        # untimed warm-up: starts the forkserver (solver imports) that every timed run reuses
        run_batch(expand_jobs(BatchSpec(instances=(str(ROOT / "instances/six-node.json"),), models=(card,))),
                  Path(tmp) / "warm-up", workers=1)
        for workers in args.workers:
            out = Path(tmp) / f"out-{workers}"
            start = time.perf_counter()
            run_batch(jobs, out, workers=workers, time_limit_s=args.time_limit)
            wall = time.perf_counter() - start
            rows = read_results(out / "results.csv")
            runs.append({"workers": workers, "jobs": len(rows), "wall_s": wall,
                         "jobs_per_min": 60.0 * len(rows) / wall,
                         "sum_job_wall_s": sum(r["wall_time_s"] or 0.0 for r in rows),
                         "statuses": dict(Counter(r["status"] for r in rows))})
    doc = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
           "instances": len(files), "skipped": skipped, "time_limit_s": args.time_limit, "runs": runs}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=1) + "\n")
    base = runs[0]["jobs_per_min"]
    print("| workers | jobs | wall time (s) | jobs/min | speed-up | Σ job wall time (s) | statuses |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(run["statuses"].items()))
        print(f"| {run['workers']} | {run['jobs']} | {run['wall_s']:.1f} | {run['jobs_per_min']:.1f} | "
              f"{run['jobs_per_min'] / base:.2f} | {run['sum_job_wall_s']:.1f} | {statuses} |")
    if skipped:
        print(f"\nleft out: {', '.join(f'{k} ({v})' for k, v in skipped.items())}")


if __name__ == "__main__":
    main()
