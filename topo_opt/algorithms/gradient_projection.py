"""Path-based gradient projection with Newton steps for min-delay routing.

Minimises ``T(F)`` (:class:`~topo_opt.evaluators.delay.DelayObjective`) over splittable
routings.  Each demand ``k`` keeps a set of paths ``P_k`` with flows ``x_p ≥ 0``,
``Σ_{p∈P_k} x_p = r_k``; arc flows are ``F = Mᵀx`` (``M`` the path–arc matrix).

**Projection step** (Bertsekas and Gallager, *Data Networks* §5.7).  One path ``b_k`` of each
demand (the one carrying most flow) absorbs the changes of the others, so the free variables
are the flows ``y_p`` of the other paths, with reduced gradient and diagonal curvature

    ĝ_p = d_p − d_{b_k},   d_p = Σ_{a∈p} ∂T/∂F_a      (first-derivative path lengths)
    D_p = Σ_{a ∈ p Δ b_k} ∂²T/∂F_a²                   (arcs on exactly one of p, b_k).

The diagonally scaled step ``y_p ← max(0, y_p − ĝ_p/D_p)`` is the method of the book.  Since all
demands move at once and share arcs, the step here is a projected Newton step instead
(Bertsekas and Gafni 1983): paths the diagonal step would empty (``y_p ≤ ĝ_p/D_p``, ``ĝ_p > 0``)
are emptied, the others solve

    (B diag(T'') Bᵀ + λ diag(D)) Δy = −ĝ      (B = rows e_p − e_{b_k}, paths × arcs)

by preconditioned conjugate gradients (inexact Newton), where ``λ`` (Levenberg–Marquardt)
keeps the system definite although different path combinations can give the same arc flows;
``λ`` grows after short steps and shrinks after two full steps in a row.  Free paths the solution would turn
negative are emptied too and the system is solved again (``ACTIVE_SET_ROUNDS``), starting from
the previous solution on the paths still free: the two systems differ only by those paths
(conjugate-gradient iterations per solve, against starting from zero: 3,022 → 1,727 on
planar80, 4,384 → 1,989 on planar150; the iterates change, and on a few small networks the
count rises, e.g. geant 811 → 1,831).  The step is
projected (``y ≥ 0``; a demand whose ``b_k`` would go negative is scaled back, and the next step
takes the fullest paths as basic again) and its length comes from an exact line search on ``T``.

**Near capacity** (demands at 99.9 % of the maximum concurrent flow: the cut links keep a slack
of 0.1 % of their capacity whatever the routing) the quadratic model is trusted only over short
steps.  Shrinking ``λ`` after every full step made the solver cycle: full step, ``λ/4``, a
direction bent onto a cut link that the line search cuts to ~1e-3..1e-5, ``λ·4``, full step
again (nobel-germany and germany50 at 99.9 %: gap 3e-3 after 120 s; abilene at 99.99 %: 1.5e-3
after 300 iterations).  A demand whose basic path runs dry keeps being scaled back, bending the
direction too, while that path stays basic.  With both rules above, nobel-germany certifies
1e-6 in 18 iterations (0.36 s), germany50 in 0.44 s (benchmarks/BENCHMARKS.md, near capacity).  If the projected Newton direction does not descend,
the diagonal step is used.  Capacities within rounding of the flows (a continuous design at a
huge T_max leaves slacks of ~1e-15 C) make the computed slacks meaningless: an iterate at
capacity by rounding takes no Newton step (its curvatures turned negative and the
preconditioner overflowed), the line search treats such points as beyond capacity, and the
method stops with its best iterate (``details["rounding_limit"]``) when the exact arc flows
of an iterate reach a capacity.  Jacobi sweeps of the plain diagonal step all along were measured
first: with all demands moving at once the line search cuts them to 10–20 % and the gap
stalls near 1e-2 on planar30, where the Newton steps reach 1e-6 in about ten iterations.

**Column generation and certificate.**  Each outer iteration runs one Dijkstra from all demand
sources on the lengths ``∇T(F)``, adds every demand's shortest path to its set when it is
shorter than all of its paths, evaluates the Frank–Wolfe bound
``LB = T + Σ_k r_k dist_k − ∇T·F`` (:mod:`topo_opt.algorithms.flow_deviation`) and drops paths
left without flow.  Between two of them, Newton steps on the fixed path sets run until the
restricted gap ``∇T·F − Σ_k r_k min_{p∈P_k} d_p`` is below a fraction of the last global gap.

References: D. Bertsekas, R. Gallager, *Data Networks*, 2nd ed., Prentice Hall 1992, §5.7;
D. Bertsekas, E. Gafni, *Projected Newton methods and optimization of multicommodity flows*,
IEEE Trans. Automatic Control 28 (1983) 1090–1096.
"""
from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

