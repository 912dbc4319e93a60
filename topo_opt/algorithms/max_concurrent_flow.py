"""The one feasibility decision of topo-opt: is there a routing with every queue below capacity?

Every solve that needs a strictly feasible routing, or the reason there is none, calls
:func:`find_feasible_flow` (min-delay descents, outer approximation, composite routing, the
min-power diagnosis, min-hop with capacities); an infeasible instance gets one message, with
the saturated cut, whatever the method.

M/M/1 delay needs ``F_q < C_q`` on every queue, i.e. the min max-utilisation

    U* = min_F max_q F_q / C_q     (F a multicommodity flow routing every demand)

must be below 1.  This module decides ``U* < 1`` or ``U* ≥ 1`` with a first-order method that
carries both a primal flow and a dual certificate, so it scales to any size:

* **Upper bound** -- any routing gives ``U_up = max_q F_q/C_q ≥ U*``.
* **Lower bound** (weak LP duality) -- for queue lengths ``w ≥ 0``,
  ``U_low = Σ_k r_k dist_w(s_k, t_k) / Σ_q w_q C_q ≤ U*``: every routing pays at least the
  w-distance of each demand, and ``Σ_q w_q F_q ≤ U Σ_q w_q C_q``.

The flow minimises the smooth maximum ``Φ_μ(F) = (1/μ) log Σ_q exp(μ F_q/C_q)`` (which
overestimates ``max_q F_q/C_q`` by at most ``log(n_queues)/μ``) by Frank–Wolfe with exact line
search: the gradient gives the lengths ``w_q = softmax(μ u)_q / C_q`` (so ``Σ_q w_q C_q = 1``),
the w-shortest paths both give the Frank–Wolfe vertex and evaluate ``U_low``.  ``μ`` doubles
whenever the Frank–Wolfe gap falls below the smoothing error, so ``Φ_μ`` tracks ``U*``.  It
stops as soon as ``U_up < 1`` (a strictly feasible start) or ``U_low ≥ 1`` (infeasible).
Iterates are kept as arc flows plus their vertices (one path per demand each); the answer's
routing merges identical paths and drops small ones while it stays strictly feasible.

**Decisive.**  Frank–Wolfe converges sublinearly, so when ``U*`` is close to 1 (a capacity
planner's regime: demands at 97–99.9 % of the maximum concurrent flow) the interval
``[U_low, U_up]`` can still contain 1 after the iteration budget.  The question is then decided
exactly by the same LP in path form, solved by column generation (Ford and Fulkerson 1958): the
restricted master over the paths found so far,

    min U   s.t.   Σ_{p∈P_k} x_p = r_k,   Σ_{p∋q} x_p ≤ U·C_q,   x ≥ 0

(HiGHS, one object per decision: interior point for the first solve, then the primal simplex
from the last basis as columns join) gives ``U_up`` (its routing) and queue prices ``w_q ≥ 0`` (duals of the capacity rows); each
demand's w-shortest path joins its set when shorter than all of them, and ``w`` gives the bound
``U_low`` above.  At the LP optimum ``U_low = U_up = U*`` (strong duality), so the loop stops
with ``U_up < 1`` or ``U_low ≥ 1`` unless ``U*`` equals 1 within the LP's tolerances.  The
master has one column per path, not per (source, arc) as the arc formulation of
:mod:`topo_opt.formulations.max_utilization` (planar80: 36k columns and 19 s by Pyomo and
HiGHS; planar150: 128k columns and 200 s): it grows with the paths found, not with the network.

References: Shahrokhi and Matula, *The maximum concurrent flow problem*, JACM 37 (1990);
Ford and Fulkerson, *A suggested computation for maximal multi-commodity network flows*,
Management Science 5 (1958);
Garg and Könemann, *Faster and simpler algorithms for multicommodity flow*, SIAM J. Comput. 37
(2007); Nesterov, *Smooth minimization of non-smooth functions*, Math. Prog. 103 (2005).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from topo_opt.algorithms.highs_runs import cancel_on_sigint, interrupt_callback, time_limit_option
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, demand_distances, demand_shortest_paths, extend_with_shortest_paths, grouped_paths,
    merged_paths, raise_unreachable, segment_min, shortest_path_forest, unreachable_demands,
)
from topo_opt.errors import InfeasibleError, InvalidInputError, TopoOptError, id_list
from topo_opt.model.design import Routing
from topo_opt.model.network import Network

# Frank–Wolfe iterations (one all-sources Dijkstra each) before column generation decides; near
# U* = 1 even 2,000 do not (abilene at U* = 0.999: U* in [0.983, 1.015] after 2,000).
DEFAULT_MAX_ITERATIONS = 200
_INITIAL_SMOOTHING = 0.1      # initial log(Q)/μ as a fraction of the starting max utilisation
_CUT_SHARE = 1e-3             # links whose dual weight share is at least this × the largest
_PRUNE_FRACTIONS = (0.05, 0.01, 1e-3, 0.0)  # path fractions tried as cut-offs, largest first
# Paths carrying at least this fraction of their demand in the Frank–Wolfe iterate start the
# column-generation master (with each demand's largest); pricing adds any other one it needs.
# All distinct paths of 200 iterates made a master of ~10^5 columns on a 100-node network.
_MASTER_SHARE = 1e-2
MASTER_SOLVER = "ipm"  # HiGHS's method for the master's first (cold) solve; later ones: simplex, warm


@dataclass(frozen=True)
class FeasibleStart:
    """A routing with every queue below capacity, and the bounds found on U*.

    Attributes
    ----------
    routing : Routing
    max_utilization_upper_bound : float
        ``U_up = max_q F_q/C_q`` of ``routing`` (< 1).
    max_utilization_lower_bound : float
        Best dual bound ``U_low ≤ U*``.
    iterations : int
        Frank–Wolfe iterations plus column-generation rounds (one all-demand shortest-path
        computation each).
    """

    routing: Routing
    max_utilization_upper_bound: float
    max_utilization_lower_bound: float
    iterations: int


def _line_search(u: np.ndarray, du: np.ndarray, mu: float) -> float:
    """argmin over α ∈ [0, 1] of (1/μ) log Σ_q exp(μ(u_q + α du_q)) (Newton with bisection)."""
    def derivatives(alpha: float) -> tuple[float, float]:
        z = mu * (u + alpha * du)
        s = np.exp(z - z.max())
        s /= s.sum()
        first = float(s @ du)
        return first, mu * (float(s @ du ** 2) - first ** 2)

    lo, hi = 0.0, 1.0
    if derivatives(hi)[0] <= 0:
        return hi
    alpha = 0.5
    for _ in range(60):
        first, second = derivatives(alpha)
        if first > 0:
            hi = alpha
        else:
            lo = alpha
        newton = alpha - first / second if second > 0 else -1.0
        alpha = newton if lo < newton < hi else 0.5 * (lo + hi)
        if hi - lo < 1e-12 or abs(first) < 1e-15:
            break
    return alpha


def _infeasible(network: Network, graph: ArcGraph, weight_q: np.ndarray, capacity_q: np.ndarray,
                arc_weight: np.ndarray, lower: float) -> InfeasibleError:
    """The error for ``U* ≥ lower ≥ 1``: the saturated cut and the demands it cannot carry.

    The queues carrying the dual weight, heaviest first, are cut down to a minimal set that
    separates some demands (the shortest heaviest-first prefix that separates any, then
    reverse deletion keeping the same demands separated): those demands must cross it, so its
    capacity is what they share, and it is reported with that capacity and their rate when the
    rate exceeds it (a cut that proves infeasibility by itself).  Otherwise (the weight is spread
    over no such cut of the graph: a multicommodity bottleneck) the set is all of them, its
    demands are those whose shortest path under the dual lengths crosses it, and the message
    has no capacity and rate (the proof is the dual bound).
    """
    share = weight_q * capacity_q
    heavy = np.flatnonzero(share >= _CUT_SHARE * share.max())
    heavy = heavy[np.argsort(-share[heavy], kind="stable")]
    usable_arc = (capacity_q > 0)[network.arc_queue]

    def separated(queues: np.ndarray) -> np.ndarray:
        removed = np.zeros(network.n_queues, dtype=bool)
        removed[queues] = True
        return unreachable_demands(network, usable_arc & ~removed[network.arc_queue])

    crosses = separated(heavy)
    if crosses.size:
        lo, hi = 1, len(heavy)  # separated() grows with the prefix: the shortest one that separates
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if separated(heavy[:mid]).size else (mid + 1, hi)
        cut = list(heavy[:lo])
        crosses = separated(np.array(cut))
        for q in cut[::-1]:
            rest = np.array([x for x in cut if x != q])
            if rest.size and np.array_equal(separated(rest), crosses):
                cut.remove(q)
        cut_queues = np.array(cut)
        if network.demand_rate[crosses].sum() <= capacity_q[cut_queues].sum():  # no proof by itself
            crosses = np.zeros(0, np.int64)
    proof = bool(crosses.size)
    if not proof:
        cut_queues = heavy
        in_cut = np.zeros(network.n_queues, dtype=bool)
        in_cut[heavy] = True
        forest = shortest_path_forest(graph, arc_weight, network.demand_source)
        indptr, arcs = demand_shortest_paths(forest, network)
        crosses = np.flatnonzero(np.logical_or.reduceat(in_cut[network.arc_queue[arcs]], indptr[:-1])) \
            if len(arcs) else np.zeros(0, np.int64)
    cut_links = list(dict.fromkeys(network.links[network.queue_link[q]].id for q in cut_queues.tolist()))
    demands = [network.demands[k].id for k in crosses.tolist()]
    details = {"reason": "capacity", "max_utilization_lower_bound": lower, "saturated_links": cut_links,
               "demands": demands, "cut_separates": proof}
    capacity_text = rate_text = ""
    if proof:  # the cut's capacity and the rate that must cross it
        details.update(cut_capacity=float(capacity_q[cut_queues].sum()),
                       cut_demand=float(network.demand_rate[crosses].sum()))
        capacity_text = f" (capacity {details['cut_capacity']:.6g} {network.rate_unit})"
        rate_text = f" ({details['cut_demand']:.6g} {network.rate_unit})"
    return InfeasibleError(
        f"{network.name}: infeasible: max utilisation >= {lower:.6g}; saturated links {id_list(cut_links)}"
        f"{capacity_text} cannot carry demands {id_list(demands)}{rate_text}", details)


def find_feasible_flow(network: Network, link_capacity: np.ndarray | None = None,
                       time_limit_s: float | None = None,
                       max_iterations: int = DEFAULT_MAX_ITERATIONS,
                       paths: Routing | None = None) -> FeasibleStart:
    """A routing with ``F_q < C_q`` on every queue, or a proof that none exists.

    Parameters
    ----------
    network : Network
    link_capacity : ndarray, optional
        Capacity per link (rate unit); default the installed capacities.  Links of capacity
        0 carry nothing.
    time_limit_s : float, optional
    max_iterations : int
        Budget of Frank–Wolfe iterations (one all-demand shortest-path computation each).
    paths : Routing, optional
        Paths to start column generation from, skipping Frank–Wolfe (e.g. those of a routing
        near the least max utilisation).

    Returns
    -------
    FeasibleStart
        Its routing has ``U_up < 1``.

    Raises
    ------
    InfeasibleError
        ``U_low ≥ 1``: one line "max utilisation >= U_low; saturated links ... (capacity)
        cannot carry demands ... (rate)", and ``details = {"reason": "capacity",
        "max_utilization_lower_bound", "saturated_links"`` (a minimal cut among the links
        carrying the dual weight), ``"demands"`` (those the cut separates, else those whose
        shortest path under the dual lengths crosses it), ``"cut_separates"}``, and when the cut
        separates demands of more rate than its capacity ``"cut_capacity", "cut_demand"``
        (rate unit, also in the message).  Also
        raised, naming the demand, for a demand with no usable path (``"reason": "unreachable"``).
    TopoOptError
        The master LP did not solve, or ``U*`` equals 1 within the LP's tolerances.

    Notes
    -----
    Each iteration costs one Dijkstra from all demand sources; convergence of Frank–Wolfe is
    sublinear, so after ``max_iterations`` (or ``time_limit_s``) without a decision column
    generation on the exact LP decides (module docstring).
    """
    start = time.perf_counter()
    capacity_q = network.queue_capacity(link_capacity)
    usable_q = capacity_q > 0
    usable_arc = usable_q[network.arc_queue]
    blocked = unreachable_demands(network, usable_arc)
    if blocked.size:
        raise_unreachable(network, blocked, link_capacity)
    graph = ArcGraph.from_network(network)
    if paths is not None:
        deadline = None if time_limit_s is None else start + time_limit_s
        return _column_generation(network, graph, capacity_q, paths, 0, deadline, 0.0, math.inf)
    sources = network.demand_source
    inv_capacity = np.divide(1.0, capacity_q, out=np.full_like(capacity_q, np.inf), where=usable_q)

    # Frank–Wolfe iterates F = Σ_i ω_i V_i are kept as their vertices V_i (one path per demand),
    # the step of each, and their arc flows; paths are only assembled for the answer.
    rate = network.demand_rate
    forest = shortest_path_forest(graph, inv_capacity[network.arc_queue], sources)
    vertices = [demand_shortest_paths(forest, network)]  # start: least Σ 1/C (wide links)
    steps = [1.0]
    arc_flow = _vertex_arc_flow(vertices[0], rate, network.n_arcs)
    log_q = math.log(max(int(usable_q.sum()), 2))
    mu = None
    lower = 0.0
    upper = math.inf
    for iteration in range(1, max_iterations + 1):
        load = network.queue_load(arc_flow)
        u = load[usable_q] / capacity_q[usable_q]
        upper = float(u.max()) if u.size else 0.0
        if upper < 1.0:
            routing = _routing(network, vertices, steps, capacity_q)
            if routing is not None:
                return FeasibleStart(routing, upper, lower, iteration - 1)
        if mu is None:
            mu = log_q / (_INITIAL_SMOOTHING * upper)
        z = mu * u
        softmax = np.exp(z - z.max())
        softmax /= softmax.sum()
        weight_q = np.zeros(network.n_queues)
        weight_q[usable_q] = softmax / capacity_q[usable_q]
        arc_weight = np.where(usable_arc, weight_q[network.arc_queue], np.inf)
        forest = shortest_path_forest(graph, arc_weight, sources)
        bound = float(rate @ demand_distances(forest, network))  # Σ_q w_q C_q = Σ softmax = 1
        if bound >= 1.0:
            raise _infeasible(network, graph, weight_q, capacity_q, arc_weight, bound)
        lower = max(lower, bound)
        vertices.append(demand_shortest_paths(forest, network))
        vertex_flow = _vertex_arc_flow(vertices[-1], rate, network.n_arcs)
        du = (network.queue_load(vertex_flow)[usable_q] - load[usable_q]) / capacity_q[usable_q]
        alpha = _line_search(u, du, mu)
        steps.append(alpha)
        arc_flow = (1.0 - alpha) * arc_flow + alpha * vertex_flow
        if float(softmax @ u) - bound < log_q / mu:  # smooth problem solved to its accuracy
            mu *= 2.0
        if time_limit_s is not None and time.perf_counter() - start > time_limit_s:
            break
    paths, flow = _iterate_paths(network, vertices, steps)
    _, largest = segment_min(paths, -flow, paths.demand_ptr(network.n_demands))
    keep = flow >= _MASTER_SHARE * rate[paths.demand]
    keep[largest] = True
    paths = paths.select(np.flatnonzero(keep))
    deadline = None if time_limit_s is None else start + time_limit_s
    return _column_generation(network, graph, capacity_q, paths, iteration, deadline, lower, upper)


class _Master:
    """The restricted master LP of the module docstring in one HiGHS object, grown by columns.

    Rows: one per queue of positive capacity (Σ_{p∋q} x_p − U·C_q/s ≤ 0), then one per demand
    (Σ_{p∈P_k} x_p = r_k/s), s the largest capacity (LP numbers O(1) whatever the rate unit);
    column 0 is U.  Columns join as paths are priced in (:meth:`add`), so each solve starts from
    the last basis, which stays primal feasible (a new column enters at 0): a few simplex
    iterations where a master solved from scratch each round repeats them all (on giul39's
    pure-cost descent, ~8 rounds a step).  ``column_path`` maps column j + 1 to its path in the
    current (grouped) path set.
    """

    def __init__(self, network: Network, capacity_q: np.ndarray, paths: Routing):
        # the core object (highspy >= 1.7.1): highspy.Highs() prints HiGHS's banner at construction,
        # before output_flag can be set (highspy 1.16)
        import highspy

        self.network, self.usable_q = network, np.flatnonzero(capacity_q > 0)
        self.scale = float(capacity_q.max())
        self.row_of_queue = np.full(network.n_queues, -1, dtype=np.int64)
        self.row_of_queue[self.usable_q] = np.arange(len(self.usable_q))
        self.highs, self.status = highspy._core._Highs(), highspy.HighsModelStatus
        self.highs.setOptionValue("output_flag", False)
        self.cancel = interrupt_callback(self.highs)
        # primal simplex: the last basis stays primal feasible when columns join (dual simplex
        # took ~400 iterations a re-solve on giul39's descent, primal ~50)
        self.highs.setOptionValue("simplex_strategy", 4)
        n_rows, rate = len(self.usable_q), network.demand_rate / self.scale
        self.highs.addRows(n_rows + network.n_demands, np.concatenate([np.full(n_rows, -np.inf), rate]),
                           np.concatenate([np.zeros(n_rows), rate]), 0, np.zeros(0, np.int32),
                           np.zeros(0, np.int32), np.zeros(0))
        self.highs.addCol(1.0, 0.0, np.inf, n_rows, np.arange(n_rows, dtype=np.int32),
                          -capacity_q[self.usable_q] / self.scale)
        self.column_path, self.cold = np.zeros(0, dtype=np.int64), True
        self.add(paths, np.arange(paths.n_paths))

    def add(self, paths: Routing, new: np.ndarray) -> None:
        """Columns for the paths ``new`` (indices into ``paths``, the current set)."""
        import scipy.sparse as sp

        selected = paths.select(new)
        row = self.row_of_queue[self.network.arc_queue[selected.arcs]]
        column = np.repeat(np.arange(len(new)), np.diff(selected.indptr))
        on = row >= 0  # a queue without capacity has no row (the paths avoid it)
        block = sp.csc_matrix((np.ones(int(on.sum())), (row[on], column[on])),
                              shape=(len(self.usable_q), len(new)))  # sums a queue met twice
        block = sp.vstack([block, sp.csc_matrix((np.ones(len(new)), (selected.demand, np.arange(len(new)))),
                                                shape=(self.network.n_demands, len(new)))]).tocsc()
        self.highs.addCols(len(new), np.zeros(len(new)), np.zeros(len(new)), np.full(len(new), np.inf),
                           block.nnz, block.indptr[:-1].astype(np.int32), block.indices.astype(np.int32),
                           block.data)
        self.column_path = np.concatenate([self.column_path, np.asarray(new, np.int64)])

    def grow(self, extended: Routing, label: np.ndarray) -> None:
        """Columns for the paths new in ``extended``, the path set after pricing; ``label``: the
        old paths' labels 1..n carried over to their new positions, 0 on added paths (the
        ``path_flow`` result of :func:`~topo_opt.algorithms.shortest_paths.extend_with_shortest_paths`
        given ``np.arange(1, n + 1)``)."""
        kept = np.flatnonzero(label > 0)
        position = np.empty(len(kept), dtype=np.int64)
        position[label[kept].astype(np.int64) - 1] = kept
        self.column_path = position[self.column_path]
        self.add(extended, np.flatnonzero(label == 0))

    def solve(self, time_limit_s: float, n_paths: int) -> tuple[str, np.ndarray, np.ndarray]:
        """("optimal" | "time limit" | HiGHS's status text, path flows (rate unit, for ``n_paths``
        paths), queue prices w ≥ 0 (usable queues; duals of the capacity rows)).  Ctrl-C stops
        HiGHS (:func:`~topo_opt.algorithms.highs_runs.cancel_on_sigint`) and raises
        ``KeyboardInterrupt`` when it has."""
        highs = self.highs
        highs.setOptionValue("time_limit", time_limit_option(highs, time_limit_s))
        highs.setOptionValue("solver", MASTER_SOLVER if self.cold else "simplex")
        with cancel_on_sigint(self.cancel) as received:
            highs.run()
        if received:
            raise KeyboardInterrupt
        self.cold = False
        status = highs.getModelStatus()
        if status != self.status.kOptimal:
            return ("time limit" if status == self.status.kTimeLimit else highs.modelStatusToString(status),
                    np.zeros(0), np.zeros(0))
        solution = highs.getSolution()
        flow = np.zeros(n_paths)
        flow[self.column_path] = np.maximum(np.asarray(solution.col_value)[1:], 0.0) * self.scale
        price = np.maximum(-np.asarray(solution.row_dual)[:len(self.usable_q)], 0.0)
        return "optimal", flow, price


def _column_generation(network: Network, graph: ArcGraph, capacity_q: np.ndarray, paths: Routing,
                       iterations: int, deadline: float | None, lower: float, upper: float) -> FeasibleStart:
    """Decide ``U* < 1`` exactly by column generation from ``paths`` (module docstring), by
    ``deadline`` (a ``time.perf_counter()`` value) when one is given; ``lower``/``upper``: the
    bracket on ``U*`` so far.  The master (:class:`_Master`) is re-solved warm by the simplex
    method after each pricing round."""
    usable_q = np.flatnonzero(capacity_q > 0)
    rate = network.demand_rate
    master = _Master(network, capacity_q, paths)
    while True:
        remaining = math.inf if deadline is None else deadline - time.perf_counter()
        if remaining <= 0:
            raise TopoOptError(f"{network.name}: feasibility undecided within the time limit: the least max "
                               f"utilisation is in [{lower:.9g}, {upper:.9g}]")
        status, flow, price = master.solve(remaining, paths.n_paths)
        if status == "time limit" and deadline is not None and time.perf_counter() >= deadline:
            continue  # the time limit stopped the master: reported at the top of the loop
        if status != "optimal":
            raise TopoOptError(f"{network.name}: the feasibility LP did not solve: {status}")
        load = network.queue_load(paths.carried_flow(flow, network.n_arcs))
        upper = float(np.max(load[usable_q] / capacity_q[usable_q]))
        if upper < 1.0:
            return FeasibleStart(paths.carrying(flow, network.n_demands), upper, lower, iterations)
        weight_q = np.zeros(network.n_queues)
        weight_q[usable_q] = price
        arc_weight = np.where((capacity_q > 0)[network.arc_queue], weight_q[network.arc_queue], np.inf)
        forest = shortest_path_forest(graph, arc_weight, network.demand_source)
        extended, label, _, distance = extend_with_shortest_paths(
            paths, np.arange(1.0, paths.n_paths + 1), forest, network, arc_weight)
        bound = float(rate @ distance) / float(weight_q @ capacity_q)
        if bound >= 1.0:
            raise _infeasible(network, graph, weight_q, capacity_q, arc_weight, bound)
        lower = max(lower, bound)
        iterations += 1
        if extended is paths:  # no path prices out: U* = U_up >= 1 > U_low up to tolerances
            raise TopoOptError(f"{network.name}: the least max utilisation is 1 within the LP's tolerances "
                               f"([{lower:.9g}, {upper:.9g}]): feasibility cannot be decided in floating point")
        master.grow(extended, label)
        paths = extended


def _vertex_arc_flow(vertex: tuple[np.ndarray, np.ndarray], rate: np.ndarray,
                     n_arcs: int) -> np.ndarray:
    indptr, arcs = vertex
    return np.bincount(arcs, weights=np.repeat(rate, np.diff(indptr)), minlength=n_arcs)


def _iterate_paths(network: Network, vertices: list[tuple[np.ndarray, np.ndarray]],
                   steps: list[float]) -> tuple[Routing, np.ndarray]:
    """The distinct paths of the Frank–Wolfe iterate and their flows (rate unit).

    Vertex ``i`` carries the share ``ω_i = α_i Π_{j>i} (1 − α_j)`` of every demand.
    """
    shares = np.array(steps) * np.append(np.cumprod(1.0 - np.array(steps[:0:-1]))[::-1], 1.0)
    demand = np.tile(np.arange(network.n_demands), len(vertices))
    indptr = np.concatenate([[0], np.cumsum(np.concatenate([np.diff(v[0]) for v in vertices]))])
    arcs = np.concatenate([v[1] for v in vertices])
    flow = np.repeat(shares, network.n_demands) * network.demand_rate[demand]
    return merged_paths(network, demand, indptr, arcs, flow)


def _routing(network: Network, vertices: list[tuple[np.ndarray, np.ndarray]], steps: list[float],
             capacity_q: np.ndarray) -> Routing | None:
    """The routing of the Frank–Wolfe iterate, thinned out while it stays strictly feasible.

    Identical paths are merged (:func:`_iterate_paths`); then paths below a fraction ``τ`` of
    their demand are dropped (the others scaled up) for the largest ``τ`` in ``_PRUNE_FRACTIONS``
    that keeps every queue below capacity, so that a descent started from it has few paths.
    None if rounding broke strict feasibility.
    """
    rate = network.demand_rate
    paths, flow = _iterate_paths(network, vertices, steps)
    _, largest = segment_min(paths, -flow, paths.demand_ptr(network.n_demands))
    for threshold in _PRUNE_FRACTIONS:
        kept = np.where(flow >= threshold * rate[paths.demand], flow, 0.0)
        kept[largest] = flow[largest]
        kept *= (rate / np.bincount(paths.demand, weights=kept, minlength=network.n_demands))[paths.demand]
        load = network.queue_load(paths.carried_flow(kept, network.n_arcs))
        if not np.any((load > 0) & (load >= capacity_q)):
            return paths.carrying(kept, network.n_demands)
    return None


def feasible_start(network: Network, link_capacity: np.ndarray | None, start: Routing | None,
                   time_limit_s: float | None) -> tuple[Routing, np.ndarray]:
    """Paths (grouped by demand) and path flows (rate unit) of a strictly feasible routing to
    start a descent from.

    ``start`` when given; else min-hop over the links of positive capacity when it keeps every
    queue below capacity; else the routing of :func:`find_feasible_flow`.

    Raises
    ------
    InvalidInputError
        ``start`` loads a queue to or beyond its capacity.
    InfeasibleError
        From :func:`find_feasible_flow`.
    """
    capacity_q = network.queue_capacity(link_capacity)
    if start is not None:
        paths = grouped_paths(start, network)
        flow = paths.path_rates(network.demand_rate)
        load = network.queue_load(paths.carried_flow(flow, network.n_arcs))
        over = np.flatnonzero((load > 0) & (load >= capacity_q))
        if over.size:
            q = int(over[0])
            raise InvalidInputError(
                f"start routing: link {network.links[network.queue_link[q]].id!r} carries "
                f"{load[q]:.6g} {network.rate_unit}, not below its capacity {capacity_q[q]:.6g} "
                f"{network.rate_unit}")
        return paths, flow
    usable = (capacity_q > 0)[network.arc_queue]
    forest = shortest_path_forest(ArcGraph.from_network(network), np.where(usable, 1.0, np.inf),
                                  network.demand_source)
    indptr, arcs = demand_shortest_paths(forest, network)
    paths = Routing(np.arange(network.n_demands), np.ones(network.n_demands), indptr, arcs)
    flow = network.demand_rate.copy()
    load = network.queue_load(paths.carried_flow(flow, network.n_arcs))
    if not np.any((load > 0) & (load >= capacity_q)):
        return paths, flow
    found = find_feasible_flow(network, link_capacity, time_limit_s)
    paths = grouped_paths(found.routing, network)
    return paths, paths.path_rates(network.demand_rate)
