"""Flow deviation (Fratta, Gerla and Kleinrock 1973): Frank–Wolfe on the average delay.

At a strictly feasible arc flow ``F`` the first-derivative lengths ``g = ∇T(F)``,

    g_a = (1/γ) [ C_q/(C_q − F_q)² + ρ d_a ],

give every demand its shortest path; sending all traffic on them is the flow ``V`` that
minimises the linearisation ``T(F) + g·(V − F)``.  The method moves to
``F ← (1 − α) F + α V`` with the exact line search ``α = argmin_{[0, 1]} T((1 − α)F + αV)``.

Certificate: ``T`` is convex, so the linearisation at any ``F`` under-estimates it everywhere,
and its minimum over all routings is the lower bound

    LB = T(F) + g·(V − F) = T(F) + Σ_k r_k dist_g(s_k, t_k) − g·F  ≤  T*.

The best ``LB`` seen is kept; the method stops when ``(T − LB)/T ≤ gap``.  This module also
holds what the path-based gradient projection method shares with it: the bound, the exact
line search on ``T`` and the progress monitor (history, callback, limits, and the **decision
stop**: given a threshold ``θ``, the question "is min T ≤ θ?" is settled as soon as an iterate
has ``T(F) ≤ θ`` (meets: ``F`` is the witness) or ``LB > θ`` (misses: every routing has
``T ≥ LB > θ``), long before the gap closes unless ``min T`` is within the gap of ``θ``, where
the gap stays the stop).

Reference: L. Fratta, M. Gerla, L. Kleinrock, *The flow deviation method: an approach to
store-and-forward communication network design*, Networks 3 (1973) 97–133.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from topo_opt.algorithms.max_concurrent_flow import feasible_start
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, extend_with_shortest_paths, shortest_path_forest,
)
from topo_opt.errors import SolveInterrupted
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status, relative_gap

Callback = Callable[[dict], None]
LOWER_BOUND_SOURCE = "frank_wolfe_linearisation"
_PRUNE_FRACTION = 1e-12   # path fractions below this hand their flow to the shortest path


def frank_wolfe_bound(value: float, gradient: np.ndarray, arc_flow: np.ndarray,
                      distance: np.ndarray, demand_rate: np.ndarray) -> float:
    """LB = T(F) + Σ_k r_k dist_g(k) − g·F, a lower bound on min T (see module docstring)."""
    return value + float(demand_rate @ distance) - float(gradient @ arc_flow)


def delay_line_search(objective: DelayObjective, arc_flow: np.ndarray, direction: np.ndarray,
                      max_step: float = 1.0, linear_slope: float = 0.0) -> float:
    """argmin over β ∈ [0, max_step] of T(F + β ΔF) + β s, F strictly feasible.

    Newton's method on the convex ``φ(β) = T(F + β ΔF) + β s`` with bisection safeguard:
    ``φ'(β) = ∇T(F + βΔF)·ΔF + s`` and ``φ''(β) = Σ_q T''_q ΔF_q²``.  Steps never reach a
    queue's capacity, where ``φ`` is infinite, also by rounding (capacities within an ulp of the
    loads).  ``s`` (``linear_slope``, in units of T per unit
    β) is the slope of a linear cost added to T, as in the composite goal; 0 for delay alone.
    """
    network = objective.network
    load_step = network.queue_load(direction)
    slack = objective.queue_capacity - network.queue_load(arc_flow)
    rising = load_step > 0
    boundary = float(np.min(slack[rising] / load_step[rising])) if np.any(rising) else math.inf
    hi = min(max_step, boundary)

    def derivatives(beta: float) -> tuple[float, float]:
        flow = arc_flow + beta * direction
        load = network.queue_load(flow)
        if np.any((load > 0) & (load >= objective.queue_capacity)):
            return math.inf, math.inf  # at capacity by rounding (slack below a load's ulp): beyond
        return (float(objective.arc_gradient(flow) @ direction) + linear_slope,
                float(objective.queue_second_derivative(flow) @ load_step ** 2))

    if hi < boundary and derivatives(hi)[0] <= 0:
        return hi
    first, second = derivatives(0.0)
    if first >= 0:
        return 0.0
    initial_slope = first
    lo, beta = 0.0, 0.0
    for _ in range(100):
        newton = beta - first / second if second > 0 else math.inf
        beta = newton if lo < newton < hi else 0.5 * (lo + hi)
        first, second = derivatives(beta)
        if abs(first) <= 1e-12 * abs(initial_slope):
            break
        if first > 0:
            hi = beta
        else:
            lo = beta
        if hi - lo <= 1e-14 * hi:
            break
    return beta if math.isfinite(first) else lo


@dataclass
class CertifiedProgress:
    """History, callback and stopping rules shared by the certified min-delay methods.

    ``update`` records one outer iteration and returns the status to stop with, or None.
    With a ``threshold`` θ it also stops, with ``Status.FEASIBLE`` (converged by the method's own
    rule, not to the gap), as soon as the question "min T ≤ θ?" is decided: the objective of the
    iterate is ≤ θ (:attr:`decision` ``"meets"``; the iterate is the witness) or the certified
    lower bound is > θ (``"misses"``).  The result says which in ``details["decision"]`` and in
    its message.  The gap is tested first: near θ, where neither side is proven, the method
    still stops at its gap.  Without ``threshold`` nothing changes.  The witness is the
    iterate's flows; a method that reports T of a rounded form of them (gradient projection:
    the path fractions) can, at capacities within rounding of the flows, report T a little
    above θ, so a caller compares the answer's own T with θ (the design checks do).
    """

    gap: float
    time_limit_s: float | None
    max_iterations: int | None
    callback: Callback | None
    start_s: float = field(default_factory=time.perf_counter)
    lower_bound: float = -math.inf
    history: list[dict[str, float]] = field(default_factory=list)
    #: stop (``ITERATION_LIMIT``, ``stalled``) when the gap fell less than 2× in this many iterations
    stall_iterations: int | None = None
    stalled: bool = False
    #: decide "min T ≤ threshold?" (same unit as the objective); None: stop at the gap only
    threshold: float | None = None
    #: "meets" or "misses" once :meth:`update` decided (with ``threshold``), else None
    decision: str | None = None

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.start_s

    def out_of_time(self) -> bool:
        return self.time_limit_s is not None and self.elapsed_s >= self.time_limit_s

    def update(self, iteration: int, objective: float, bound: float) -> Status | None:
        self.lower_bound = max(self.lower_bound, bound)
        record = {"iteration": iteration, "time_s": self.elapsed_s, "objective": objective,
                  "lower_bound": self.lower_bound,
                  "gap": relative_gap(objective, self.lower_bound)}
        self.history.append(record)
        if self.callback is not None:
            self.callback(record)
        if record["gap"] <= self.gap:
            return Status.OPTIMAL
        if self.threshold is not None and (objective <= self.threshold or self.lower_bound > self.threshold):
            self.decision = "meets" if objective <= self.threshold else "misses"
            return Status.FEASIBLE
        if self.out_of_time():
            return Status.TIME_LIMIT
        if self.max_iterations is not None and iteration >= self.max_iterations:
            return Status.ITERATION_LIMIT
        window = self.stall_iterations
        if window is not None and len(self.history) > window \
                and record["gap"] > 0.5 * self.history[-1 - window]["gap"]:
            self.stalled = True
            return Status.ITERATION_LIMIT
        return None

    def message(self, status: Status) -> str:
        """Why :meth:`update` stopped with ``status``."""
        if status is Status.FEASIBLE and self.decision is not None:
            return (f"decided: the routing's objective <= {self.threshold:.9g} (the witness)"
                    if self.decision == "meets" else f"decided: the certified lower bound > {self.threshold:.9g}")
        return {Status.OPTIMAL: f"certified relative gap <= {self.gap:g}",
                Status.TIME_LIMIT: f"time limit of {self.time_limit_s} s reached",
                Status.ITERATION_LIMIT: f"stalled: the gap fell less than 2x in the last {self.stall_iterations} "
                                        "iterations" if self.stalled else f"iteration limit of {self.max_iterations} reached",
                Status.INTERRUPTED: "interrupted (Ctrl-C): the last complete iterate"}[status]

    def result(self, status: Status, method: str, network: Network,
               link_capacity: np.ndarray | None, routing: Routing, objective: float,
               details: dict) -> SolveResult:
        design = Design.for_network(network, routing, link_capacity=link_capacity)
        return SolveResult(status, method, "average_delay_s", "s", objective=objective,
                           lower_bound=min(self.lower_bound, objective), design=design,
                           solve_time_s=self.elapsed_s, iterations=len(self.history),
                           message=self.message(status), history=self.history,
                           details={"lower_bound_source": LOWER_BOUND_SOURCE, **details,
                                    **({"stalled": True} if self.stalled else {}),
                                    **({"decision": self.decision} if self.decision else {})})


def solve_min_delay_fd(network: Network, *, link_capacity: np.ndarray | None = None,
                       gap: float = 1e-6, time_limit_s: float | None = None,
                       max_iterations: int | None = None, include_fixed_delay: bool = True,
                       start: Routing | None = None, callback: Callback | None = None,
                       threshold: float | None = None) -> SolveResult:
    """Min-delay routing by flow deviation, with the Frank–Wolfe lower bound.

    Parameters
    ----------
    network : Network
    link_capacity : ndarray, optional
        Capacity per link (rate unit); default the installed capacities.
    gap : float
        Stop when the certified relative gap ``(T − LB)/T`` is at most this.
    time_limit_s : float, optional
    max_iterations : int, optional
        Limit on Frank–Wolfe iterations (shortest-path computations).
    include_fixed_delay : bool
        Add propagation and processing delays to T.
    start : Routing, optional
        A strictly feasible routing to start from; default min-hop when it is strictly
        feasible, else the routing of :func:`~topo_opt.algorithms.max_concurrent_flow.find_feasible_flow`.
    callback : callable, optional
        Called with each history record (iteration, time_s, objective, lower_bound, gap).
    threshold : float, optional
        Decide "min T ≤ threshold?" (s) instead of closing the gap when that comes first
        (:class:`CertifiedProgress`): ``Status.FEASIBLE`` with ``details["decision"]``.

    Returns
    -------
    SolveResult
        ``method = "flow-deviation"``, ``objective_name = "average_delay_s"``; the design's
        routing keeps every path with positive flow.

    Raises
    ------
    InfeasibleError
        No routing keeps every queue below capacity, or a demand has no path.
    InvalidInputError
        ``start`` is not strictly feasible.

    Notes
    -----
    Convergence is sublinear (O(1/iterations)); the path-based gradient projection of
    :mod:`topo_opt.algorithms.gradient_projection` reaches small gaps much faster.
    """
    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback, threshold=threshold)
    objective = DelayObjective.for_network(network, link_capacity, include_fixed_delay)
    objective.require_positive_capacity()
    paths, flow = feasible_start(network, link_capacity, start, time_limit_s)
    graph = ArcGraph.from_network(network)
    rate = network.demand_rate
    iteration = 0
    kept = None  # (paths, flow, T) of the last iterate whose bound was computed
    try:
        while True:
            iteration += 1
            arc_flow = paths.carried_flow(flow, network.n_arcs)
            value = objective.value(arc_flow)
            gradient = objective.arc_gradient(arc_flow)
            forest = shortest_path_forest(graph, gradient, network.demand_source)
            paths, flow, chosen, distance = extend_with_shortest_paths(paths, flow, forest, network,
                                                                       gradient, drop_empty=True)
            status = progress.update(iteration, value,
                                     frank_wolfe_bound(value, gradient, arc_flow, distance, rate))
            kept = (paths, flow.copy(), value)  # the step below updates ``flow`` in place
            if status is not None:
                break
            vertex = np.zeros(paths.n_paths)
            vertex[chosen] = rate
            alpha = delay_line_search(objective, arc_flow, paths.carried_flow(vertex, network.n_arcs) - arc_flow)
            flow *= 1.0 - alpha
            flow[chosen] += alpha * rate
            small = flow < _PRUNE_FRACTION * rate[paths.demand]
            small[chosen] = False
            if np.any(small):  # emptied here, dropped by the next column generation
                flow[chosen] += np.bincount(paths.demand, weights=np.where(small, flow, 0.0),
                                            minlength=network.n_demands)
                flow[small] = 0.0
    except KeyboardInterrupt:
        if kept is None:
            raise
        status = Status.INTERRUPTED
    paths, flow, value = kept
    routing = paths.carrying(flow, network.n_demands)
    result = progress.result(status, "flow-deviation", network, link_capacity, routing, value,
                             {"n_paths": routing.n_paths, "n_shortest_path_calls": iteration})
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result
