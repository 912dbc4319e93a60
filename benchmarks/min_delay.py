"""Benchmark min-delay routing: topo-opt against cvxpy + Clarabel, Ipopt and flow deviation.

Usage (from the repository root, see ``benchmarks/README.md``)::

    python benchmarks/min_delay.py --set accuracy
    python benchmarks/min_delay.py --set speed --repeat 3
    python benchmarks/min_delay.py --set scale --timeout 1800
    python benchmarks/min_delay.py --set scale --methods pe --instances gabriel10000 --gap 1e-5
    python benchmarks/min_delay.py --set speed --instances planar30 grid1 --methods gp clarabel

Every (instance, method) run is a subprocess of this script (``--worker``) with a timeout, so a
slow or hung solver cannot stall the benchmark; each runs single-threaded, after an untimed
warm-up solve of a 3-node network (imports and first-call costs are not charged).  Results are
rewritten to ``benchmarks/results/min_delay_<set>.json`` after every run and printed as Markdown
tables.

All methods are compared on the average delay T (seconds) of the arc flows they return,
re-evaluated here with :class:`topo_opt.evaluators.delay.DelayObjective` (peers report
N = Σ F/(C − F) in packets; T = N/γ).  topo-opt's results also go through the shared solution
checker, peers' flows through a conservation/sign check.  Sets:

* ``accuracy`` -- T of every method, its relative difference to the reference (the lowest
  feasible T among converged runs, never below the best certified lower bound) and topo-opt's
  certified gap; topo-opt runs with ``--gap 1e-9`` so the reference is tight.  A peer at
  default settings more than 1e-6 away from the reference is flagged.
* ``speed`` -- wall time of every method at the target gap 1e-6, and peer time / topo-opt time
  where topo-opt is its fastest method that reached the gap (targets: ≥ 20 vs Clarabel, Ipopt).
* ``scale`` -- path equilibration against gradient projection on the largest instances: time,
  all-sources shortest-path passes, time ÷ Dijkstra floor, gap, peak memory (``ru_maxrss`` of
  the worker process, including the instance).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from external import benchmarks_root
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.io.atomic import atomic_write_text
from topo_opt.io.detect import read_instance
from topo_opt.model import Demand, Link, Network, Node, build_network
from topo_opt.model.result import SolveResult, Status, relative_gap
from topo_opt.evaluators.design_check import check_result

HERE = Path(__file__).resolve().parent
INSTANCES = HERE.parent / "instances"
RESULTS = HERE / "results"

TARGET_GAP = 1e-6          # what users ask for; peers at default settings must be this close
REFERENCE_GAP = 1e-9       # topo-opt's gap in the accuracy set
SCALE_GAP = 1e-5           # the scale target: certified gap on 1,000-2,500-node instances
RESIDUAL_TOL = 1e-9        # peer flows: imbalance + negative flow, relative to total demand
SPEED_TARGET = 20.0        # median peer/topo-opt time ratio wanted vs Clarabel and Ipopt
# one thread everywhere: the same budget for every method, and no fight with other jobs
SINGLE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                        "MKL_NUM_THREADS", "RAYON_NUM_THREADS")}


@dataclass(frozen=True)
class Method:
    """A benchmarked method: ``function`` of ``module`` called on a Network.

    ``ours`` marks topo-opt's methods (the speed baseline).  ``api`` is ``"solve_result"`` for
    ``f(network, *, gap, time_limit_s) -> SolveResult`` and ``"peer"`` for the functions of
    ``peers.py``; ``options`` are extra keyword arguments; ``at_defaults`` says whether the run
    uses the tool's default settings (only those are flagged in the accuracy table).
    """

    name: str
    ours: bool
    api: str
    module: str
    function: str
    options: dict[str, Any] = field(default_factory=dict)
    at_defaults: bool = True


METHODS = {m.name: m for m in (
    Method("pe", True, "solve_result", "topo_opt.algorithms.path_equilibration", "solve_min_delay_pe"),
    Method("gp", True, "solve_result", "topo_opt.algorithms.gradient_projection", "solve_min_delay_gp"),
    Method("cuts", True, "solve_result", "topo_opt.solve.outer_approximation", "solve_min_delay_cuts"),
    # plain flow deviation is a peer: asked for the target gap in every set
    Method("fd", False, "solve_result", "topo_opt.algorithms.flow_deviation", "solve_min_delay_fd",
           {"gap": TARGET_GAP}),
    Method("clarabel", False, "peer", "peers", "solve_clarabel"),
    Method("ipopt", False, "peer", "peers", "solve_ipopt"),
    Method("ipopt-tight", False, "peer", "peers", "solve_ipopt",
           {"tol": 1e-10, "bound_relax_factor": 0.0}, at_defaults=False),
)}

COMPARISON = ("planar30", "planar50", "planar80", "planar100", "planar150",
              *(f"grid{i}" for i in range(1, 9)), "abilene", "geant", "nobel-us")
SETS = {  # set -> (instances, methods, topo-opt gap)
    "accuracy": (COMPARISON, ("pe", "gp", "cuts", "fd", "clarabel", "ipopt", "ipopt-tight"), REFERENCE_GAP),
    "speed": (COMPARISON, ("pe", "gp", "cuts", "fd", "clarabel", "ipopt"), TARGET_GAP),
    "scale": (("planar1000", "planar2500", "grid12", "grid13", "grid14", "grid15"), ("pe", "gp"), SCALE_GAP),
}


# --------------------------------------------------------------------------- worker side
def warm_up_network() -> Network:
    """Three nodes, three directed links, one demand that can split: a solve that loads code."""
    ends = (("1", "2"), ("2", "3"), ("1", "3"))
    links = [Link(f"l{i}", u, v, capacity=10.0) for i, (u, v) in enumerate(ends)]
    return build_network(name="warm-up", nodes=[Node("1"), Node("2"), Node("3")], links=links,
                         demands=[Demand("d", "1", "3", rate=12.0)], rate_unit="packet/s",
                         link_model="directed")


def run_method(method: Method, network: Network, gap: float, time_limit_s: float) -> dict[str, Any]:
    """Run ``method`` once and describe its answer, re-evaluated on ``network``.

    A solve of :func:`warm_up_network` comes first, untimed, so that no method is charged for
    importing its solver (cvxpy alone takes over a second) or other first-call costs.
    """
    try:
        solve = getattr(importlib.import_module(method.module), method.function)
    except ModuleNotFoundError as exc:
        if exc.name != method.module:
            raise
        return {"status": "unavailable", "message": f"{method.module} is not installed yet"}
    options = {"gap": gap, **method.options} if method.api == "solve_result" else method.options
    solve(warm_up_network(), time_limit_s=time_limit_s, **options)
    # topo-opt imports scipy.sparse only for networks larger than the warm-up's (0.2 s)
    importlib.import_module("scipy.sparse.csgraph")
    delay = DelayObjective.for_network(network)
    start, cpu_start = time.perf_counter(), time.process_time()
    if method.api == "solve_result":
        result: SolveResult = solve(network, time_limit_s=time_limit_s, **options)
        wall = time.perf_counter() - start
        flow = None if result.design is None else result.design.arc_flow(network)
        violations = check_result(network, result)
        record = {"status": result.status.value, "converged": result.status is Status.OPTIMAL,
                  "shortest_path_passes": result.details.get("n_shortest_path_calls"),
                  "reported_objective_s": result.objective, "lower_bound_s": result.lower_bound,
                  "iterations": result.iterations, "solver_time_s": result.solve_time_s,
                  "feasible": not violations, "violations": violations, "message": result.message}
    else:
        peer = solve(network, time_limit_s=time_limit_s, **options)
        wall = time.perf_counter() - start
        flow = peer.arc_flow
        record = {"status": peer.status, "converged": peer.converged,
                  "reported_objective_s": peer.packets * delay.scale, "lower_bound_s": -math.inf,
                  "iterations": peer.iterations, "solver_time_s": peer.solver_time_s,
                  "compile_time_s": peer.compile_time_s,
                  "feasibility_residual": peer.feasibility_residual,
                  "feasible": bool(peer.feasibility_residual <= RESIDUAL_TOL), "label": peer.method}
    objective = math.nan if flow is None else delay.value(flow)
    load = network.queue_load(flow) if flow is not None else None
    record.update(
        objective_s=objective, time_s=wall, cpu_s=time.process_time() - cpu_start,
        certified_gap=relative_gap(objective, record["lower_bound_s"]),
        max_utilisation=math.nan if load is None else float((load / delay.queue_capacity).max()),
        peak_memory_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    record["feasible"] = record["feasible"] and math.isfinite(objective)
    record["dijkstra_pass_s"] = dijkstra_pass_s(network)
    return record


def dijkstra_pass_s(network: Network) -> float:
    """Wall time of one all-sources scipy Dijkstra with path extraction (the floor's unit)."""
    from topo_opt.algorithms.shortest_paths import ArcGraph, demand_shortest_paths, shortest_path_forest

    gradient = DelayObjective.for_network(network).arc_gradient(np.zeros(network.n_arcs))
    graph = ArcGraph.from_network(network)
    start = time.perf_counter()
    demand_shortest_paths(shortest_path_forest(graph, gradient, network.demand_source), network)
    return time.perf_counter() - start


def worker(method_name: str, path: Path, gap: float, time_limit_s: float, memory_limit_gb: float,
           out: Path) -> None:
    """The ``--worker`` entry point: one run, its record written as JSON to ``out``.

    The address space is capped at ``memory_limit_gb`` so that a peer whose model outgrows the
    machine fails alone (MemoryError or a crash) instead of starving everything else.
    """
    limit = int(memory_limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    network = read_instance(path)
    try:
        record = run_method(METHODS[method_name], network, gap, time_limit_s)
    except Exception as exc:  # a peer's failure is a result, not a crash of the benchmark
        record = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    record.update(nodes=network.n_nodes, arcs=network.n_arcs, commodities=network.n_demands)
    atomic_write_text(out, json.dumps(record, default=float))


# --------------------------------------------------------------------------- parent side
GENERATED = {  # name -> topo-opt convert arguments (README, *topo-opt convert*)
    "gabriel10000": ("gabriel:10000", "--gravity", "1e11", "--gravity-endpoints", "200", "--size-capacities", "0.5"),
    "gabriel10000k500": ("gabriel:10000", "--gravity", "1e11", "--gravity-endpoints", "500",
                         "--size-capacities", "0.5"),
}


def resolve_instance(name: str) -> Path | None:
    """A path as given, else a CommaLab file, else ``instances/<name>.json``, else a generated
    instance of ``GENERATED`` (written once by ``topo-opt convert`` to the temporary folder);
    None if absent."""
    commalab = benchmarks_root() / "commalab"
    for candidate in (Path(name), commalab / "planar" / name, commalab / "grid" / name,
                      INSTANCES / f"{name}.json"):
        if candidate.is_file():
            return candidate
    if name in GENERATED:
        path = Path(tempfile.gettempdir()) / "topo_opt_benchmarks" / f"{name}.json"
        if not path.is_file():
            path.parent.mkdir(exist_ok=True)
            subprocess.run([sys.executable, "-m", "topo_opt", "convert", *GENERATED[name], "--out", str(path)],
                           check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
        return path
    return None


def run_once(method: str, path: Path, gap: float, timeout_s: float,
             memory_limit_gb: float) -> dict[str, Any]:
    """One worker subprocess; killed after the method's time limit plus a grace period."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "record.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", method,
                   "--worker-instance", str(path), "--gap", repr(gap),
                   "--timeout", repr(timeout_s), "--memory-limit", repr(memory_limit_gb),
                   "--worker-out", str(out)]
        grace = max(30.0, 0.25 * timeout_s)  # reading the instance and building models
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s + grace,
                                  env={**os.environ, **SINGLE_THREAD})
        except subprocess.TimeoutExpired:
            return {"status": "killed", "message": f"no answer within {timeout_s + grace:g} s"}
        if not out.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return {"status": "crashed", "message": f"exit code {proc.returncode}: {' | '.join(tail)}"}
        return json.loads(out.read_text())


def run_plan(set_name: str, instances: list[str], methods: list[str], gap: float,
             repeat: int, timeout_s: float, memory_limit_gb: float, out: Path) -> dict[str, Any]:
    """Run every (instance, method) pair, ``repeat`` times; rewrite ``out`` after each pair.

    The record is the first run's, with ``time_s`` the median wall time of the runs; repeats
    stop at the first run that did not converge.
    """
    document = {"set": set_name, "gap": gap, "repeat": repeat, "timeout_s": timeout_s,
                "memory_limit_gb": memory_limit_gb, "environment": environment(),
                "skipped": [], "records": []}
    for name in instances:
        path = resolve_instance(name)
        if path is None:
            document["skipped"].append(f"{name}: instance file not found")
            atomic_write_text(out, json.dumps(document, indent=1, default=float) + "\n")
            continue
        for method in methods:
            runs = []
            for _ in range(repeat):
                runs.append(run_once(method, path, gap, timeout_s, memory_limit_gb))
                if not runs[-1].get("converged"):
                    break
            record = {"instance": Path(name).stem, "method": method, **runs[0]}
            if "time_s" in record:
                record["times_s"] = [run["time_s"] for run in runs if "time_s" in run]
                record["time_s"] = statistics.median(record["times_s"])
            document["records"].append(record)
            atomic_write_text(out, json.dumps(document, indent=1, default=float) + "\n")
            print(f"  {record['instance']:<12} {method:<12} {record['status'][:40]:<40} "
                  f"T={record.get('objective_s', math.nan):.12g} s  "
                  f"time={record.get('time_s', math.nan):.3g} s", file=sys.stderr, flush=True)
    return document


def environment() -> dict[str, Any]:
    """Machine and package versions, recorded with the results."""
    versions = {}
    for package in ("topo-opt", "numpy", "scipy", "highspy", "cvxpy", "clarabel", "cyipopt-wheels"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {"python": platform.python_version(), "machine": platform.platform(),
            "cpu_count": os.cpu_count(), "threads_per_method": 1, "packages": versions,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


# --------------------------------------------------------------------------- tables
def _sci(value: float | None, digits: int = 1, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:+.{digits}e}" if sign else f"{value:.{digits}e}"


def _by_instance(records: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["instance"], []).append(record)
    return groups


def _has_answer(record: dict) -> bool:
    return math.isfinite(record.get("objective_s", math.nan))


def reference(records: list[dict]) -> tuple[float, float]:
    """(best certified lower bound, reference T) of one instance's records.

    The reference is the lowest T among converged runs with feasible flows that is not below the
    best certified bound (flows below it are infeasible, whatever their residual says).
    """
    bound = max((r["lower_bound_s"] for r in records
                 if r.get("feasible") and math.isfinite(r.get("lower_bound_s", -math.inf))),
                default=-math.inf)
    candidates = [r["objective_s"] for r in records if r.get("converged") and r.get("feasible")
                  and _has_answer(r) and not _below(r["objective_s"], bound)]
    return bound, min(candidates, default=math.nan)


def _below(objective: float, bound: float) -> bool:
    """T below the certified bound by more than the bound's own precision (LP tolerances)."""
    return objective < bound - REFERENCE_GAP * abs(bound)


def accuracy_table(records: list[dict]) -> list[str]:
    """Markdown: T, relative difference to the reference, certified gap and flags per run.

    The certified gap is the method's own bound against its re-evaluated T (methods that
    return a :class:`SolveResult`; the peers of ``peers.py`` prove no bound).
    """
    lines = ["| instance | method | status | T (s) | rel. diff. | certified gap | time (s) | note |",
             "|---|---|---|---|---|---|---|---|"]
    flags = []
    for instance, group in _by_instance(records).items():
        bound, best = reference(group)
        for r in group:
            note = []
            diff = (r["objective_s"] - best) / best if _has_answer(r) and math.isfinite(best) else math.nan
            if _has_answer(r) and r["objective_s"] == best:
                note.append("reference")
            if _has_answer(r) and _below(r["objective_s"], bound):
                note.append(f"{(bound - r['objective_s']) / bound:.1e} below the certified bound: "
                            "infeasible flows")
            if not r.get("feasible", True) and _has_answer(r):
                note.append(f"flow residual {r['feasibility_residual']:.1e}" if "feasibility_residual" in r
                            else "; ".join(r.get("violations", ["flows fail the check"])))
            method = METHODS[r["method"]]
            if not method.ours and method.at_defaults and math.isfinite(diff) and abs(diff) > TARGET_GAP:
                note.append(f"off by more than {TARGET_GAP:g} at default settings")
                flags.append(f"{r['method']} on {instance}: {_sci(diff, sign=True)}")
            if not _has_answer(r):
                note.append(r.get("message", ""))
            lines.append(f"| {instance} | {r['method']} | {r['status'][:30]} | "
                         f"{r.get('objective_s', math.nan):.12g} | {_sci(diff, sign=True)} | "
                         f"{_sci(r.get('certified_gap'))} | {r.get('time_s', math.nan):.3g} | "
                         f"{'; '.join(note)} |")
    lines.append("")
    lines.append("Flagged: " + ("; ".join(flags) if flags else "none"))
    return lines


def _topo_opt_time(group: list[dict]) -> tuple[str | None, float]:
    """topo-opt's fastest method that reached its gap on one instance, and its time."""
    runs = [(r["time_s"], r["method"]) for r in group
            if METHODS[r["method"]].ours and r.get("converged") and r.get("feasible")]
    if not runs:
        return None, math.nan
    time_s, method = min(runs)
    return method, time_s


def speed_table(records: list[dict], timeout_s: float) -> list[str]:
    """Markdown: time per method, peer/topo-opt ratios and their medians.

    A peer that did not converge shows its status; one killed or past the time limit shows
    the time limit as a lower bound on its ratio (``>``).  The medians are taken over the
    instances the peer solved (converged within the time limit), the same rule for every
    peer: a floor or an inaccurate answer is not a measured ratio.
    """
    peers = [m for m in dict.fromkeys(r["method"] for r in records) if not METHODS[m].ours]
    ours = [m for m in dict.fromkeys(r["method"] for r in records) if METHODS[m].ours]
    header = ["instance", "topo-opt (s)", *(f"{m} (s)" for m in ours),
              *(cell for m in peers for cell in (f"{m} (s)", f"×{m}"))]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    ratios: dict[str, list[float]] = {m: [] for m in peers}
    for instance, group in _by_instance(records).items():
        fastest, base = _topo_opt_time(group)
        by_method = {r["method"]: r for r in group}
        cells = [instance, f"{base:.3g} ({fastest})" if fastest else "—"]
        cells += [_time_cell(by_method.get(m)) for m in ours]
        for m in peers:
            r = by_method.get(m)
            cells.append(_time_cell(r))
            peer_time, lower = _peer_time(r, timeout_s)
            if math.isfinite(peer_time) and math.isfinite(base):
                if not lower:
                    ratios[m].append(peer_time / base)
                cells.append(f"{'>' if lower else ''}{peer_time / base:.1f}")
            else:
                cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for m in peers:
        if ratios[m]:
            median = statistics.median(ratios[m])
            target = f" (target ≥ {SPEED_TARGET:g}: {'met' if median >= SPEED_TARGET else 'NOT met'})" \
                if m in ("clarabel", "ipopt") else ""
            lines.append(f"Median time ratio {m} / topo-opt: {median:.1f} over the {len(ratios[m])} "
                         f"instances {m} solved{target}")
    return lines


def _time_cell(record: dict | None) -> str:
    if record is None:
        return "—"
    if "time_s" not in record:
        return record["status"]
    return f"{record['time_s']:.3g}" + ("" if record.get("converged") else f" ({record['status'][:20]})")


def _peer_time(record: dict | None, timeout_s: float) -> tuple[float, bool]:
    """A peer's time for the ratio and whether it is only a lower bound."""
    if record is None:
        return math.nan, False
    if record["status"] == "killed" or (not record.get("converged") and record.get("time_s", 0) >= timeout_s):
        return timeout_s, True
    return (record["time_s"], False) if record.get("converged") else (math.nan, False)


def scale_table(records: list[dict]) -> list[str]:
    """Markdown: size, status, time, shortest-path passes, time ÷ Dijkstra floor, certified gap and
    peak memory per run.

    The floor is the number of all-sources shortest-path passes the method made times the wall
    time of one scipy all-sources Dijkstra pass with path extraction, measured in the same worker.
    """
    lines = ["| instance | method | nodes | arcs | commodities | status | time (s) | CPU (s) | passes "
             "| one pass (s) | time ÷ floor | gap | peak memory (MB) |", "|---" * 13 + "|"]
    for r in records:
        passes, one = r.get("shortest_path_passes"), r.get("dijkstra_pass_s")
        ratio = f"{r['time_s'] / (passes * one):.2f}" if passes and one and "time_s" in r else "—"
        lines.append(f"| {r['instance']} | {r['method']} | {r.get('nodes', '—')} | {r.get('arcs', '—')} "
                     f"| {r.get('commodities', '—')} | {r['status']} | {r.get('time_s', math.nan):.3g} "
                     f"| {r.get('cpu_s', math.nan):.3g} | {passes or '—'} | {one if one is None else f'{one:.3f}'} | {ratio} "
                     f"| {_sci(r.get('certified_gap'))} | {r.get('peak_memory_mb', math.nan):.0f} |")
    return lines


# --------------------------------------------------------------------------- CLI
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=(*SETS, "all"), default="accuracy",
                        help="which benchmark; 'all' runs the three in turn (default: accuracy)")
    parser.add_argument("--instances", nargs="+", metavar="NAME",
                        help="instance names (planar30, grid1, abilene, ...) or paths; default: the set's")
    parser.add_argument("--methods", nargs="+", choices=METHODS, help="default: the set's")
    parser.add_argument("--repeat", type=int, default=1, help="runs per pair; the median time is kept")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="time limit per run in seconds (the subprocess is killed a little later)")
    parser.add_argument("--gap", type=float,
                        help=f"topo-opt's relative gap (default: {REFERENCE_GAP:g} for accuracy, "
                             f"{TARGET_GAP:g} otherwise)")
    parser.add_argument("--memory-limit", type=float, default=8.0, metavar="GB",
                        help="address-space cap per run in GiB (default: 8)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder of the JSON results")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--worker-instance", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker, args.worker_instance, args.gap, args.timeout, args.memory_limit,
               args.worker_out)
        return
    args.output.mkdir(parents=True, exist_ok=True)
    for set_name in SETS if args.set == "all" else (args.set,):
        default_instances, default_methods, default_gap = SETS[set_name]
        gap = default_gap if args.gap is None else args.gap
        out = args.output / f"min_delay_{set_name}.json"
        print(f"{set_name}: writing {out}", file=sys.stderr)
        document = run_plan(set_name, list(args.instances or default_instances),
                            list(args.methods or default_methods), gap, args.repeat, args.timeout,
                            args.memory_limit, out)
        records = document["records"]
        table = {"accuracy": lambda: accuracy_table(records),
                 "speed": lambda: speed_table(records, args.timeout),
                 "scale": lambda: scale_table(records)}[set_name]()
        print(f"\n## min-delay {set_name} (topo-opt gap {gap:g}, repeat {args.repeat}, "
              f"timeout {args.timeout:g} s)\n")
        print("\n".join(table + [f"Skipped: {s}" for s in document["skipped"]]) + "\n")


if __name__ == "__main__":
    main()
