"""One Kelley cutting-plane driver for the outer-approximation solves (Kelley 1960).

A convex term g (here F/(C − F) per queue) is replaced in an LP/MILP *master* by the tangents
cut so far, so the master's optimum is a lower bound on the true optimum; the problem maps the
master's solution to a design (the *incumbent*, evaluated with the true g) and adds tangents
where the master's point is cut off.  The driver owns everything around those three steps:

* the master solve (an LP: interior point first, then dual simplex warm from the previous basis;
  a MILP: HiGHS's branch and bound, whose dual bound is the bound);
* the stop rule: relative gap (UB − LB)/UB ≤ gap, time limit, iteration limit
  (:class:`~topo_opt.algorithms.flow_deviation.CertifiedProgress`), and a stall (no cut violated
  beyond the tolerance);
* the history and the progress callback, one record per master solve;
* the master failing: infeasible (status ``infeasible``: the caller reports why), or stopped
  without a point (its status and HiGHS's text); a MILP stopped early with a point still
  gives its incumbent and bound, then the loop ends with its status;
* Ctrl-C: the loop ends with status ``interrupted``, the incumbent and the bound kept; in a
  MILP with an incumbent, HiGHS's point and bound count as a last round.
* a MILP stopped (Ctrl-C or limit) **without an incumbent of its own** still proves its dual
  bound: it enters the run's bound, and the caller's best design so far (its checked starting
  design, given to HiGHS as MIP start) is the answer, with that bound.

The problem supplies ``bound(outcome)`` (the master's bound in objective units), ``incumbent()``
(the true objective of the best design after this master solve) and ``cut()`` (adds the cuts at
the master's point and returns how many).  The min-delay masters (outer approximation,
composite goal, single-path, secure single-path) pick cut points by
:func:`topo_opt.solve.outer_approximation.new_cut_points` and add them by
:func:`topo_opt.formulations.delay_cuts.add_tangent_cuts`; the min-power MILP adds the
perspective and sojourn tangents of :mod:`topo_opt.formulations.switching`.

Reference: J. E. Kelley, "The cutting-plane method for solving convex programs", SIAM J. 8 (1960).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from topo_opt.algorithms.flow_deviation import CertifiedProgress
from topo_opt.errors import SolveInterrupted
from topo_opt.model.result import Status
from topo_opt.solve.highs import HighsOutcome, HighsSolver

INTERRUPTED_MESSAGE = "interrupted (Ctrl-C): the best design so far"


@dataclass
class KelleyRun:
    """How a cutting-plane loop ended: status and message, master solves, best bound, cuts added
    and simplex iterations; the history is ``progress.history``."""

    status: Status
    message: str
    iterations: int
    bound: float
    cuts: int
    simplex_iterations: int


def run_kelley(solver: HighsSolver, progress: CertifiedProgress, *,
               bound: Callable[[HighsOutcome], float], incumbent: Callable[[], float],
               cut: Callable[[], int], time_limit_s: float | None = None, milp: bool = False) -> KelleyRun:
    """Alternate master solves, incumbent updates and cuts until a stop rule holds (module doc).

    ``time_limit_s`` counts from ``progress.start_s``.  Never raises for Ctrl-C: the run ends
    with :attr:`Status.INTERRUPTED` (the caller returns or raises its best design).
    """
    deadline = math.inf if time_limit_s is None else progress.start_s + time_limit_s
    best_bound, iteration, cuts, simplex = -math.inf, 0, 0, 0
    try:
        while True:
            remaining = None if math.isinf(deadline) else max(deadline - time.perf_counter(), 0.0)
            try:
                outcome = solver.solve(time_limit_s=remaining,
                                       algorithm=None if milp else "ipm" if iteration == 0 else "simplex")
            except SolveInterrupted as stop:  # Ctrl-C in a MILP: this round with HiGHS's incumbent and bound
                if not milp:
                    raise
                outcome = stop.partial
            simplex += outcome.simplex_iterations
            if outcome.status is Status.INFEASIBLE:
                status, message = Status.INFEASIBLE, f"master infeasible: {outcome.message}"
                break
            if not (outcome.status is Status.OPTIMAL or milp and math.isfinite(outcome.objective)):
                if milp:  # stopped without an incumbent: the dual bound still holds (-inf before the root)
                    best_bound = max(best_bound, bound(outcome))
                kind = "MILP" if milp else "LP"
                status, message = outcome.status, (INTERRUPTED_MESSAGE if outcome.status is Status.INTERRUPTED
                                                   else f"{kind} stopped without a solution: {outcome.message}")
                break
            iteration += 1
            best_bound = max(best_bound, bound(outcome))
            stop = progress.update(iteration, incumbent(), best_bound)
            if stop is not None:
                status, message = stop, progress.message(stop)
                break
            if outcome.status is not Status.OPTIMAL:  # a MILP stopped early, with a point
                status, message = outcome.status, f"MILP stopped: {outcome.message}"
                break
            added = cut()
            if not added:  # the master is exact at its point up to the cut tolerance
                status = Status.ITERATION_LIMIT
                message = f"stalled at gap {progress.history[-1]['gap']:.3g}: no cut violated beyond the tolerance"
                break
            cuts += added
    except KeyboardInterrupt:
        status, message = Status.INTERRUPTED, INTERRUPTED_MESSAGE
    return KelleyRun(status, message, iteration, best_bound, cuts, simplex)
