"""Per-demand projected Newton path equilibration for min-delay routing, with a certified gap.

Minimises ``T(F)`` (:class:`~topo_opt.evaluators.delay.DelayObjective`) over splittable
routings, each demand ``k`` spread over a small path set ``P_k`` with flows ``x_p ≥ 0``,
``Σ_{p∈P_k} x_p = r_k``.

* **Continuation, no feasibility phase.**  The queue terms ``F/(C − F)`` are continued beyond
  ``ρ̄ C`` (``continuation_utilization``) by their second-order Taylor polynomial
  (:mod:`topo_opt.algorithms.equilibration_kernel`): the continued ``T̃ ≤ T`` is finite
  everywhere, so the method starts from shortest paths whether or not they overload links
  (no feasibility phase), and its Frank–Wolfe bound is a lower bound on ``min T``.  When the final
  routing keeps every queue below ``ρ̄ C``, ``T = T̃`` there and the certified gap holds for
  ``T``.  A certified iterate at a utilisation ``u`` in ``[ρ̄, 1)`` moves the knee to
  ``1 − (1 − u)/KNEE_RAISE``, past it (at or beyond capacity, ``1 − (1 − ρ̄)/KNEE_RAISE`` once
  :func:`~topo_opt.algorithms.max_concurrent_flow.find_feasible_flow` (column generation from
  the current paths) had half the time left to say whether the demands fit; near capacity: demands at 99.9 % of the maximum
  concurrent flow load the cut to ≥ 0.999, where ``T̃`` at ρ̄ = 0.99 was 3.6× below ``T`` on
  gabriel/100); the bounds found so far stay valid, each ``T̃`` being below ``T``.  When the
  final routing loads a queue beyond ``MAX_CONTINUATION_UTILIZATION`` (at capacity or beyond when
  the demands do not fit), or when the gap did not halve in ``STALL_CERTIFICATES`` certificates
  at a strictly feasible iterate (one demand at a time jams on a nearly full cut: abilene at
  99.9 % kept a gap of 4e-4 over 2,000 certificates, gabriel/100 at 97 % 6e-4 over 245, which
  gradient projection from the jammed iterate certifies in 14 more), the exact machinery takes
  over: the gradient projection method
  (:func:`~topo_opt.algorithms.gradient_projection.solve_min_delay_gp`), started from this
  routing when it is strictly feasible, else after its own feasibility decision.
* **Gauss–Seidel passes** (compiled, :func:`~topo_opt.algorithms.equilibration_kernel.origin_pass`):
  for each origin in turn, a Dijkstra on the current marginal costs ``∇T̃`` gives its demands
  their shortest paths, which join ``P_k`` when shorter than all of it; each demand's cheapest
  path then takes flow from its other paths by the second-derivative-scaled step, and the loads
  change at once, so the next origin sees them.  Paths left without flow leave the set (a
  dropped path returns only as a shortest path).  The first pass, on an empty path set, is the
  all-or-nothing start (each demand on its shortest path at the loads of the demands before it).
* **Sweeps** (compiled, :func:`~topo_opt.algorithms.equilibration_kernel.equilibrate`): after
  each pass, the same per-demand step on the fixed path sets until the restricted gap is below
  ``INNER_GAP_FRACTION`` × the pass's disequilibrium ``Σ_k (Σ_p x_p d_p − r_k dist_k)``; after
  the first sweep only the demands still out of balance are visited, until a full sweep confirms.
* **Certificate**: when that disequilibrium says the requested gap may be met (or after
  ``CERTIFY_EVERY`` passes, or at the time limit), a pass with frozen flows gives exact
  distances at one arc flow ``F`` and the Frank–Wolfe bound
  ``LB = T̃ + Σ_k r_k dist_k − ∇T̃·F`` (:func:`~topo_opt.algorithms.flow_deviation.frank_wolfe_bound`);
  ``max_iterations`` counts these certificates.

References: D. Bertsekas, R. Gallager, *Data Networks*, 2nd ed., Prentice Hall 1992, §5.7;
R. Jayakrishnan, W. K. Tsai, J. N. Prashker, S. Rajadhyaksha, *A faster path-based algorithm
for traffic assignment*, Transportation Research Record 1443 (1994) 75–83.
"""
from __future__ import annotations

