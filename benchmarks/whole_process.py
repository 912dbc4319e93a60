"""What a user waits for: whole-process times of min-delay routing, imports included on both sides.

Each run is a fresh interpreter (``subprocess``), timed from spawn to exit:

* ``topo-opt``: ``python -m topo_opt solve FILE --model min-delay --gap 1e-6 --quiet --out SOL``
  (the console script ``topo-opt`` runs the same ``main``);
* ``clarabel``: ``python benchmarks/whole_process.py --peer clarabel FILE`` -- reads the instance,
  builds the source-aggregated arc formulation in cvxpy and solves it with Clarabel
  (:func:`peers.solve_clarabel`);
* ``ipopt``: the same with Ipopt through cyipopt (:func:`peers.solve_ipopt`).

Instances (the speed set): real 12–100-node networks of ``topologies.py``; with ``--set
large`` CommaLab planar graphs of 100–1000 nodes (``commalab:planar500``); with ``--set
solver-speed`` the 16 instances of the in-process solver comparison (``min_delay.py --set
speed``: CommaLab planar30–150 and grid1–8, bundled abilene, geant, nobel-us); written as native
JSON first so that every process reads the same file.  One thread per process
(``OMP_NUM_THREADS`` etc. = 1).  Reported per instance: median wall time over ``--repeat`` runs,
median CPU time (user + system of the child), the peer / topo-opt ratio of the wall times, and
the delay each side found (relative difference to topo-opt's certified objective).  A process
still running at ``--timeout`` is killed: its time is at least the limit, so its ratio is a lower bound
(``>``), and a median over such floors is a lower bound on the median (the median is monotone).
``--cpu-limit`` kills at that much CPU time instead (RLIMIT_CPU), the fair limit when other jobs
share the cores: the CPU ratio of a killed peer is then a floor, and its wall ratio too.
One untimed topo-opt run on the first instance comes first, so numba's compiled kernels are in
their on-disk cache, as on any user's second run.

Usage::

    python benchmarks/whole_process.py [--set speed|large|solver-speed] [--instances ...] [--repeat 5]
        [--methods topo-opt clarabel ipopt] [--timeout S]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

SETS = {"speed": ("sndlib:polska", "sndlib:germany50", "topozoo/Geant2010", "topozoo/Uninett2011",
                   "gabriel/100/0"),
        "large": ("commalab:planar100", "commalab:planar150", "commalab:planar300", "commalab:planar500",
                  "commalab:planar1000"),
        # the 16 instances of BENCHMARKS.md's "Speed (gap 1e-6, ...)" table (benchmarks/min_delay.py)
        "solver-speed": (*(f"commalab:planar{n}" for n in (30, 50, 80, 100, 150)),
                         *(f"commalab:grid{i}" for i in range(1, 9)),
                         "bundled:abilene", "bundled:geant", "bundled:nobel-us")}
METHODS = ("topo-opt", "clarabel", "ipopt")
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "RAYON_NUM_THREADS", "NUMBA_NUM_THREADS")}


def peer(method: str, path: str) -> None:
    """The peer's process: read the instance, solve, print the average delay T (s) as JSON."""
    import peers
    from topo_opt.evaluators.delay import DelayObjective
    from topo_opt.io.detect import read_instance

    network = read_instance(path)
    result = (peers.solve_clarabel if method == "clarabel" else peers.solve_ipopt)(network)
    delay = DelayObjective.for_network(network).value(result.arc_flow)
    print(json.dumps({"status": result.status, "converged": result.converged, "objective": delay}))


