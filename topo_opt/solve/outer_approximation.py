"""Exact certified min-delay routing by tangent-cut outer approximation (Kelley cutting planes).

    min T(F) = (1/γ)[Σ_q F_q/(C_q − F_q) + ρ Σ_a d_a F_a]   over multicommodity flows

Each iteration solves the LP of :mod:`topo_opt.formulations.delay_cuts` warm (dual simplex
from the previous basis, rows added in HiGHS):

* **lower bound** — the LP optimum (every tangent underestimates the convex g, so the LP is a
  relaxation); it never decreases as cuts are added;
* **upper bound** — T at the best point of the segment from the incumbent to the LP flows
  (1-D convex line search; its end is the LP point itself when that is strictly feasible,
  F_q < C_q, and the search also works when the LP flows overload a queue);
* **cuts** — tangents at the LP flows and at the line-search point, on the queues where they cut
  off the LP solution; queues the LP overloads get a tangent halfway between the incumbent's
  load and the capacity.

It stops when (UB − LB)/UB ≤ ``gap`` (:attr:`Status.OPTIMAL`), or at the time or iteration limit
with the incumbent and the bound.  The incumbent starts from a strictly feasible routing
(:func:`~topo_opt.algorithms.max_concurrent_flow.find_feasible_flow`); its source flows are
kept, so the returned routing is the flow decomposition of the incumbent.  References: Kelley,
*The cutting-plane method for solving convex programs*, SIAM J. 8 (1960); Kleinrock 1964;
Fratta, Gerla and Kleinrock 1973.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from topo_opt.algorithms.flow_decomposition import decompose_source_flows, routing_source_flows
from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.algorithms.flow_deviation import CertifiedProgress, delay_line_search
from topo_opt.errors import InvalidInputError, SolveInterrupted
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.delay_cuts import (
    add_initial_tangent_cuts, add_tangent_cuts, define_delay_epigraph, tangent_coefficients,
)
from topo_opt.formulations.multicommodity import build_multicommodity_model
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status
from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size
from topo_opt.solve.kelley import run_kelley

logger = logging.getLogger(__name__)

Callback = Callable[[dict], None]

#: A cut is added only where it raises the LP's n_q by more than this (relative to g(F̂) + 1).
CUT_VIOLATION_RTOL = 1e-9


@dataclass
class _Incumbent:
    """The best strictly feasible point so far: source flows x (rate units), F and T(F)."""

    source_flow: np.ndarray
    arc_flow: np.ndarray
    value: float

    def offer(self, objective: DelayObjective, source_flow: np.ndarray) -> None:
        arc_flow = source_flow.sum(axis=0)
        value = objective.value(arc_flow)  # +inf when a queue is saturated
        if value < self.value:
            self.source_flow, self.arc_flow, self.value = source_flow, arc_flow, value

    def improve(self, objective: DelayObjective, lp_source_flow: np.ndarray) -> None:
        """Move to the best point of the segment from the incumbent to the LP point (θ = 1, the
        LP point itself, is on it: taken when strictly feasible and best)."""
        direction = lp_source_flow.sum(axis=0) - self.arc_flow
        theta = delay_line_search(objective, self.arc_flow, direction)
        self.offer(objective, self.source_flow + theta * (lp_source_flow - self.source_flow))


def new_cut_points(objective: DelayObjective, queues: np.ndarray, lp_load: np.ndarray,
                   lp_packets: np.ndarray, incumbent_load: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(queues, tangent loads) of the cuts to add: at the LP loads (or, where the LP overloads a
    queue, halfway between the incumbent's load and the capacity) and at the incumbent's loads,
    wherever the tangent cuts off the LP point (F_q, n_q)."""
    capacity = objective.queue_capacity[queues]
    at_lp = np.where(lp_load < capacity, lp_load, 0.5 * (incumbent_load + capacity))
    picked_queues, picked_loads = [], []
    for at, distinct in ((at_lp, True), (incumbent_load, incumbent_load != at_lp)):
        slope, intercept = tangent_coefficients(at, capacity)
        g = at / (capacity - at)
        cuts_off = distinct & (slope * lp_load + intercept - lp_packets
                               > CUT_VIOLATION_RTOL * (1.0 + g))
        picked_queues.append(queues[cuts_off])
        picked_loads.append(at[cuts_off])
    return np.concatenate(picked_queues), np.concatenate(picked_loads)