import numpy as np

from topo_opt.algorithms.flow_deviation import (
    Callback, CertifiedProgress, delay_line_search, frank_wolfe_bound,
)
from topo_opt.algorithms.max_concurrent_flow import feasible_start
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, extend_with_shortest_paths, segment_min, shortest_path_forest,
)
from topo_opt.errors import InvalidInputError, SolveInterrupted
from topo_opt.model.design import Routing, gather_rows
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status

if TYPE_CHECKING:  # scipy.sparse costs ~0.2 s of start-up: imported where a large B is built
    import scipy.sparse as sp

INNER_GAP_FRACTION = 0.5   # Newton steps stop when the restricted gap is below this × global gap
MAX_INNER_STEPS = 20       # Newton steps per column generation
MAX_CG_ITERATIONS = 100
ACTIVE_SET_ROUNDS = 2      # Newton solves per step when free paths would turn negative
INITIAL_REGULARISATION = 1e-2
# Cost of one conjugate-gradient product B diag(T'') Bᵀ s, in entries of a dense B: ~0.34 ns per
# entry dense, ~3.9 ns per stored entry plus ~8 µs sparse (numpy 2.4 / scipy 1.17, one thread).
# B (free paths × arcs) is dense when entries ≤ SPARSE_COST_PER_NONZERO · nnz + SPARSE_COST_PER_CALL.
# Paths have tens of arcs out of hundreds, so B is mostly sparse: the former rule (dense up to
# 250,000 entries) took ~45 % more conjugate-gradient time on planar80.
SPARSE_COST_PER_NONZERO = 12
SPARSE_COST_PER_CALL = 24_000
# Importing scipy.sparse costs ~0.11–0.2 s of CPU once per process (scipy 1.17), as much as
# 6–9e8 entries of dense products (0.17–0.34 ns each, measured in the same processes).  While
# scipy is not loaded, a B of up to DENSE_WITHOUT_SCIPY_MAX_ENTRIES entries stays dense although
# the rule above would make it sparse, until the extra cost of those dense products
# (``_NewtonSolver.dense_rent``) reaches the import's: rent until the rent paid reaches the price,
# then buy (the ski-rental rule; the choice is made again whenever B is rebuilt, at least once
# per column generation).  germany50 (50 nodes, B up to 1,002 × 176) pays 3–5e7 and never imports scipy;
# large networks load scipy for their shortest paths first, so this never applies to them.
# The cap: above 460,800 entries OpenBLAS (0.3.31, numpy 2.4's) runs a matrix–vector product on
# all cores, which cost 15–17 ns per entry of CPU instead of 0.26 on the loaded 2-core machine
# of benchmarks/BENCHMARKS.md (*Start-up of a 50-node solve*).
SCIPY_IMPORT_COST = 600_000_000   # in entries of dense products
DENSE_WITHOUT_SCIPY_MAX_ENTRIES = 400_000
FULL_B_PRODUCTS_PER_STEP = 4      # B g, |B| T'', B[free], Bᵀ step: the products of a step outside CG


def _dense_excess(n_rows: int, n_cols: int, nnz: int) -> int:
    """Extra cost of a product with a matrix of ``nnz`` stored entries done dense rather than
    sparse, in entries of dense products (``SPARSE_COST_*``; ≤ 0 when dense is cheaper)."""
    return n_rows * n_cols - (SPARSE_COST_PER_NONZERO * nnz + SPARSE_COST_PER_CALL)


