"""Large-neighbourhood search for modular capacity designs (incumbents for the MILP).

From a design that meets the delay bound, each step frees a *window* of links and keeps every
other link at its current level: the MILP of :mod:`topo_opt.formulations.modular_capacity`
(its level binaries y_i fixed to the design outside the window, in HiGHS only) is solved with
the design as MIP start, and the cheaper design it picks is checked with certified min-delay
routing.  A design that misses T_max gets the checker's cuts (tangents, valid for the whole
problem) and the window is solved again, at most ``WINDOW_ROUNDS`` times; a design that meets
it is accepted.  One that misses it is also *repaired*: every link at the larger of its two
levels (no capacity below the design's, so T_max holds), then greedy module removal on the
links where the MILP wanted less; a repaired design cheaper than the current one is accepted.
A window is done when its MILP proves nothing cheaper is left in it (its
bound ≥ the design's cost), when its solve finds nothing cheaper, or after its rounds.

Windows: the links of a centre node and of its ``size`` − 1 neighbours across its most
expensive links; the centres are visited in decreasing order of the cost of the design on their
links (ties broken by a permutation drawn from ``seed``), cyclically.  Windows start at one node
(a whole radius-one ball made windows of half of geant's levels, whose MILP did not finish
within seconds) and grow by one node after a whole cycle without improvement (the design is
then optimal in every window of that size, up to ``WINDOW_GAP``).  The search stops at the time
limit or when the windows are wider than the largest degree + 1.  Every accepted design is cheaper than the last, so the result is never
worse than the start.

References: P. Shaw, "Using constraint programming and local search methods to solve vehicle
routing problems", CP 1998 (large-neighbourhood search); E. Danna, E. Rothberg, C. Le Pape,
"Exploring relaxation induced neighborhoods to improve MIP solutions", Math. Prog. 102 (2005).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from topo_opt.errors import SolveInterrupted
from topo_opt.model.network import Network
from topo_opt.model.result import Status
from topo_opt.solve.highs import HighsSolver

logger = logging.getLogger(__name__)
WINDOW_ROUNDS = 4  # MILP solves per window (each after the checker's cuts)
WINDOW_GAP = 1e-4  # a window's MILP is small: solved to (almost) optimality, whatever the run's gap
#: Of the search's whole time, at most this share for one window's MILP solve
WINDOW_SHARE = 0.2


@dataclass
class NeighbourhoodSearch:
    """The outcome: the best design record (as given by ``check``), its cost, and one history
    record per accepted design (``time_s`` from ``start_s``, ``objective``, ``window``)."""

    best: tuple
    cost: float
    windows: int = 0
    interrupted: bool = False
    history: list[dict] = field(default_factory=list)


def window_order(network: Network, link_cost: np.ndarray, seed: int) -> np.ndarray:
    """Centre nodes, most expensive first: Σ of ``link_cost`` (per link) over a node's links,
    ties broken by a permutation drawn from ``seed``."""
    incident = np.zeros(network.n_nodes)
    np.add.at(incident, network.link_source, link_cost)
    np.add.at(incident, network.link_target, link_cost)
    shuffled = np.random.default_rng(seed).permutation(network.n_nodes)
    return shuffled[np.argsort(-incident[shuffled], kind="stable")]


def window_links(network: Network, centre: int, link_cost: np.ndarray, size: int) -> np.ndarray:
    """The links of ``centre`` and of its ``size`` − 1 neighbours across its most expensive
    links (``link_cost`` per link; ties by neighbour index)."""
    source, target = network.link_source, network.link_target
    own = np.flatnonzero((source == centre) | (target == centre))
    neighbour = np.where(source[own] == centre, target[own], source[own])
    ranked = neighbour[np.lexsort((neighbour, -link_cost[own]))]
    ball = np.concatenate([[centre], ranked[np.sort(np.unique(ranked, return_index=True)[1])][:size - 1]])
    return np.flatnonzero(np.isin(source, ball) | np.isin(target, ball))


def neighbourhood_search(network: Network, model, solver: HighsSolver, best: tuple, cost: float,
                         check: Callable[[np.ndarray], tuple[tuple | None, list]],
                         cut: Callable[[np.ndarray, list], list],
                         repair: Callable[[np.ndarray, tuple], tuple | None], *, time_limit_s: float,
                         start_s: float | None = None, seed: int = 0,
                         on_improve: Callable[[dict], None] | None = None) -> NeighbourhoodSearch:
    """Improve ``best`` (a design record whose ``best[1]`` are its chosen level indices, of
    cost ``cost``) by re-optimising windows with the ``min-cost`` MILP held in ``solver``.

    ``check(picked)`` routes the design of the level indices ``picked`` and returns its record
    (None when it misses T_max) and the routings; ``cut(picked, routings)`` adds the cuts at
    them to the model and returns the new rows; ``repair(picked, best)`` turns a design that
    misses T_max into the record of one that meets it and is cheaper than ``best``, or None.
    The bounds of ``model.level_on`` are restored
    to [0, 1] at the end; the cuts stay (they are valid for every design).  Ctrl-C ends the
    search with ``interrupted`` set and the best design so far.
    """
    levels = model.levels
    n_levels = len(levels.link)
    start_s = time.perf_counter() if start_s is None else start_s
    deadline = start_s + time_limit_s
    found = NeighbourhoodSearch(best, cost)
    link_cost = _link_cost(network, levels, best[1])
    order = window_order(network, link_cost, seed)
    window_s = WINDOW_SHARE * max(deadline - time.perf_counter(), 0.0)  # one window solve's limit
    quiet, k, size = 0, 0, 1  # windows since the last improvement; windows visited; nodes per window
    widest = 1 + int(np.max(np.bincount(np.concatenate([network.link_source, network.link_target]))))
    try:
        while size <= widest and time.perf_counter() < deadline:
            links = window_links(network, int(order[k % len(order)]), link_cost, size)
            k += 1
            improved = _solve_window(solver, model, found, np.isin(levels.link, links), check, cut,
                                     repair, deadline, window_s)
            found.windows += 1
            if not improved:
                quiet += 1
                if quiet == network.n_nodes:  # a whole cycle without improvement: wider windows
                    quiet, size = 0, size + 1
                continue
            quiet = 0
            link_cost = _link_cost(network, levels, found.best[1])
            record = {"phase": "neighbourhood", "window": k, "time_s": time.perf_counter() - start_s,
                      "objective": found.cost}
            found.history.append(record)
            if on_improve:
                on_improve(record)
    except (SolveInterrupted, KeyboardInterrupt):
        found.interrupted = True
    finally:
        solver.change_bounds(model.level_on, np.zeros(n_levels), np.ones(n_levels))
    return found


def _link_cost(network: Network, levels, picked: np.ndarray) -> np.ndarray:
    cost = np.zeros(network.n_links)
    cost[levels.link[picked]] = levels.cost[picked]
    return cost


def _solve_window(solver: HighsSolver, model, found: NeighbourhoodSearch, free: np.ndarray,
                  check, cut, repair, deadline: float, window_s: float) -> bool:
    """Re-optimise the levels ``free`` (mask over levels) with the others fixed to the design;
    True when a cheaper design meeting T_max was accepted into ``found``."""
    on = np.zeros(len(free))
    on[found.best[1]] = 1.0
    solver.change_bounds(model.level_on, np.where(free, 0.0, on), np.where(free, 1.0, on))
    for _ in range(WINDOW_ROUNDS):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return False
        solver.set_start({model.level_on: on})
        outcome = solver.solve(time_limit_s=min(remaining, window_s), mip_rel_gap=WINDOW_GAP)
        logger.debug("window of %d levels: %s, objective %.6g, bound %.6g, design %.6g, %.1f s",
                     int(free.sum()), outcome.message, outcome.objective, outcome.bound, found.cost, outcome.time_s)
        if not math.isfinite(outcome.objective) or outcome.status is Status.INFEASIBLE:
            return False
        if outcome.bound >= found.cost * (1 - 1e-9):  # nothing cheaper in this window
            return False
        picked = np.flatnonzero(solver.values(model.level_on) > 0.5)
        cost = float(model.levels.cost[picked].sum())
        if cost >= found.cost * (1 - 1e-9):
            return False
        record, routings = check(picked)
        logger.debug("window design %.6g %s T_max", cost, "meets" if record is not None else "misses")
        if record is None:
            record = repair(picked, found.best)
            logger.debug("repaired: %s", "none" if record is None else f"{record[2]:.6g}")
        if record is not None:
            found.best, found.cost = record, record[2]
            return True
        if not cut(picked, routings):
            return False
    return False
