"""Primal–dual interior-point (barrier) Newton method for min-delay routing on arc flows.

Minimises ``T(F)`` (:class:`~topo_opt.evaluators.delay.DelayObjective`) over the
source-aggregated arc formulation (Bertsekas and Gallager, *Data Networks* §5.4): one flow
``x_s`` per demand source ``s`` over all arcs,

    min T(F)   s.t.   A x_s = b_s,  x_s ≥ 0,   F = Σ_s x_s,  F_q < C_q,

``A`` the node–arc incidence, ``b_s`` the supply of ``s`` (``+Σ r_k`` at ``s``, ``−r_k`` at each
target).  Where the path methods move one demand (path equilibration) or a diagonally scaled
projection (gradient projection) at a time and jam on a nearly full cut (demands at 99.9 % of the
maximum concurrent flow: swaps of flow across the cut that leave its loads unchanged), a Newton
step on all flows at once moves the coupled flows together.

**Newton step.**  With duals ``y_s`` (node potentials, node 0 grounded) and ``z ≥ 0`` (of
``x ≥ 0``), the perturbed optimality conditions ``∇T − Aᵀy − z = 0``, ``A x = b``,
``x z = σμ`` give, after eliminating ``Δz``, per source

    (D_s + Jᵀ W J) Δx − Aᵀ Δy_s = r1_s,   A Δx_s = r2_s,       D_s = diag(z_s/x_s),

with ``W = diag(∂²T/∂F_q²)`` and ``J`` summing the sources' arc flows into queue loads.  The
sources are coupled only through the loads: with ``u = W J Δx``,

    Δy_s = L_s⁻¹ (r2_s − A D_s⁻¹ (r1_s − Qᵀu)),   L_s = A D_s⁻¹ Aᵀ  (a weighted Laplacian, order n − 1)
    Δx_s = D_s⁻¹ (r1_s − Qᵀu + Aᵀ Δy_s)
    (W⁻¹ + Q M Qᵀ) u = Q Σ_s Δx_s|_{u=0},   M = Σ_s P_s,  P_s = D_s⁻¹ − D_s⁻¹Aᵀ L_s⁻¹ A D_s⁻¹,

a Schur complement of order n_queues.  Each ``L_s`` is factored densely (Cholesky, all sources
at once); ``L_s = C_s C_sᵀ`` gives ``D_s⁻¹Aᵀ L_s⁻¹ A D_s⁻¹ = G_sᵀG_s`` with
``G_s = C_s⁻¹ A D_s⁻¹``, whose column for arc ``a`` is ``(C_s⁻¹[:, tail] − C_s⁻¹[:, head]) / d_sa``
(a gather, not a product), so ``M`` is one symmetric rank-k update of the stacked ``G``.  A step costs
``O(S n³ + S n m²)`` for ``S`` sources, ``n`` nodes, ``m`` arcs (memory ``S n m``): see
``MAX_SCHUR_ORDER`` and ``MAX_STACKED_ENTRIES``.

*Near capacity* ``W`` on the cut is ~1e10 (scaled), ``u`` and ``Δy`` are huge and ``Δx`` is a small
difference of huge terms.  Three things keep the steps usable: with one queue per arc the Schur
system is written in the basis [cycle space ``Z``, ``Aᵀ``], where the potential directions
(which every ``P_s`` annihilates) have the exact columns ``W⁻¹Aᵀ`` instead of ``M``'s rounding;
one round of iterative refinement; and ``CONSERVATION_ROUNDS`` least-``D``-norm corrections
``D⁻¹Aᵀ L_s⁻¹(b − A x)``, so every iterate conserves flow to rounding.  A factor that loses
definiteness, stagnating steps or an imbalance above ``MAX_IMBALANCE`` stop the method at its
*numerical limit*; gradient projection then polishes from the best iterate's paths in the time left.

Mehrotra's predictor–corrector picks ``σ``, with up to ``CENTRALITY_CORRECTORS`` of Gondzio's
centrality correctors (same factors); the primal step stops short of the boundary (``x > 0``,
``F < C``) by ``BOUNDARY_FRACTION`` and backtracks on the barrier merit ``T − σμ Σ log x``
(Armijo), the dual step on ``z > 0`` separately.

**Start.**  A strictly feasible routing (``start``, else
:func:`~topo_opt.algorithms.max_concurrent_flow.feasible_start`) made interior: each source
sends a small circulation around every link's two arcs (a fraction ``START_SLACK_SHARE`` of the
link's slack, shared by the sources), so every ``x_sa > 0`` and still ``F < C``.  The duals are
shortest-path potentials on ``∇T`` (reduced costs ``c̄ ≥ 0``) and ``z = c̄ + μ₀/x``.

**Certificate.**  The interior point's own dual is not reported as a bound.  At every iterate
the Frank–Wolfe bound of :mod:`topo_opt.algorithms.flow_deviation` is evaluated at
``F = Σ_s x_s`` (one Dijkstra from every source on ``∇T(F)``); the best iterate's flows are
turned into paths by :func:`~topo_opt.algorithms.flow_decomposition.decompose_source_flows`
and ``T`` is evaluated at the routing's own arc flows.

References: S. Mehrotra, *On the implementation of a primal–dual interior point method*, SIAM J.
Optimization 2 (1992) 575–601; J. Gondzio, *Multiple centrality corrections in a primal–dual
method for linear programming*, Computational Optimization and Applications 6 (1996) 137–156;
J. Nocedal, S. Wright, *Numerical Optimization*, 2nd ed.,
Springer 2006, §14.2 and §19; A. Wächter, L. T. Biegler, *On the implementation of an
interior-point filter line-search algorithm (Ipopt)*, Math. Programming 106 (2006) 25–57.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from topo_opt.algorithms.flow_decomposition import (
    decompose_source_flows,
    routing_source_flows,
)
from topo_opt.algorithms.flow_deviation import (
    Callback,
    CertifiedProgress,
    frank_wolfe_bound,
)
from topo_opt.algorithms.max_concurrent_flow import feasible_start
from topo_opt.algorithms.shortest_paths import (
    ArcGraph,
    demand_distances,
    shortest_path_forest,
)
from topo_opt.errors import InvalidInputError, SolveInterrupted
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.model.design import Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status, relative_gap

BOUNDARY_FRACTION = 0.995   # steps go this fraction of the way to x = 0, z = 0 or F = C
START_SLACK_SHARE = 0.1     # share of a link's slack the start's circulations take
MAX_IMBALANCE = 1e-12       # largest |A x − b| (relative to the largest supply) an iterate may keep
REFINEMENTS = 1             # iterative-refinement rounds per Newton solve
CONSERVATION_ROUNDS = 3     # least-D-norm corrections of A Δx = r2 per Newton solve
ARMIJO = 1e-4              # sufficient decrease of the barrier merit along the primal step
CENTRALITY_CORRECTORS = 2   # Gondzio correctors per step at most (0 → 2: 88 → 69 steps on gabriel/100
                            # at 99.9 %, 4: 71)
MIN_STEP = 1e-10            # primal and dual steps both shorter: numerical limit
MIN_CENTERING = 1e-3        # σ never below this (Mehrotra's (μ_aff/μ)³ can reach 0)
#: Where the path methods hand a jammed iterate over: a queue loaded to this or more.
NEAR_CAPACITY_UTILIZATION = 0.99
#: Largest Schur complement (queues) and stacked factor G (sources × nodes × arcs) the method
#: takes: the Schur matrix is ~128 MB at 4,000 queues; G and the two gathers that build it peak at
#: ~3 × 8 bytes per entry, ~0.5 GB at the limit (planar150: 1.9e7 entries, several CPU s a step);
#: gabriel/100 has 372 queues and 3.7e6 entries.
MAX_SCHUR_ORDER = 4000
MAX_STACKED_ENTRIES = 20_000_000


def barrier_size_fits(network: Network) -> bool:
    """True when the Newton system of ``network`` fits ``MAX_SCHUR_ORDER``/``MAX_STACKED_ENTRIES``
    and its arcs pair up with reverse arcs (:func:`reverse_arcs`, the interior start's circulations)."""
    sources = np.unique(network.demand_source).size
    return (network.n_queues <= MAX_SCHUR_ORDER and sources * network.n_nodes * network.n_arcs <= MAX_STACKED_ENTRIES
            and reverse_arcs(network) is not None)


def takes_over(network: Network, routing: Routing, link_capacity: np.ndarray | None = None) -> bool:
    """Whether the barrier method finishes from ``routing`` (a path method's jammed or stalled
    iterate): it loads a queue to ``NEAR_CAPACITY_UTILIZATION`` or more of ``link_capacity``
    (default installed), where swaps across a nearly full cut jam the path methods, and the
    network fits (:func:`barrier_size_fits`)."""
    load = network.queue_load(routing.arc_flow(network.demand_rate, network.n_arcs))
    return bool(np.max(load / network.queue_capacity(link_capacity)) >= NEAR_CAPACITY_UTILIZATION) \
        and barrier_size_fits(network)


def reverse_arcs(network: Network) -> np.ndarray | None:
    """A pairing of every arc ``u → v`` with an arc ``v → u`` (an involution), or None when the arcs
    of some node pair do not pair up (e.g. a one-way directed link).  Duplex and undirected links
    pair their own two arcs; directed links pair with a link the other way (CommaLab)."""
    key = np.minimum(network.arc_tail, network.arc_head) * network.n_nodes \
        + np.maximum(network.arc_tail, network.arc_head)
    forward = network.arc_tail < network.arc_head
    order = np.lexsort((~forward, key))  # per node pair: its forward arcs, then its backward arcs
    _, start, count = np.unique(key[order], return_index=True, return_counts=True)
    forwards = np.add.reduceat(forward[order].astype(np.int64), start)
    if np.any(2 * forwards != count) or np.any(network.arc_tail == network.arc_head):
        return None
    reverse = np.empty(network.n_arcs, dtype=np.int64)
    first = np.repeat(start, count)
    rank = np.arange(network.n_arcs) - first  # position inside the node pair's block
    half = np.repeat(forwards, count)
    partner = np.where(rank < half, rank + half, rank - half) + first
    reverse[order] = order[partner]
    return reverse


@dataclass(frozen=True)
class _Arcs:
    """The node–arc incidence ``A`` applied to every source's row at once (node 0 grounded)."""

    tail: np.ndarray
    head: np.ndarray
    queue: np.ndarray
    n_nodes: int
    #: with one queue per arc: an orthonormal basis Z of the cycle space null(A) (arcs × cycles)
    #: and Aᵀ itself (arcs × nodes − 1), else None
    cycles: np.ndarray | None = None
    potentials: np.ndarray | None = None

    @classmethod
    def of(cls, network: Network) -> _Arcs:
        tail, head, queue = network.arc_tail, network.arc_head, network.arc_queue
        if network.n_queues < network.n_arcs:  # undirected links: two arcs per queue
            return cls(tail, head, queue, network.n_nodes)
        potentials = network.node_arc_incidence[1:].T.toarray()
        basis, _ = np.linalg.qr(potentials, mode="complete")
        rank = np.linalg.matrix_rank(potentials)
        return cls(tail, head, queue, network.n_nodes, basis[:, rank:], potentials)

    def incidence_times(self, v: np.ndarray) -> np.ndarray:
        """A v_s for every row ``v_s`` (result ``(S, n)``)."""
        base = (np.arange(v.shape[0]) * self.n_nodes)[:, None]
        size = v.shape[0] * self.n_nodes
        return (np.bincount((base + self.tail).ravel(), v.ravel(), size)
                - np.bincount((base + self.head).ravel(), v.ravel(), size)).reshape(v.shape[0], self.n_nodes)

    def transpose_times(self, y: np.ndarray) -> np.ndarray:
        """Aᵀ y_s for every row ``y_s`` (potentials per node)."""
        return y[:, self.tail] - y[:, self.head]


class _NewtonSystem:
    """The factored Newton system at one iterate (see the module docstring)."""

    def __init__(self, arcs: _Arcs, dinv: np.ndarray, curvature: np.ndarray):
        n_sources, n_arcs = dinv.shape
        n = arcs.n_nodes
        self.arcs, self.dinv = arcs, dinv
        base = (np.arange(n_sources) * n * n)[:, None]
        index = np.concatenate([base + arcs.tail * (n + 1), base + arcs.head * (n + 1),
                                base + arcs.tail * n + arcs.head, base + arcs.head * n + arcs.tail], axis=1)
        laplacian = np.bincount(index.ravel(), np.concatenate([dinv, dinv, -dinv, -dinv], axis=1).ravel(),
                                n_sources * n * n).reshape(n_sources, n, n)
        inverse = np.zeros((n_sources, n - 1, n))  # C_s⁻¹ with a zero column for node 0
        inverse[:, :, 1:] = np.linalg.inv(np.linalg.cholesky(laplacian[:, 1:, 1:]))
        self.inverse = inverse
        stacked = (inverse[:, :, arcs.tail] - inverse[:, :, arcs.head]) * dinv[:, None, :]  # G_s
        gram = sla.blas.dsyrk(1.0, stacked.reshape(-1, n_arcs).T, trans=0, lower=False)  # Σ G_sᵀG_s
        m_arcs = -np.triu(gram) - np.triu(gram, 1).T
        m_arcs[np.diag_indices(n_arcs)] += dinv.sum(axis=0)
        n_queues = curvature.size
        self.n_queues, self.curvature = n_queues, curvature
        if arcs.cycles is not None:
            # K = W⁻¹ + M in the basis [Z, Aᵀ]: M Aᵀ = 0 exactly, so the columns of the potential
            # directions are W⁻¹Aᵀ, free of M's rounding (M's entries grow like x²/μ while W⁻¹ of a
            # queue at 0.999 is ~1e-9: that rounding broke conservation near capacity)
            self.lu = sla.lu_factor(np.hstack([m_arcs @ arcs.cycles + arcs.cycles / curvature[:, None],
                                               arcs.potentials / curvature[:, None]]), check_finite=False)
            return
        schur = np.zeros((n_queues, n_queues))
        np.add.at(schur, (arcs.queue[:, None], arcs.queue[None, :]), m_arcs)
        schur[np.diag_indices(n_queues)] += 1.0 / curvature
        self.schur = sla.cho_factor(schur, lower=True, check_finite=False)

    def _coupling(self, load: np.ndarray) -> np.ndarray:
        """``Qᵀu`` per arc from ``(W⁻¹ + QMQᵀ) u = load``; with one queue per arc only its part
        outside the potential directions, the part the per-source solves see (P_s Aᵀ = 0)."""
        if self.arcs.cycles is None:
            return sla.cho_solve(self.schur, load, check_finite=False)[self.arcs.queue]
        coefficients = sla.lu_solve(self.lu, load, check_finite=False)
        return self.arcs.cycles @ coefficients[:self.arcs.cycles.shape[1]]

    def _laplacian_solve(self, rhs: np.ndarray) -> np.ndarray:
        """L_s⁻¹ rhs_s per row (entry 0 of rhs ignored, result 0 at node 0)."""
        half = np.einsum("sij,sj->si", self.inverse, rhs)
        return np.einsum("sij,si->sj", self.inverse, half)

    def _per_source(self, r1: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dy = self._laplacian_solve(r2 - self.arcs.incidence_times(self.dinv * r1))
        return self.dinv * (r1 + self.arcs.transpose_times(dy)), dy

    def conserving(self, x: np.ndarray, supply: np.ndarray) -> np.ndarray:
        """``x`` with its rounding imbalance ``b − A x`` removed by least-D-norm corrections."""
        for _ in range(CONSERVATION_ROUNDS):
            x = x + self.dinv * self.arcs.transpose_times(self._laplacian_solve(supply - self.arcs.incidence_times(x)))
        return x

    def _solve_once(self, r1: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx0, _ = self._per_source(r1, r2)
        return self._per_source(r1 - self._coupling(self._load(dx0)), r2)

    def _load(self, dx: np.ndarray) -> np.ndarray:
        return np.bincount(self.arcs.queue, dx.sum(axis=0), self.n_queues)

    def solve(self, r1: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Δx, Δy of ``(D + JᵀWJ)Δx − AᵀΔy = r1``, ``AΔx = r2`` (one row per source), with
        ``REFINEMENTS`` rounds of iterative refinement (near the optimum ``D`` spans ~20 orders of
        magnitude and ``M`` loses digits by cancellation)."""
        dx, dy = self._solve_once(r1, r2)
        for _ in range(REFINEMENTS):
            e1 = r1 - (dx / self.dinv + (self.curvature * self._load(dx))[self.arcs.queue]
                       - self.arcs.transpose_times(dy))
            e2 = r2 - self.arcs.incidence_times(dx)
            ddx, ddy = self._solve_once(e1, e2)
            dx, dy = dx + ddx, dy + ddy
        # Near capacity Δy is huge (∂²T/∂F² ~1e10 on the cut) and Δx = D⁻¹(r1 − Qᵀu + AᵀΔy) a small
        # difference of huge terms: restore A Δx = r2 by the least-D-norm correction D⁻¹Aᵀ L⁻¹ e,
        # which keeps the iterates conserving flow (the optimality rows stay refined)
        for _ in range(CONSERVATION_ROUNDS):
            correction = self._laplacian_solve(r2 - self.arcs.incidence_times(dx))
            dx, dy = dx + self.dinv * self.arcs.transpose_times(correction), dy + correction
        return dx, dy


def _newton_step(arcs: _Arcs, objective: DelayObjective, unit: float, supply: np.ndarray,
                 x: np.ndarray, y: np.ndarray, z: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One Mehrotra predictor–corrector step in scaled units (flows per ``unit``, N = γT)."""
    packets = 1.0 / objective.scale
    arc_flow = x.sum(axis=0) * unit
    gradient = objective.arc_gradient(arc_flow) * (unit * packets)
    curvature = objective.queue_second_derivative(arc_flow) * (unit * unit * packets)
    dual_residual = gradient[None, :] - arcs.transpose_times(y) - z
    primal_residual = supply - arcs.incidence_times(x)
    slack = (objective.queue_capacity - objective.network.queue_load(arc_flow)) / unit
    mu = float(np.mean(x * z))
    system = _NewtonSystem(arcs, x / z, curvature)

    def direction(complementarity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dx, dy = system.solve(complementarity / x - dual_residual, primal_residual)
        return dx, dy, (complementarity - z * dx) / x

    def primal_limit(dx: np.ndarray) -> float:
        return min(_step_to_boundary(x, dx), _step_to_boundary(slack, -np.bincount(arcs.queue, dx.sum(axis=0), slack.size)))

    def longest(step: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
        return min(1.0, primal_limit(step[0]), _step_to_boundary(z, step[2]))

    dx, dy, dz = direction(-x * z)
    affine = np.mean((x + min(1.0, primal_limit(dx)) * dx) * (z + min(1.0, _step_to_boundary(z, dz)) * dz))
    target = max(MIN_CENTERING, min(1.0, (affine / mu) ** 3)) * mu
    complementarity = target - x * z - dx * dz
    corrected = direction(complementarity)
    for _ in range(CENTRALITY_CORRECTORS):
        # Gondzio's correctors: products x z the longer trial step would leave outside
        # [target/10, 10 target] are pulled back (one more solve on the same factors)
        trial = min(1.0, longest(corrected) + 0.2)
        product = (x + trial * corrected[0]) * (z + trial * corrected[2])
        pull = np.maximum(np.clip(product, 0.1 * target, 10.0 * target) - product, -10.0 * target)
        candidate = direction(complementarity + pull)
        if not longest(candidate) >= 1.01 * longest(corrected):
            break
        corrected, complementarity = candidate, complementarity + pull

    def merit(step: float) -> float:
        """Barrier merit T·γ − target Σ log x at x + step Δx (inf beyond capacity)."""
        value = objective.value((x + step * dx).sum(axis=0) * unit) * packets
        return value - target * float(np.sum(np.log(x + step * dx)))

    slope = float(np.sum((gradient[None, :] - target / x) * corrected[0]))
    if slope < 0:
        dx, dy, dz = corrected
    else:  # the correctors spoilt descent: the centred Newton direction
        dx, dy, dz = direction(np.full_like(x, target))
        slope = float(np.sum((gradient[None, :] - target / x) * dx))
    primal = min(1.0, BOUNDARY_FRACTION * primal_limit(dx))
    dual = min(1.0, BOUNDARY_FRACTION * _step_to_boundary(z, dz))
    start = merit(0.0)
    while primal > 1e-12 and not merit(primal) <= start + ARMIJO * primal * slope:
        primal *= 0.5
    if max(primal, dual) < MIN_STEP:
        raise np.linalg.LinAlgError("the Newton steps stagnate")
    return system.conserving(x + primal * dx, supply), y + dual * dy, z + dual * dz, mu


def _start_duals(arcs: _Arcs, objective: DelayObjective, graph: ArcGraph, sources: np.ndarray, unit: float,
                 x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Potentials ``y_s(v) = dist_s(0) − dist_s(v)`` on the lengths ``∇T`` (scaled), so the reduced
    costs ``c̄ = ∇T − Aᵀy ≥ 0`` vanish on shortest-path trees, and ``z = c̄ + μ₀/x`` with ``μ₀`` the
    mean ``x c̄``: a start whose complementarity matches the start's distance from optimality."""
    gradient = objective.arc_gradient(x.sum(axis=0) * unit) * (unit / objective.scale)
    distance = shortest_path_forest(graph, gradient, sources).distance
    y = distance[:, :1] - distance
    reduced = np.maximum(gradient[None, :] - arcs.transpose_times(y), 0.0)
    mu = float(np.mean(x * reduced))
    return y, reduced + mu / x


def _step_to_boundary(value: np.ndarray, step: np.ndarray) -> float:
    """Largest α with value + α step ≥ 0 (value > 0); inf when step ≥ 0."""
    falling = step < 0
    return float(np.min(-value[falling] / step[falling])) if falling.any() else math.inf


def solve_min_delay_barrier(network: Network, *, link_capacity: np.ndarray | None = None,
                            gap: float = 1e-6, time_limit_s: float | None = None,
                            max_iterations: int | None = None, include_fixed_delay: bool = True,
                            start: Routing | None = None, callback: Callback | None = None) -> SolveResult:
    """Min-delay routing by a primal–dual barrier Newton method, with a certified gap.

    Parameters
    ----------
    network : Network
        Every arc paired with a reverse arc (:func:`reverse_arcs`), sized within
        :func:`barrier_size_fits`.
    link_capacity : ndarray, optional
        Capacity per link (rate unit); default the installed capacities.
    gap : float
        Stop when the certified relative gap ``(T − LB)/T`` is at most this.
    time_limit_s : float, optional
    max_iterations : int, optional
        Limit on Newton steps (each with its certificate).
    include_fixed_delay : bool
        Add propagation and processing delays to T.
    start : Routing, optional
        A strictly feasible routing to start from (e.g. a jammed path method's); default min-hop
        when strictly feasible, else :func:`~topo_opt.algorithms.max_concurrent_flow.find_feasible_flow`.
    callback : callable, optional
        Called with each history record (iteration, time_s, objective, lower_bound, gap).

    Returns
    -------
    SolveResult
        ``method = "barrier"``; the routing is the decomposition of the best iterate;
        ``details`` has ``n_newton_steps``, ``barrier_mu`` (the last complementarity
        ``xᵀz/(S m)``, packets), ``max_utilization`` and ``n_paths``, and ``numerical_limit``
        when the method stopped there.  When gradient projection polished the answer after the
        numerical limit, its result with ``polished_by`` and ``barrier_gap``.

    Raises
    ------
    InvalidInputError
        An arc without a reverse arc, a network beyond the size limit, a zero capacity, or a ``start`` that is
        not strictly feasible.
    InfeasibleError
        No routing keeps every queue below capacity (from the feasibility phase).
    """
    if network.n_demands == 0:
        raise InvalidInputError(f"instance {network.name!r} has no demands to route")
    if not barrier_size_fits(network):
        raise InvalidInputError(f"instance {network.name!r}: the barrier method needs every arc paired with a reverse arc, "
                                f"at most {MAX_SCHUR_ORDER} queues and sources × nodes × arcs ≤ "
                                f"{MAX_STACKED_ENTRIES:,}")
    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback)
    objective = DelayObjective.for_network(network, link_capacity, include_fixed_delay)
    objective.require_positive_capacity()
    capacity = objective.queue_capacity
    arc_queue, n_arcs, rate = network.arc_queue, network.n_arcs, network.demand_rate
    graph = ArcGraph.from_network(network)
    sources = np.unique(network.demand_source)
    paths, _ = feasible_start(network, link_capacity, start, time_limit_s)
    # Scaled units: flows per largest capacity, objective N = γ T in packets.
    unit = float(capacity.max())
    x = routing_source_flows(network, paths, sources) / unit
    slack = capacity - network.queue_load(x.sum(axis=0) * unit)
    per_arc = START_SLACK_SHARE * slack[arc_queue] / np.bincount(arc_queue)[arc_queue] / unit
    reverse = reverse_arcs(network)
    x += (np.minimum(per_arc, per_arc[reverse]) / (2 * len(sources)))[None, :]
    arcs = _Arcs.of(network)
    supply = arcs.incidence_times(x)
    y, z = _start_duals(arcs, objective, graph, sources, unit, x)
    steps = 0
    best = None  # (T, x) of the iterate with the lowest T
    mu = math.nan
    numerical_limit = False
    try:
        while True:
            arc_flow = x.sum(axis=0) * unit
            value = objective.value(arc_flow)
            gradient = objective.arc_gradient(arc_flow)
            forest = shortest_path_forest(graph, gradient, network.demand_source)
            status = progress.update(steps + 1, value, frank_wolfe_bound(
                value, gradient, arc_flow, demand_distances(forest, network), rate))
            if best is None or value < best[0]:
                best = (value, x.copy())
            if status is not None:
                break
            steps += 1
            try:
                x, y, z, mu = _newton_step(arcs, objective, unit, supply, x, y, z)
            except np.linalg.LinAlgError:  # a factor lost definiteness by cancellation, or no step
                numerical_limit = True
            else:
                imbalance = np.abs(arcs.incidence_times(x) - supply)[:, 1:].max() / np.abs(supply).max()
                numerical_limit = not (imbalance <= MAX_IMBALANCE and x.min() > 0)  # conservation lost
            if numerical_limit:  # the best iterate so far is the answer
                status = Status.ITERATION_LIMIT
                break
    except KeyboardInterrupt:
        if best is None:
            raise
        status = Status.INTERRUPTED
    routing = decompose_source_flows(network, sources, best[1] * unit)
    arc_flow = routing.carried_flow(routing.path_rates(rate), n_arcs)
    value = objective.value(arc_flow)
    if status is Status.OPTIMAL and relative_gap(value, progress.lower_bound) > gap:
        status, numerical_limit = Status.ITERATION_LIMIT, True  # the paths lost the certified digits
    result = progress.result(status, "barrier", network, link_capacity, routing, value,
                             {"n_paths": routing.n_paths, "n_newton_steps": steps, "barrier_mu": mu,
                              "max_utilization": float(np.max(network.queue_load(arc_flow) / capacity)),
                              **({"numerical_limit": True} if numerical_limit else {})})
    if numerical_limit:
        result.message = ("stopped at the numerical limit: the Newton system lost definiteness, the steps "
                          "stagnated, a step broke "
                          f"flow conservation (imbalance above {MAX_IMBALANCE:g} of the largest supply) or the "
                          "paths of the certified iterate lost its gap; the best iterate")
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    if numerical_limit and not progress.out_of_time():
        return _polished(network, result, link_capacity, gap, time_limit_s, include_fixed_delay, callback)
    return result


def _polished(network: Network, result: SolveResult, link_capacity: np.ndarray | None, gap: float,
              time_limit_s: float | None, include_fixed_delay: bool, callback: Callback | None) -> SolveResult:
    """Gradient projection from ``result``'s routing in the time left, the better certified of the two.

    The numerical limit leaves the flows near the optimum but, near capacity, the Frank–Wolfe bound
    needs them to ~1e-10 (abilene at 99.9 %: 3.5e-6 at the limit); projected Newton steps on the
    few paths of the decomposition finish from there.  ``details["polished_by"]`` says so.
    """
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp

    remaining = None if time_limit_s is None else max(time_limit_s - result.solve_time_s, 0.0)
    try:
        more = solve_min_delay_gp(network, link_capacity=link_capacity, gap=gap, time_limit_s=remaining,
                                  include_fixed_delay=include_fixed_delay, start=result.design.routing,
                                  callback=callback)
    except SolveInterrupted as stop:
        partial = stop.partial
        partial.method, partial.solve_time_s = "barrier", partial.solve_time_s + result.solve_time_s
        raise SolveInterrupted(result if partial.gap > result.gap else partial) from None
    if more.gap > result.gap:
        return result
    more.method, more.solve_time_s = "barrier", more.solve_time_s + result.solve_time_s
    more.details.update(polished_by="gradient-projection", barrier_gap=result.gap,
                        n_newton_steps=result.details["n_newton_steps"])
    return more