import math

import numpy as np

from topo_opt.algorithms.equilibration_kernel import continued_queue_cost, equilibrate, origin_pass
from topo_opt.algorithms.flow_deviation import Callback, CertifiedProgress, frank_wolfe_bound
from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.algorithms.shortest_paths import grouped_paths, raise_unreachable, with_paths
from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted, TopoOptError
from topo_opt.model.design import Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status

CONTINUATION_UTILIZATION = 0.99  # ρ̄: F/(C − F) is exact below ρ̄ C
INNER_GAP_FRACTION = 0.3         # sweeps stop when the restricted gap is below this × disequilibrium
MAX_SWEEPS = 100                 # Gauss–Seidel sweeps per shortest-path pass
CERTIFY_EVERY = 20               # shortest-path passes between two certificates at most
KNEE_RAISE = 10.0                # a raised knee is this many times closer to capacity than the iterate
KNEE_RAISE_GAP = 1e-2            # ... once the continued problem is solved to this gap (or stalls)
MAX_CONTINUATION_UTILIZATION = 1.0 - 1e-6  # no knee raised beyond: the exact machinery finishes
STALL_CERTIFICATES = 10          # a gap not halved in this many certificates hands over


def solve_min_delay_pe(network: Network, *, link_capacity: np.ndarray | None = None,
                       gap: float = 1e-6, time_limit_s: float | None = None,
                       max_iterations: int | None = None, include_fixed_delay: bool = True,
                       start: Routing | None = None, callback: Callback | None = None,
                       continuation_utilization: float = CONTINUATION_UTILIZATION,
                       stall_iterations: int | None = None) -> SolveResult:
    """Min-delay routing by per-demand path equilibration, with a certified gap.

    Parameters
    ----------
    network : Network
    link_capacity : ndarray, optional
        Capacity per link (rate unit); default the installed capacities.
    gap : float
        Stop when the certified relative gap ``(T − LB)/T`` is at most this.
    time_limit_s : float, optional
    max_iterations : int, optional
        Limit on certificates (frozen all-origin shortest-path passes).
    include_fixed_delay : bool
        Add propagation and processing delays to T.
    start : Routing, optional
        A routing to start from (any, not necessarily feasible); default each demand on its
        shortest path at the loads of the demands before it (the first Gauss–Seidel pass).
    callback : callable, optional
        Called with each history record (iteration, time_s, objective, lower_bound, gap);
        the objective there is the continued ``T̃`` (equal to T below ``ρ̄ C``).
    continuation_utilization : float
        ``ρ̄`` in (0, 1): utilisation beyond which ``F/(C − F)`` is continued quadratically, at
        the start (raised past a certified iterate above it; ``details`` has the last one).
    stall_iterations : int, optional
        Passed to the gradient-projection hand-over (its stall rule: ``details["stalled"]``).

    Returns
    -------
    SolveResult
        ``method = "path-equilibration"``; ``details`` has ``n_paths``,
        ``n_shortest_path_calls``, ``n_sweeps``, ``continuation_utilization``,
        ``max_utilization`` and, when the exact method took over, ``handed_over_to``.

    Raises
    ------
    InfeasibleError
        No routing keeps every queue below capacity, or a demand has no path.
    InvalidInputError
        No demands, a link has zero capacity, or ``continuation_utilization`` not in (0, 1).
    """
    if network.n_demands == 0:
        raise InvalidInputError(f"instance {network.name!r} has no demands to route")
    if not 0.0 < continuation_utilization < 1.0:
        raise InvalidInputError(f"continuation_utilization must be in (0, 1), got {continuation_utilization!r}")
    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback)
    objective = DelayObjective.for_network(network, link_capacity, include_fixed_delay)
    objective.require_positive_capacity()
    capacity = objective.queue_capacity
    knee = continuation_utilization * capacity
    linear = objective.arc_linear_cost
    scale = objective.scale
    arc_queue = network.arc_queue
    rate = network.demand_rate

    def continued(arc_flow: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """Queue loads, T̃(F) and ∇T̃(F) per arc."""
        load = network.queue_load(arc_flow)
        value, first, _ = continued_queue_cost(load, capacity, knee)
        return (load, scale * (float(value.sum()) + float(linear @ arc_flow)),
                scale * (first[arc_queue] + linear))

    order = np.argsort(network.demand_source, kind="stable")
    origins, first = np.unique(network.demand_source[order], return_index=True)
    origin_ptr = np.append(first, network.n_demands)
    out_arc = np.argsort(network.arc_tail, kind="stable")
    out_ptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(network.arc_tail, minlength=network.n_nodes), out=out_ptr[1:])

    def shortest_path_pass(paths: Routing, ptr: np.ndarray, flow: np.ndarray, load: np.ndarray, frozen: bool
                           ) -> tuple[Routing, np.ndarray, np.ndarray, np.ndarray, float]:
        """:func:`origin_pass` on grouped ``paths`` (demand offsets ``ptr``); the new paths join
        the set and paths without flow leave it.  Returns the set with its offsets and flows."""
        distance, demand, indptr, arcs, new_flow, disequilibrium = origin_pass(
            origins, origin_ptr, order, network.demand_target, rate, out_ptr, out_arc,
            network.arc_tail, network.arc_head, ptr, paths.indptr, paths.arcs, flow,
            arc_queue, linear, capacity, knee, load, frozen)
        unreachable = np.flatnonzero(~np.isfinite(distance))
        if unreachable.size:
            raise_unreachable(network, unreachable, link_capacity)
        merged, position = with_paths(paths, demand, indptr, arcs, flow > 0)
        merged_flow = np.zeros(merged.n_paths)
        old = position[:paths.n_paths]
        merged_flow[old[old >= 0]] = flow[old >= 0]
        merged_flow[position[paths.n_paths:]] = new_flow
        return merged, merged.demand_ptr(network.n_demands), merged_flow, distance, disequilibrium

    if start is None:  # no paths: the first pass routes each demand on its shortest path
        paths = Routing(np.zeros(0, np.int64), np.zeros(0), np.zeros(1, np.int64), np.zeros(0, np.int64))
        flow = np.zeros(0)
    else:
        paths = grouped_paths(start, network)
        flow = paths.path_rates(rate)
    ptr = paths.demand_ptr(network.n_demands)
    passes = sweeps = iteration = 0
    since_certificate, disequilibrium = 0, math.inf
    kept = None  # (paths, flow, T, max utilisation) of the last strictly feasible certified iterate
    exact = False  # the last certified iterate keeps every queue below the knee
    stalled = False
    knee_utilization = continuation_utilization
    decided = False  # the feasibility decision was tried
    try:
        while True:
            arc_flow = paths.carried_flow(flow, network.n_arcs)  # exact, without the drift of in-place updates
            load, value, gradient = continued(arc_flow)
            passes += 1
            if paths.n_paths and (since_certificate >= CERTIFY_EVERY or progress.out_of_time()
                                  or scale * disequilibrium <= gap * value):
                iteration += 1
                since_certificate = 0
                paths, ptr, flow, distance, _ = shortest_path_pass(paths, ptr, flow, load, frozen=True)
                status = progress.update(iteration, value, frank_wolfe_bound(
                    value, gradient, arc_flow, scale * distance, rate))
                true_value = objective.value(arc_flow)
                utilization = float(np.max(load / capacity))
                if np.isfinite(true_value):
                    kept = (paths, flow.copy(), true_value, utilization)
                exact = np.isfinite(true_value) and utilization < knee_utilization  # T̃ = T here
                history = progress.history
                stalled = status is None and len(history) > STALL_CERTIFICATES \
                    and history[-1]["gap"] > 0.5 * history[-1 - STALL_CERTIFICATES]["gap"]
                if utilization >= knee_utilization and knee_utilization < MAX_CONTINUATION_UTILIZATION \
                        and status in (None, Status.OPTIMAL) and (history[-1]["gap"] <= KNEE_RAISE_GAP or stalled):
                    # T̃'s optimum is near (or T̃ stalls), where T̃ < T: move the knee towards capacity, past the
                    # iterate (the bounds so far stay valid, each T̃ being below T); beyond
                    # capacity, once the feasibility decision had half the time left
                    # (InfeasibleError when the demands do not fit)
                    if utilization >= 1.0 and not decided:
                        decided = True
                        try:
                            find_feasible_flow(network, link_capacity, None if time_limit_s is None
                                               else 0.5 * max(time_limit_s - progress.elapsed_s, 0.0),
                                               paths=paths)
                        except InfeasibleError:
                            raise
                        except TopoOptError:
                            pass  # undecided in that time: go on with the continuation
                    knee_utilization = min(1.0 - (1.0 - max(knee_utilization, min(utilization, 1.0))) / KNEE_RAISE,
                                           MAX_CONTINUATION_UTILIZATION)
                    knee = knee_utilization * capacity
                    status, stalled = None, False
                stalled = stalled and exact
                if status is not None or stalled:
                    break
                disequilibrium = (value - progress.lower_bound) / scale
            else:
                since_certificate += 1
                paths, ptr, flow, _, disequilibrium = shortest_path_pass(paths, ptr, flow, load, frozen=False)
            done, _ = equilibrate(ptr, paths.indptr, paths.arcs, flow, rate, arc_queue,
                                  linear, capacity, knee, load, MAX_SWEEPS,
                                  INNER_GAP_FRACTION * disequilibrium)
            sweeps += done
    except KeyboardInterrupt:
        if kept is None:
            raise
        status = Status.INTERRUPTED
    details = {"n_shortest_path_calls": passes, "n_sweeps": sweeps,
               "continuation_utilization": knee_utilization}
    if status is not Status.INTERRUPTED and (kept is None or stalled or status is Status.OPTIMAL and not exact):
        utilization = float(np.max(load / capacity))
        return _hand_over(network, link_capacity, gap, time_limit_s, progress, include_fixed_delay,
                          paths.carrying(flow, network.n_demands) if utilization < 1.0 else None,
                          callback, details, stall_iterations)
    paths, flow, value, utilization = kept
    routing = paths.carrying(flow, network.n_demands)
    result = progress.result(status, "path-equilibration", network, link_capacity, routing, value,
                             {"n_paths": routing.n_paths, "max_utilization": utilization, **details})
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result