def solve_min_delay_cuts(network: Network, *, link_capacity: np.ndarray | None = None,
                         gap: float = 1e-6, time_limit_s: float | None = None,
                         max_iterations: int | None = None, include_fixed_delay: bool = True,
                         callback: Callback | None = None) -> SolveResult:
    """Minimum average delay routing with a certified gap, by tangent cutting planes.

    Parameters
    ----------
    network : Network
    link_capacity : ndarray, optional
        Per-link capacities (rate unit); default: installed capacities.
    gap : float
        Stop when (UB − LB)/UB ≤ gap.
    time_limit_s : float, optional
    max_iterations : int, optional
        Maximum number of LP solves.
    include_fixed_delay : bool
        Add propagation and processing delays (ρ Σ_a d_a F_a) to T.
    callback : callable, optional
        Called with each history record {iteration, time_s, objective, lower_bound, gap}.

    Returns
    -------
    SolveResult
        ``objective_name = "average_delay_s"``; ``lower_bound`` the LP bound in seconds.

    Raises
    ------
    InfeasibleError
        When no routing keeps every queue below capacity (saturated cut named).
    InvalidInputError
        When the instance has no demand (the average delay is undefined), a link has zero
        capacity, or ``gap < 0``.
    """
    start = time.perf_counter()
    if network.n_demands == 0:
        raise InvalidInputError(f"{network.name}: no demands: the average delay is undefined")
    if not gap >= 0:
        raise InvalidInputError(f"gap must be >= 0, got {gap!r}")
    objective = DelayObjective.for_network(network, link_capacity, include_fixed_delay)
    objective.require_positive_capacity()
    feasible = find_feasible_flow(network, link_capacity)
    model = build_multicommodity_model(network, link_capacity=link_capacity, name="min_delay_cuts")
    layout = model.layout
    queues = layout.queues
    define_delay_epigraph(model, objective)
    n_cuts = len(add_initial_tangent_cuts(model))
    solver = HighsSolver(model, HighsOptions())

    start_x = routing_source_flows(network, feasible.routing, layout.sources)
    incumbent = _Incumbent(start_x, start_x.sum(axis=0), objective.value(start_x.sum(axis=0)))
    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback, start_s=start)
    lp = {}

    def improve() -> float:
        lp["x"] = layout.source_flows(solver.values(model.source_flow), network.n_arcs)
        incumbent.improve(objective, lp["x"])
        return incumbent.value

    def cut() -> int:
        cut_queues, cut_loads = new_cut_points(
            objective, queues, network.queue_load(lp["x"].sum(axis=0))[queues],
            solver.values(model.queue_packets), network.queue_load(incumbent.arc_flow)[queues])
        solver.add_constraints(add_tangent_cuts(model, cut_queues, cut_loads))
        return len(cut_queues)

    # Ctrl-C: the incumbent (always a strictly feasible routing) and the bound so far
    run = run_kelley(solver, progress, bound=lambda outcome: objective.scale * outcome.bound,
                     incumbent=improve, cut=cut, time_limit_s=time_limit_s)
    status, message, bound = run.status, run.message, run.bound
    routing = decompose_source_flows(network, layout.sources, incumbent.source_flow)
    design = Design.for_network(network, routing, link_capacity=link_capacity)
    value = objective.value(design.arc_flow(network))
    if bound > value * (1 + 1e-9):
        logger.warning("OA lower bound %.12g exceeds the objective %.12g beyond LP rounding",
                       bound, value)
    bound = min(bound, value)  # at the optimum, LP rounding can leave it a few ulps above
    result = SolveResult(
        status, "outer-approximation", "average_delay_s", "s", objective=value,
        lower_bound=bound, design=design, solve_time_s=time.perf_counter() - start,
        iterations=run.iterations, message=message, history=progress.history,
        details={"include_fixed_delay": include_fixed_delay, "cuts": n_cuts + run.cuts,
                 "simplex_iterations": run.simplex_iterations, **model_size(model),
                 "lower_bound_source": "outer-approximation LP (tangent cuts)"})
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result
