"""Greedy module removal: a good modular design from a feasible one (starting designs for the MILP).

Each link has an increasing list of capacity levels (costs increasing with them,
:class:`~topo_opt.model.costs.CapacityLevels`).  From a design that meets the delay bound, the
descent repeatedly tries the step that saves most — one link down to its next smaller level —
and keeps it when the design still meets the bound (``meets``, in practice: the routed
Kleinrock delay of the capacities, min-delay routing, is ≤ T_max).  A link whose step failed is
never tried again: the least delay over all routings only grows when capacities shrink, so the
same step from any later (smaller) design fails too.  Hence at most (links + steps taken)
checks; it stops when no single step down keeps the design feasible (a local optimum for
one-level moves), after ``max_checks`` checks (a count: the result does not depend on machine
load), or at the deadline (it does).

This is the classic drop heuristic of network design (e.g. Gavish and Altinkemer 1990, *Backbone
network design tools with economic tradeoffs*, ORSA J. Comput. 2); its result is only an
incumbent, never a bound.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np


def greedy_level_descent(level_lists: list[np.ndarray], cost: np.ndarray, start: np.ndarray,
                         meets: Callable[[np.ndarray], bool], deadline: float = np.inf,
                         max_checks: int | None = None) -> np.ndarray:
    """Positions in ``level_lists`` (one per link) after greedy one-level steps down.

    Parameters
    ----------
    level_lists : list of ndarray of int
        Per link, its level indices in increasing capacity (and cost).
    cost : ndarray
        Cost of every level index.
    start : ndarray of int
        Position of the chosen level in each link's list; ``meets(start)`` must hold.
    meets : callable
        ``meets(positions) -> bool``: the design of these positions meets the delay bound.
    deadline : float
        ``time.perf_counter()`` value after which no further step is tried.
    max_checks : int, optional
        Calls of ``meets`` after which no further step is tried (default: no limit).

    Returns
    -------
    ndarray of int
        Positions of a design that meets the bound, each cost ≤ ``start``'s.
    """
    position = np.asarray(start, dtype=np.int64).copy()
    blocked = np.zeros(len(level_lists), dtype=bool)
    checks = 0
    while time.perf_counter() < deadline and (max_checks is None or checks < max_checks):
        saving = np.full(len(level_lists), -np.inf)
        for l, levels in enumerate(level_lists):
            if position[l] > 0 and not blocked[l]:
                saving[l] = cost[levels[position[l]]] - cost[levels[position[l] - 1]]
        l = int(np.argmax(saving))
        if not np.isfinite(saving[l]):
            break
        trial = position.copy()
        trial[l] -= 1
        checks += 1
        if meets(trial):
            position = trial
        else:
            blocked[l] = True
    return position