def _reduced_incidence(paths: Routing, basic: np.ndarray, n_arcs: int,
                       dense_rent: int) -> tuple[np.ndarray | sp.csr_matrix, int]:
    """B = M − M[b_k(p)] (paths × arcs) of ``paths`` grouped by demand, ``basic[k]`` the basic
    path of demand ``k``, and the extra cost of each of its products (0 when sparse).

    A dense array when its products are cheaper so (up to the ``M``-entries of both terms,
    ``SPARSE_COST_*``) or when scipy is not loaded, B has at most
    ``DENSE_WITHOUT_SCIPY_MAX_ENTRIES`` entries and the ``dense_rent`` paid so far is below
    ``SCIPY_IMPORT_COST``; else a scipy CSR matrix.  scipy.sparse is imported only then: it
    costs more start-up than a whole solve of a network of up to ~50 nodes."""
    basic_of = basic[paths.demand]
    lengths = np.diff(paths.indptr)
    excess = _dense_excess(paths.n_paths, n_arcs, int(lengths.sum() + lengths[basic_of].sum()))
    if excess <= 0 or ("scipy.sparse" not in sys.modules and dense_rent < SCIPY_IMPORT_COST
                       and paths.n_paths * n_arcs <= DENSE_WITHOUT_SCIPY_MAX_ENTRIES):
        m = np.zeros((paths.n_paths, n_arcs))
        m[np.repeat(np.arange(paths.n_paths), lengths), paths.arcs] = 1.0
        return m - m[basic_of], max(excess, 0)
    m = paths.incidence(n_arcs)
    b = (m - m[basic_of]).tocsr()
    b.eliminate_zeros()
    return b, 0