def timed(command: list[str], env: dict[str, str], timeout_s: float,
          cpu_limit_s: float | None = None) -> tuple[float, float, str, int | None]:
    """Wall and CPU (user + system) seconds of one process, its stdout and exit code (None when
    it was killed at ``timeout_s`` of wall time or at ``cpu_limit_s`` of CPU time, RLIMIT_CPU)."""
    def limit_cpu() -> None:
        if cpu_limit_s is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(cpu_limit_s), math.ceil(cpu_limit_s) + 5))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s,
                              preexec_fn=limit_cpu)
        stdout, code = proc.stdout, proc.returncode
        if code in (-signal.SIGXCPU, -signal.SIGKILL) and cpu_limit_s is not None:
            code = None
    except subprocess.TimeoutExpired:
        stdout, code = "", None
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, stdout, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", choices=("clarabel", "ipopt"), help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--set", choices=SETS, default="speed")
    parser.add_argument("--instances", nargs="+")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0, help="wall seconds per process")
    parser.add_argument("--cpu-limit", type=float, default=None,
                        help="CPU seconds per process (RLIMIT_CPU): a fair limit on a loaded machine")
    parser.add_argument("--output", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if args.peer:
        peer(args.peer, args.file)
        return

    import topologies
    from topo_opt.io.detect import write_instance

    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    folder = Path(tempfile.mkdtemp(prefix="whole_process_"))
    args.output.mkdir(parents=True, exist_ok=True)
    records = []
    baseline = [sys.executable, "-c", "pass"]
    floor = statistics.median(timed(baseline, env, 60)[0] for _ in range(args.repeat))
    instances = args.instances or SETS[args.set]
    for name in instances:
        network = topologies.instance(name)
        path = folder / f"{network.name}.json"
        write_instance(network, str(path), format="json")
        solution = folder / f"{network.name}.solution.json"
        if name == instances[0]:  # untimed: numba's kernels into their cache
            timed([sys.executable, "-m", "topo_opt", "solve", str(path), "--model", "min-delay", "--quiet",
                   "--method", "path-equilibration"], env, args.timeout)
        for method in args.methods:
            command = ([sys.executable, "-m", "topo_opt", "solve", str(path), "--model", "min-delay",
                        "--gap", "1e-6", "--quiet", "--out", str(solution)] if method == "topo-opt" else
                       [sys.executable, str(Path(__file__).resolve()), "--peer", method, str(path)])
            walls, cpus, objective, status = [], [], None, ""
            for _ in range(args.repeat):
                wall, cpu, stdout, code = timed(command, env, args.timeout, args.cpu_limit)
                walls.append(wall)
                cpus.append(cpu)
                if code is None:
                    objective, status = None, "killed at the " + (
                        f"{args.timeout:g} s wall limit" if wall >= args.timeout else f"{args.cpu_limit:g} s CPU limit")
                    break
                if method == "topo-opt":
                    doc = json.loads(solution.read_text()) if code == 0 else {}
                    objective, status = doc.get("objective"), doc.get("status", f"exit {code}")
                else:
                    answer = json.loads(stdout.strip().splitlines()[-1]) if code == 0 else {}
                    objective, status = answer.get("objective"), answer.get("status", f"exit {code}")
            record = {"instance": name, "nodes": network.n_nodes, "demands": network.n_demands,
                      "method": method, "status": status, "objective": objective,
                      "wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "walls": walls,
                      "killed": status.startswith("killed")}
            records.append(record)
            print(json.dumps(record), file=sys.stderr, flush=True)
            (args.output / f"whole_process{'' if args.set == 'speed' else '_' + args.set}.json").write_text(json.dumps(
                {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                 "python_pass_wall_s": floor, "machine": platform.platform(), "records": records}, indent=1))
    print(f"`python -c pass` alone: {floor:.3f} s (median wall)\n")
    print("| instance | nodes | method | status | T (s) | rel. diff. | wall (s) | CPU (s) | ratio peer/topo-opt (wall, CPU) |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios: dict[str, list[tuple[float, float, bool]]] = {}
    for r in records:
        ours = next(x for x in records if x["instance"] == r["instance"] and x["method"] == "topo-opt")
        ratio, cpu_ratio = r["wall_s"] / ours["wall_s"], r["cpu_s"] / ours["cpu_s"]
        floor_mark = ">" if r.get("killed") else ""
        if r["method"] != "topo-opt":
            ratios.setdefault(r["method"], []).append((ratio, cpu_ratio, r.get("killed", False)))
        diff = (r["objective"] - ours["objective"]) / ours["objective"] \
            if r["objective"] is not None and ours["objective"] else float("nan")
        print(f"| {r['instance']} | {r['nodes']} | {r['method']} | {r['status']} | "
              f"{r['objective'] if r['objective'] is None else format(r['objective'], '.9g')} | {diff:+.1e} | "
              f"{r['wall_s']:.3f} | {r['cpu_s']:.3f} | {'—' if r['method'] == 'topo-opt' else f'{floor_mark}{ratio:.1f}×, {floor_mark}{cpu_ratio:.1f}×'} |")
    for method, values in ratios.items():
        at_least = "≥ " if any(v[2] for v in values) else ""  # some ratios are floors
        print(f"\nmedian ratio {method} / topo-opt over {len(values)} instances: wall "
              f"{at_least}{statistics.median(v[0] for v in values):.1f}×, CPU "
              f"{at_least}{statistics.median(v[1] for v in values):.1f}×")


if __name__ == "__main__":
    main()
