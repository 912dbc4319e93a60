"""Greedy module removal: a good modular design from a feasible one (starting designs for the MILP).

Each link has an increasing list of capacity levels (costs increasing with them,
:class:`~topo_opt.model.costs.CapacityLevels`).  From a design that meets the delay bound, the
descent repeatedly tries the step that saves most — one link down to its next smaller level —
and keeps it when the design still meets the bound (``meets``, in practice: the routed
Kleinrock delay of the capacities, min-delay routing, is ≤ T_max).  A link whose step failed is
never tried again: the least delay over all routings only grows when capacities shrink, so the
same step from any later (smaller) design fails too.  Hence at most (links + steps taken)
checks; it stops when no single step down keeps the design feasible (a local optimum for
one-level moves), after ``max_checks`` checks, or at the ``deadline``.

The check budget (:func:`check_budget`) is a *count* derived from the solve's time limit: while
the deadline is not reached, the same input and time limit give the same design whatever the
machine's load, and the descent still shrinks with the limit (a 30 s what-if scenario runs a
quarter of the checks of a 120 s design).  The deadline is the solve's time limit itself: where
a check costs seconds (3.5 s on a 51-node Topology Zoo network, most of it finding a feasible
routing after the step) the count alone would overrun it; a descent cut there keeps the steps
taken so far.

This is the classic drop heuristic of network design (e.g. Gavish and Altinkemer 1990, *Backbone
network design tools with economic tradeoffs*, ORSA J. Comput. 2); its result is only an
incumbent, never a bound.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

#: At most this many checks per link ...
CHECKS_PER_LIST = 8
#: ... and this many per second of the solve's time limit (a routing check to gap 1e-4 costs
#: 0.01–0.07 s CPU on the 12–50-node SNDlib networks, so the descent takes ≲ 15 % of the limit's
#: CPU time; on a loaded machine the wall time stretches, the design does not change.  Near
#: capacity, e.g. SNDlib's pure-cost problem, a min-delay check took 1–90 s on pioro40: there the
#: caller's check is a column generation from the design before, 0.03–1.3 s).
CHECKS_PER_SECOND = 2.0


def check_budget(lists: int, time_limit_s: float | None) -> int:
    """Checks a descent over ``lists`` links may run within a solve limited to ``time_limit_s``
    (None: no limit): ``CHECKS_PER_LIST`` per link, and ``CHECKS_PER_SECOND`` per second of the
    limit, but at least one per link."""
    per_second = math.inf if time_limit_s is None else CHECKS_PER_SECOND * time_limit_s
    return int(max(min(CHECKS_PER_LIST * lists, per_second), lists))


def greedy_level_descent(level_lists: list[np.ndarray], cost: np.ndarray, start: np.ndarray,
                         meets: Callable[[np.ndarray], bool], max_checks: int | None = None,
                         deadline: float | None = None) -> np.ndarray:
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
    max_checks : int, optional
        Calls of ``meets`` after which no further step is tried (default: no limit).
    deadline : float, optional
        A ``time.perf_counter()`` value after which no further step is tried (default: none);
        ``meets`` should stop its own check there too.

    Returns
    -------
    ndarray of int
        Positions of a design that meets the bound, each cost ≤ ``start``'s.
    """
    position = np.asarray(start, dtype=np.int64).copy()
    blocked = np.zeros(len(level_lists), dtype=bool)
    checks = 0
    while (max_checks is None or checks < max_checks) and (deadline is None or time.perf_counter() < deadline):
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
