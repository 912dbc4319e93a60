"""One result type for every method (exact, first-order, heuristic, baseline).

``gap = (objective − lower_bound) / max(|objective|, ε)`` is computed here, never by callers,
so that every method reports it the same way.  A method with no proven bound reports
``lower_bound = -inf`` and ``gap = inf``.

Status in two parts, as Pyomo (termination condition / solution status) and scipy do:
:attr:`SolveResult.termination` says why the method stopped, :attr:`SolveResult.solution` what
came back; ``status`` stays the one-word summary methods set (README "Result status" gives the
mapping).  A design that the card's checker rejects (``violations``) is no solution and never
a success.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from topo_opt.model.design import Design

GAP_EPS = 1e-12


class Status(str, Enum):
    """One-word summary of how the method ended (kept for existing users; the two parts are
    :class:`Termination` and :class:`Solution`)."""

    OPTIMAL = "optimal"            # certified: gap <= requested gap
    FEASIBLE = "feasible"          # a design, no certificate requested or possible (heuristics)
    TIME_LIMIT = "time_limit"      # best design so far, with its bound
    ITERATION_LIMIT = "iteration_limit"
    INFEASIBLE = "infeasible"      # no design exists; ``details`` say why
    INTERRUPTED = "interrupted"    # Ctrl-C: best design so far, with its bound


class Termination(str, Enum):
    """Why the method stopped (Pyomo's termination condition)."""

    CONVERGED = "converged"              # the requested gap, or the method's own stop rule, was reached
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"  # iterations, cut rounds, or a stall before the gap
    INTERRUPTED = "interrupted"          # Ctrl-C
    INFEASIBLE = "infeasible"            # proven (or over the candidates: ``message`` says which)
    ERROR = "error"                      # an exception ended the run (batch rows)


class Solution(str, Enum):
    """What came back (Pyomo's solution status)."""

    OPTIMAL = "optimal"                  # certified within the requested gap
    FEASIBLE_WITH_BOUND = "feasible_with_bound"
    FEASIBLE_WITHOUT_BOUND = "feasible_without_bound"
    NONE = "none"                        # no design, or one that violates its card


#: status -> termination (``status`` is the summary; README "Result status")
TERMINATION = {
    Status.OPTIMAL: Termination.CONVERGED, Status.FEASIBLE: Termination.CONVERGED,
    Status.TIME_LIMIT: Termination.TIME_LIMIT, Status.ITERATION_LIMIT: Termination.ITERATION_LIMIT,
    Status.INTERRUPTED: Termination.INTERRUPTED, Status.INFEASIBLE: Termination.INFEASIBLE,
}


def relative_gap(objective: float, lower_bound: float) -> float:
    """(objective − bound) / max(|objective|, ε); inf without a finite bound."""
    if not (math.isfinite(objective) and math.isfinite(lower_bound)):
        return math.inf
    return max(0.0, objective - lower_bound) / max(abs(objective), GAP_EPS)


@dataclass
class SolveResult:
    """What a solve returns.

    Attributes
    ----------
    status : Status
    method : str
        The method that actually ran (``auto`` is resolved).
    objective_name, objective_unit : str
        E.g. ``"average_delay_s"``, ``"s"``.
    objective, lower_bound : float
        Objective of ``design`` and a proven lower bound on the optimum (−inf if none).
    design : Design or None
    solve_time_s : float
    iterations : int
    message : str
    details : dict
        Method-specific evidence (infeasibility cut, bound source, seed, ...).
    history : list of dict
        Progress records (iteration, time_s, objective, lower_bound, gap).
    violations : list of str
        What the card's checker found wrong with ``design`` (``topo_opt.solve.checker.check_card``,
        run by ``topo_opt.solve.dispatch.solve``); empty when the design meets every constraint.
    """

    status: Status
    method: str
    objective_name: str
    objective_unit: str
    objective: float = math.nan
    lower_bound: float = -math.inf
    design: Design | None = None
    solve_time_s: float = 0.0
    iterations: int = 0
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.lower_bound)

    @property
    def termination(self) -> Termination:
        """Why the method stopped."""
        return TERMINATION[self.status]

    @property
    def solution(self) -> Solution:
        """What came back: certified optimal, feasible with or without a bound, or none."""
        if self.design is None or self.violations or self.status is Status.INFEASIBLE:
            return Solution.NONE
        if self.status is Status.OPTIMAL:
            return Solution.OPTIMAL
        return Solution.FEASIBLE_WITH_BOUND if math.isfinite(self.lower_bound) else Solution.FEASIBLE_WITHOUT_BOUND

    @property
    def success(self) -> bool:
        """The method converged and its design meets its card (optimal or feasible)."""
        return self.termination is Termination.CONVERGED and self.solution is not Solution.NONE