class _NewtonSolver:
    """Projected Newton steps on a fixed path set (see the module docstring)."""

    def __init__(self, objective: DelayObjective):
        self.objective = objective
        self.regularisation = INITIAL_REGULARISATION
        self.cg_iterations = 0
        self._last_beta = 1.0  # line-search step of the last Newton step
        self._paths: Routing | None = None
        self.dense_rent = 0  # extra cost of the dense products done while scipy was not loaded

    def _prepare(self, paths: Routing, flow: np.ndarray) -> None:
        """For a new path set: basic paths b_k (most flow) and B = M − M[b_k(p)].

        Rows of basic paths are empty.
        """
        if self._paths is paths:
            return
        n_demands = self.objective.network.n_demands
        self.demand_ptr = paths.demand_ptr(n_demands)
        _, self.basic = segment_min(paths, -flow, self.demand_ptr)
        self._b, self._excess = _reduced_incidence(paths, self.basic, self.objective.network.n_arcs,
                                                   self.dense_rent)
        self._abs_b = abs(self._b)
        self.nonbasic = np.ones(paths.n_paths, dtype=bool)
        self.nonbasic[self.basic] = False
        self.basic_indptr, self.basic_arcs = gather_rows(paths.indptr, paths.arcs, self.basic)
        self._paths = paths

    def step(self, paths: Routing, flow: np.ndarray, arc_flow: np.ndarray,
             forcing: float) -> tuple[np.ndarray, np.ndarray, float]:
        """One projected Newton step; returns new path flows, arc flows, restricted gap."""
        objective = self.objective
        network = objective.network
        load = network.queue_load(arc_flow)
        if np.any((load > 0) & (load >= objective.queue_capacity)):
            return flow, arc_flow, 0.0  # at capacity by rounding: no curvature to trust, no step
        self._prepare(paths, flow)
        self.dense_rent += FULL_B_PRODUCTS_PER_STEP * self._excess
        gradient = objective.arc_gradient(arc_flow)
        curvature = objective.queue_second_derivative(arc_flow)[network.arc_queue]
        reduced = self._b @ gradient  # d_p − d_{b_k}
        basic_length = np.add.reduceat(gradient[self.basic_arcs], self.basic_indptr[:-1])
        least = basic_length + np.minimum(np.minimum.reduceat(reduced, self.demand_ptr[:-1]), 0.0)
        restricted_gap = float(gradient @ arc_flow) - float(network.demand_rate @ least)
        diagonal = np.maximum(self._abs_b @ curvature, np.finfo(float).tiny)
        emptied = self.nonbasic & (reduced > 0) & (flow * diagonal <= reduced)
        move = np.zeros(paths.n_paths)
        for _ in range(ACTIVE_SET_ROUNDS):
            free = np.flatnonzero(self.nonbasic & ~emptied)
            guess = move[free]  # the last round's solution on the paths still free
            move = np.where(emptied, -flow, 0.0)
            b_free = self._b[free]
            rhs = -reduced[free]
            if np.any(emptied):
                rhs -= b_free @ (curvature * (self._b.T @ move))
            move[free] = self._conjugate_gradients(b_free, curvature, diagonal[free], rhs, forcing, guess)
            hits = np.zeros(paths.n_paths, dtype=bool)
            hits[free] = flow[free] + move[free] < 0
            if not hits.any():
                break
            emptied |= hits  # these paths empty: solve again for the others
        direction, arc_direction = self._projected(paths, flow, move, gradient)
        if direction is None:  # not a descent direction: the diagonally scaled step
            free = self.nonbasic & ~emptied
            move[free] = -reduced[free] / diagonal[free]
            direction, arc_direction = self._projected(paths, flow, move, gradient)
            self.regularisation = min(self.regularisation * 4.0, 1e10)
        if direction is None:
            return flow, arc_flow, restricted_gap
        beta = delay_line_search(objective, arc_flow, arc_direction)
        if beta >= 0.9 and self._last_beta >= 0.9:
            self.regularisation = max(self.regularisation / 4.0, 1e-10)
        elif beta < 0.3:
            self.regularisation = min(self.regularisation * 4.0, 1e10)
        self._last_beta = beta
        flow = np.maximum(flow + beta * direction, 0.0)
        return flow, arc_flow + beta * arc_direction, restricted_gap

    def _conjugate_gradients(self, b: np.ndarray | sp.csr_matrix, curvature: np.ndarray, diagonal: np.ndarray,
                             rhs: np.ndarray, forcing: float, guess: np.ndarray) -> np.ndarray:
        """Solve (B diag(T'') Bᵀ + λ diag(D)) Δ = rhs for the rows ``b`` of the free paths.

        Preconditioned conjugate gradients from ``guess`` with the preconditioner (1 + λ) D;
        stops when ‖residual‖ ≤ ``forcing`` ‖rhs‖ (inexact Newton) or after MAX_CG_ITERATIONS.
        ``b`` is multiplied as a dense array when that is cheaper (``SPARSE_COST_*``); a dense
        ``b`` kept without scipy adds B's extra cost per product to ``dense_rent`` (B's, taken
        for its rows of free paths: larger, as the basic rows are empty).
        """
        if not isinstance(b, np.ndarray) and _dense_excess(*b.shape, b.nnz) <= 0:
            b = b.toarray()
        # Bᵀ as a view (CSC when sparse), not converted per solve: the conversion was 6 % of
        # planar1000; below ~1M stored entries a product through the view is up to ~25 % slower,
        # which the saved conversion repays within ~25–80 iterations.
        bt = b.T
        lam = self.regularisation
        inverse = 1.0 / ((1.0 + lam) * diagonal)
        damping = lam * diagonal
        solution = guess.copy()
        residual = rhs - (b @ (curvature * (bt @ guess)) + damping * guess) if guess.any() else rhs.copy()
        z = inverse * residual
        search = z.copy()
        rz = float(residual @ z)
        tolerance = forcing ** 2 * float(rhs @ rhs)
        for _ in range(MAX_CG_ITERATIONS):
            if rz <= 0:
                break
            product = b @ (curvature * (bt @ search)) + damping * search
            alpha = rz / float(search @ product)
            solution += alpha * search
            residual -= alpha * product
            self.cg_iterations += 1
            self.dense_rent += 2 * self._excess
            if float(residual @ residual) <= tolerance:
                break
            z = inverse * residual
            rz_new = float(residual @ z)
            search = z + (rz_new / rz) * search
            rz = rz_new
        return solution

    def _projected(self, paths: Routing, flow: np.ndarray, move: np.ndarray,
                   gradient: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Feasible direction towards the projection of ``flow + move`` (None if not descent).

        Non-basic flows are clipped at 0; the basic path takes the opposite of the others'
        change, and a demand whose basic flow would go negative has its step scaled down.
        """
        step = np.where(self.nonbasic, np.maximum(flow + move, 0.0) - flow, 0.0)
        total = np.bincount(paths.demand, weights=step, minlength=len(self.basic))
        available = flow[self.basic]
        shrink = np.ones(len(self.basic))
        over = total > available
        shrink[over] = available[over] / total[over]
        if over.any():  # those basic paths run dry: the next step picks the fullest paths again
            self._paths = None
        step *= shrink[paths.demand]
        step[self.basic] = -shrink * total
        arc_step = self._b.T @ step
        if not float(gradient @ arc_step) < 0:
            return None, None
        return step, arc_step


def solve_min_delay_gp(network: Network, *, link_capacity: np.ndarray | None = None,
                       gap: float = 1e-6, time_limit_s: float | None = None,
                       max_iterations: int | None = None, include_fixed_delay: bool = True,
                       start: Routing | None = None, callback: Callback | None = None,
                       stall_iterations: int | None = None, threshold: float | None = None) -> SolveResult:
    """Min-delay routing by path-based gradient projection, with a certified gap.

    Parameters
    ----------
    network : Network
    link_capacity : ndarray, optional
        Capacity per link (rate unit); default the installed capacities.
    gap : float
        Stop when the certified relative gap ``(T − LB)/T`` is at most this.
    time_limit_s : float, optional
    max_iterations : int, optional
        Limit on outer iterations (all-demand shortest-path computations).
    include_fixed_delay : bool
        Add propagation and processing delays to T.
    start : Routing, optional
        A strictly feasible routing to start from; default min-hop when it is strictly
        feasible, else the routing of :func:`~topo_opt.algorithms.max_concurrent_flow.find_feasible_flow`.
    callback : callable, optional
        Called with each history record (iteration, time_s, objective, lower_bound, gap).
    stall_iterations : int, optional
        Stop with ``ITERATION_LIMIT`` and ``details["stalled"]`` when the gap fell less than
        2× over this many outer iterations (so that a caller can hand over).
    threshold : float, optional
        Decide "min T ≤ threshold?" (s): stop with ``FEASIBLE`` and ``details["decision"]``
        ``"meets"`` at the first iterate with T ≤ threshold (returned: the witness) or
        ``"misses"`` once the certified lower bound exceeds it; the gap still stops the method
        first (:class:`~topo_opt.algorithms.flow_deviation.CertifiedProgress`).

    Returns
    -------
    SolveResult
        ``method = "gradient-projection"``, ``objective_name = "average_delay_s"``;
        ``details`` has ``n_paths``, ``n_shortest_path_calls``, ``n_newton_steps``,
        ``n_cg_iterations`` and ``lower_bound_source``.

    Raises
    ------
    InfeasibleError
        No routing keeps every queue below capacity, or a demand has no path.
    InvalidInputError
        No demands, a link has zero capacity, or ``start`` is not strictly feasible.
    """
    if network.n_demands == 0:
        raise InvalidInputError(f"instance {network.name!r} has no demands to route")
    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback, stall_iterations=stall_iterations,
                                 threshold=threshold)
    objective = DelayObjective.for_network(network, link_capacity, include_fixed_delay)
    objective.require_positive_capacity()
    paths, flow = feasible_start(network, link_capacity, start, time_limit_s)
    graph = ArcGraph.from_network(network)
    rate = network.demand_rate
    solver = _NewtonSolver(objective)
    newton_steps = iteration = 0
    kept = None  # (paths, flow, T) of the best iterate whose bound was computed
    rounding_limit = False
    try:
        while True:
            iteration += 1
            arc_flow = paths.carried_flow(flow, network.n_arcs)  # exact, without the drift of incremental updates
            value = objective.value(arc_flow)
            if not math.isfinite(value):  # the last steps reached capacity by rounding: the best iterate
                status = Status.ITERATION_LIMIT
                rounding_limit = True
                break
            gradient = objective.arc_gradient(arc_flow)
            forest = shortest_path_forest(graph, gradient, network.demand_source)
            paths, flow, _, distance = extend_with_shortest_paths(paths, flow, forest, network, gradient,
                                                                  drop_empty=True)
            status = progress.update(iteration, value,
                                     frank_wolfe_bound(value, gradient, arc_flow, distance, rate))
            if kept is None or value <= kept[2]:  # rounding near capacity can raise T (see the docstring)
                kept = (paths, flow, value)
            if status is not None:
                break
            global_gap = value - progress.lower_bound
            forcing = min(0.1, math.sqrt(global_gap / value))
            for _ in range(MAX_INNER_STEPS):
                flow, arc_flow, restricted_gap = solver.step(paths, flow, arc_flow, forcing)
                newton_steps += 1
                if restricted_gap <= INNER_GAP_FRACTION * global_gap or progress.out_of_time():
                    break
    except KeyboardInterrupt:
        if kept is None:
            raise
        status = Status.INTERRUPTED
    paths, flow, _ = kept
    routing = paths.carrying(flow, network.n_demands)
    # T of the answer's fractions: at capacities within rounding of the flows it differs from
    # T of the path flows by far more than rounding (abilene at 1e-15 slack: 0.4 %)
    value = objective.value(routing.arc_flow(network.demand_rate, network.n_arcs))
    result = progress.result(status, "gradient-projection", network, link_capacity, routing, value,
                             {"n_paths": routing.n_paths, "n_shortest_path_calls": iteration,
                              "n_newton_steps": newton_steps,
                              "n_cg_iterations": solver.cg_iterations,
                              **({"rounding_limit": True} if rounding_limit else {})})
    if rounding_limit:
        result.message = ("stopped at the rounding limit: a queue's slack fell below the rounding of its load "
                          "(capacities within ~1e-15 of the flows); the best iterate")
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result
