"""One result type for every method (exact, first-order, heuristic, baseline).

``gap = (objective − lower_bound) / max(|objective|, ε)`` is computed here, never by callers,
so that every method reports it the same way.  A method with no proven bound reports
``lower_bound = -inf`` and ``gap = inf``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from topo_opt.model.design import Design

GAP_EPS = 1e-12


class Status(str, Enum):
    """Why the method stopped and what came back."""

    OPTIMAL = "optimal"            # certified: gap <= requested gap
    FEASIBLE = "feasible"          # a design, no certificate requested or possible (heuristics)
    TIME_LIMIT = "time_limit"      # best design so far, with its bound
    ITERATION_LIMIT = "iteration_limit"
    INFEASIBLE = "infeasible"      # no design exists; ``details`` say why
    INTERRUPTED = "interrupted"    # Ctrl-C: best design so far, with its bound


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

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.lower_bound)

    @property
    def success(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)
