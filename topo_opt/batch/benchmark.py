"""Run methods × instances × seeds and tabulate objective, bound, gap, time and evaluations.

Each method is a card of the problem registry in :data:`METHODS`; adding a method is adding
one entry.  Deterministic methods run once per
instance (``seed`` None), seeded ones (:data:`SEEDED`) once per seed.  The **best bound** of an
instance is the largest lower bound any method proved on it; every record carries its gap to
that bound, ``(objective − best bound)/objective``, so heuristics and exact methods compare on
one scale; a relaxation (:data:`RELAXATIONS`) is compared with its own bound instead.  Two
families are registered: minimum delay (s) and minimum power (W, the ``earp-min-power``
problem with its card's defaults: T_max = 1.5 × the all-on minimum delay); the best bound is
taken per objective unit, so families never mix.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable, Sequence

from topo_opt.errors import InvalidInputError, SolveInterrupted
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, relative_gap
from topo_opt.solve.cards import validate_card
from topo_opt.solve.problems import PROBLEMS

#: Method name -> (problem, card settings): each method is a card of the problem registry
#: (:data:`~topo_opt.solve.problems.PROBLEMS`), solved by :func:`topo_opt.solve.dispatch.solve`
#: with the card's defaults otherwise.  ``exact``: single-path MILP; ``ga``: genetic algorithm
#: (delay); ``splittable``: min-delay splittable routing (gradient projection); ``min-hop``:
#: baseline.  Power (W): ``milp-power``: min-power MILP (proven bound); ``earp``: EARP heuristic,
#: both at the card's T_max; ``ga-power``: GA on power with idle elements off and NO delay bound.
METHODS: dict[str, tuple[str, dict]] = {
    "exact": ("single-path-min-delay", {}),
    "ga": ("ga", {}),
    "splittable": ("min-delay", {"solver": {"method": "gradient-projection"}}),
    "min-hop": ("routing-baseline", {}),
    "milp-power": ("earp-min-power", {"solver": {"method": "milp"}}),
    "earp": ("earp-min-power", {"solver": {"method": "earp"}}),
    "ga-power": ("ga", {"objective": {"name": "power"}}),
}
SEEDED = frozenset({"ga", "ga-power"})
#: Methods solving a relaxation (splittable routing): their bound counts for the best bound,
#: their objective is not a single-path design, so their gap is to their own bound.
RELAXATIONS = frozenset({"splittable"})
#: Methods solving another problem than the family's exact method (the GA's power fitness has
#: no delay bound, so it may go below the MILP's bound): gap to their own bound only.
OTHER_PROBLEM = frozenset({"ga-power"})
#: Columns of the CSV output, in order.
COLUMNS = ("instance", "method", "seed", "status", "objective", "objective_unit", "lower_bound",
           "gap", "best_bound", "gap_to_best_bound", "time_s", "evaluations", "iterations",
           "lower_bound_source")


@dataclass
class BenchRun:
    """One (instance, method, seed) run: the flat record and the full result."""

    record: dict
    result: SolveResult


def parse_methods(text: str | Sequence[str]) -> list[str]:
    """Method names from ``"exact,ga"`` (or a list), checked against :data:`METHODS`."""
    names = [m.strip() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise InvalidInputError(f"unknown method {unknown[0] if unknown else '(none)'!r}: "
                                f"available methods are {', '.join(METHODS)}")
    return names


def run_benchmark(instances: Sequence[tuple[str, Network]], methods: Sequence[str], seeds: int,
                  time_limit_s: float, progress: Callable[[dict], None] | None = None) -> list[BenchRun]:
    """Run every method on every instance (seeded methods ``seeds`` times, seeds 0..seeds−1).

    Returns the runs in (instance, method, seed) order, with ``best_bound`` and
    ``gap_to_best_bound`` filled in per instance.  ``progress`` gets each record when done.

    Raises
    ------
    SolveInterrupted
        On Ctrl-C; ``partial`` is the list of finished runs (bounds filled in over them).
    """
    methods = parse_methods(methods)
    if seeds < 1:
        raise InvalidInputError(f"--seeds must be >= 1, got {seeds}")
    runs: list[BenchRun] = []
    for name, network in instances:
        group: list[BenchRun] = []
        try:
            _run_instance(name, network, methods, seeds, time_limit_s, progress, group)
        except KeyboardInterrupt:
            raise SolveInterrupted(runs + _with_best_bound(group)) from None
        runs.extend(_with_best_bound(group))
    return runs


def _run_instance(name: str, network: Network, methods: Sequence[str], seeds: int, time_limit_s: float,
              progress: Callable[[dict], None] | None, group: list[BenchRun]) -> None:
    """Append the run of every method (and seed) on one instance to ``group``, as each ends."""
    for method in methods:
        for seed in (range(seeds) if method in SEEDED else (None,)):
            result = run_method(method, network, seed, time_limit_s)
            record = {"instance": name, "method": method, "seed": seed,
                      "status": result.status.value, "objective": result.objective,
                      "objective_unit": result.objective_unit,
                      "lower_bound": result.lower_bound, "gap": result.gap,
                      "time_s": result.solve_time_s,
                      "evaluations": result.details.get("evaluations", result.iterations),
                      "iterations": result.iterations,
                      "lower_bound_source": result.details.get("lower_bound_source", "none"),
                      "history": [{"time_s": h["time_s"], "objective": h["objective"]}
                                  for h in result.history]}
            group.append(BenchRun(record, result))
            if progress is not None:
                progress(record)


def run_method(method: str, network: Network, seed: int | None, time_limit_s: float) -> SolveResult:
    """Solve ``network`` with the card of ``method`` (:data:`METHODS`), its time limit and seed set."""
    from topo_opt.solve.dispatch import solve

    problem, settings = METHODS[method]
    raw: dict = {"problem": problem, **{section: dict(keys) for section, keys in settings.items()}}
    schema = PROBLEMS[problem].schema
    if "time_limit_s" in schema.get("solver", {}):
        raw.setdefault("solver", {})["time_limit_s"] = time_limit_s
    if seed is not None:
        raw.setdefault("ga", {})["seed"] = seed
    return solve(network, validate_card(raw, f"bench {method}"))


def _with_best_bound(group: list[BenchRun]) -> list[BenchRun]:
    """``group`` (the runs on one instance) with ``best_bound`` and ``gap_to_best_bound`` set."""
    best: dict[str, float] = {}
    for r in group:
        if r.record["method"] not in OTHER_PROBLEM:
            unit = r.record["objective_unit"]
            best[unit] = max(best.get(unit, -math.inf), r.record["lower_bound"])
    for run in group:
        run.record["best_bound"] = best.get(run.record["objective_unit"], -math.inf)
        own = run.record["method"] in RELAXATIONS or run.record["method"] in OTHER_PROBLEM
        run.record["gap_to_best_bound"] = run.record["gap"] if own else \
            relative_gap(run.record["objective"], run.record["best_bound"])
    return group


def summarize(records: Sequence[dict]) -> list[dict]:
    """Per (instance, method): runs, mean and standard deviation of the objective over seeds,
    best objective, mean gap to the best bound and mean time (NaN objectives are skipped)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["instance"], r["method"]), []).append(r)
    out = []
    for (instance, method), group in groups.items():
        values = [r["objective"] for r in group if math.isfinite(r["objective"])]
        gaps = [r["gap_to_best_bound"] for r in group if math.isfinite(r["gap_to_best_bound"])]
        out.append({
            "instance": instance, "method": method, "runs": len(group),
            "objective_mean": statistics.fmean(values) if values else math.nan,
            "objective_std": statistics.stdev(values) if len(values) > 1 else 0.0 if values else math.nan,
            "objective_best": min(values, default=math.nan),
            "best_bound": group[0]["best_bound"],
            "gap_to_best_bound_mean": statistics.fmean(gaps) if gaps else math.nan,
            "time_s_mean": statistics.fmean(r["time_s"] for r in group),
            "evaluations_mean": statistics.fmean(r["evaluations"] for r in group)})
    return out