def _hand_over(network: Network, link_capacity: np.ndarray | None, gap: float,
               time_limit_s: float | None, progress: CertifiedProgress, include_fixed_delay: bool,
               start: Routing | None, callback: Callback | None, details: dict,
               stall_iterations: int | None) -> SolveResult:
    """The exact machinery from ``start`` (or gradient projection's own feasibility decision when None).

    The continued problem's optimum loads a queue beyond ``ρ̄ C``, where ``T̃ < T``, or one demand
    at a time jammed: the barrier Newton method (:mod:`topo_opt.algorithms.barrier_flow`) finishes
    when ``start`` loads a queue to ``NEAR_CAPACITY_UTILIZATION`` or more and the network fits its
    size limit (the swaps across a nearly full cut that jam the path methods: gabriel/100 at
    99.9 % of the maximum concurrent flow), else gradient projection.  Its result keeps its own
    certificate; the time already spent is added.
    """
    from topo_opt.algorithms.barrier_flow import solve_min_delay_barrier, takes_over
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp

    remaining = None if time_limit_s is None else max(time_limit_s - progress.elapsed_s, 0.0)
    spent = progress.elapsed_s
    common = dict(link_capacity=link_capacity, gap=gap, time_limit_s=remaining,
                  include_fixed_delay=include_fixed_delay, start=start, callback=callback)
    near = start is not None and takes_over(network, start, link_capacity)
    try:
        if near:
            result = solve_min_delay_barrier(network, **common)
        else:
            result = solve_min_delay_gp(network, stall_iterations=stall_iterations, **common)
    except SolveInterrupted as stop:
        stop.partial.solve_time_s += spent
        stop.partial.details.update(details, handed_over_by="path-equilibration")
        raise
    result.method = "path-equilibration"
    result.solve_time_s += spent
    result.details.update(details, handed_over_to="barrier" if near else "gradient-projection")
    return result
