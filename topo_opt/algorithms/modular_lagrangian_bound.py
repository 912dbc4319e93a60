"""A Lagrangian lower bound on the cheapest modular design that meets a delay bound.

The problem (capacity levels c_i of :class:`~topo_opt.model.costs.CapacityLevels`, one per
link, e.g. the installed capacity plus modules for an upgrade; F_q the queue loads of a
multicommodity flow x that carries the demands; ρ packets per rate unit, d_a the fixed delay of
arc a, γ the total packet rate, u the utilisation cap):

    min Σ_l cost(level of l)   s.t.   Σ_q F_q/(c_q − F_q) + ρ Σ_a d_a x_a ≤ γ T_max,
                                      F_q = Σ_{a∈q} x_a ≤ u c_q.

Relax the delay row with λ ≥ 0 and the coupling F_q = Σ_{a∈q} x_a with π_q ≥ 0 (Lagrange 1788;
Geoffrion 1974, *Lagrangean relaxation for integer programming*, Math. Prog. Study 2).  The
relaxed problem separates into one problem per link and one shortest-path problem:

    L(λ, π) = Σ_l min_{i of l} [ b_i + Σ_{q of l} ψ(π_q, λ, c_i) ] + Σ_k r_k dist_k(π + λ ρ d) − λ γ T_max,

    ψ(π, λ, c) = min_{0 ≤ F ≤ u c, F < c} [ λ F/(c − F) − π F ]
               = λ F*/(c − F*) − π F*,  F* = min(u c, max(0, c − √(λ c/π)))  (the square-root rule),

dist_k the shortest s_k–t_k distance for arc lengths π_q(a) + λ ρ d_a.  Every (λ, π) gives
L ≤ the optimum (weak duality: for the optimal design and its routing, every bracket is at most
its value there and the relaxed rows are ≤ 0), whatever the levels' integrality, so the bound
holds over *every* module combination when b_i is ``levels.bound_cost`` (a dropped combination
of capacity c ∈ (c_{i−1}, c_i] costs ≥ b_i and ψ is non-increasing in c, since F/(c − F)
falls and the range of F grows with c).  The minimum over a link's levels keeps their modular
steps: the bound is that of the per-link convex hull of the discrete choices, not of linear
capacity prices.

With ``cover`` (the caller has proven that every link at its first level misses T_max, e.g.
the installed network of an upgrade), every design has some link above its first level, so the
relaxed problem may require it too (the cheapest such lift is added when the per-link minima all
sit at the first level): still a relaxation of the problem, still a bound.

The multipliers: π = λ m with m_q the marginal queue delays C/(C − F)² of a good routing (at
the optimum of a convex problem these are the exact duals, Fratta, Gerla and Kleinrock 1973);
along that ray L is concave in λ, maximised by golden-section search on log λ; then a box-step
bundle method over (λ, π) (Marsten, Hogan and Blankenship 1975): every evaluation is a
supporting plane of the concave L, and the next point maximises the planes in a box around the
best point (an LP), the box growing after an ascent and shrinking after a null step, until the
planes promise no ascent or after ``BUNDLE_STEPS`` evaluations; then, given the best known
cost U, projected subgradient steps from the best point (Polyak 1969, *Minimization of
unsmooth functionals*, USSR Comput. Math. Math. Phys. 9): (λ, π) ← max(0, (λ, π) + α_k (U − L)
g/‖g‖²), g the subgradient, α_k = ``POLYAK_STEP`` (1 − k/``SUBGRADIENT_STEPS``).  Every value
found is a bound; the search stops at U, after those steps or at the deadline.

The list of levels is the caller's: the full Pareto lists (``capacity_levels(..., thin=False)``)
give a larger bound than the MILP's thinned ones priced at ``bound_cost`` (a thinned level costs
there as little as the cheapest combination above the listed level below it).

From scratch (every link's first level is capacity 0) the bound is about the flow-cost LP's:
a link can take a level far above its load, where b_i/c_i is the cheapest price per unit and
the delay term λF/(c − F) vanishes, and the minimum over levels mixes that level with capacity
0 (the per-link convex hull); with the delay row slack (λ = 0), max_π L(0, π) is the min-cost
capacity LP with each link priced by the convex hull of its levels through the origin, the
cheapest price per unit when that level is listed (benchmarks/BENCHMARKS.md, *Lagrangian bound
from scratch*).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from topo_opt.algorithms.line_search import golden_section
from topo_opt.algorithms.shortest_paths import (
    ArcGraph,
    all_or_nothing,
    demand_distances,
    shortest_path_forest,
)
from topo_opt.model.costs import CapacityLevels
from topo_opt.model.network import Network

BUNDLE_STEPS = 100
GOLDEN_STEPS = 60
SUBGRADIENT_STEPS = 500  # germany50, L1 failed, ×1.1: 250 → 54.4k, 500 → 55.1k (2.0 s), 1000 → 56.2k (3.0 s)
POLYAK_STEP = 0.5  # of the step that would reach the target on the linearisation, shrinking to 0


@dataclass(frozen=True)
class LagrangianBound:
    """The bound (cost unit; -inf if none) and the multipliers that gave it: λ (cost per
    packet) and π (cost per rate unit, per queue)."""

    value: float
    delay_multiplier: float
    queue_price: np.ndarray


class _Dual:
    """L(λ, π) and a subgradient, in rates divided by ``unit`` (numbers O(1))."""

    def __init__(self, network: Network, levels: CapacityLevels, max_delay_s: float, max_utilization: float,
                 include_fixed_delay: bool, cover: bool):
        self.network, self.levels, self.u, self.cover = network, levels, max_utilization, cover
        self.unit = float(network.demand_rate.max())
        self.rate = network.demand_rate / self.unit
        self.fixed = (network.packets_per_rate_unit * self.unit * network.arc_fixed_delay_s
                      if include_fixed_delay else np.zeros(network.n_arcs))
        self.packets = network.total_packet_rate * max_delay_s  # γ T_max
        # (level, queue) pairs: every queue of each level's link
        queues_of = [np.flatnonzero(network.queue_link == l) for l in range(network.n_links)]
        self.pair_level = np.concatenate([np.full(len(queues_of[l]), i) for i, l in enumerate(levels.link.tolist())])
        self.pair_queue = np.concatenate([queues_of[l] for l in levels.link.tolist()])
        self.pair_capacity = levels.capacity[self.pair_level] / self.unit
        self.first = np.flatnonzero(np.r_[True, levels.link[1:] != levels.link[:-1]])  # levels grouped by link
        has_levels = np.zeros(network.n_links, bool)
        has_levels[levels.link] = True
        self.usable_arc = has_levels[network.arc_link]
        self.graph = ArcGraph.from_network(network)
        self.sources = np.unique(network.demand_source)

    def routing(self, price: np.ndarray, delay_weight: float) -> tuple[float, np.ndarray, float]:
        """For arc lengths π + λ ρ d: Σ_k r_k dist_k, the all-or-nothing queue loads and their
        fixed-delay packets ρ Σ_a d_a x_a."""
        weight = np.where(self.usable_arc, price[self.network.arc_queue] + delay_weight * self.fixed, np.inf)
        forest = shortest_path_forest(self.graph, weight, self.sources)
        flow = all_or_nothing(forest, self.network, self.rate)
        value = float(self.rate @ demand_distances(forest, self.network))
        return value, self.network.queue_load(flow), float(self.fixed @ flow)

    def links(self, price: np.ndarray, delay_weight: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Σ_l min_i [b_i + Σ_q ψ]: its value, the chosen level per link, and F*, F*/(c − F*) per pair."""
        pi, c = price[self.pair_queue], self.pair_capacity
        ratio = np.divide(delay_weight * c, pi, out=np.full_like(c, np.inf), where=pi > 0)
        with np.errstate(over="ignore"):
            root = np.sqrt(ratio)  # c − F* before the cap u c (inf: no price, no load)
        load = np.where(root < c, np.minimum(c - root, self.u * c), 0.0)
        packets = np.where(load > 0, load / np.maximum(c - load, 1e-300), 0.0)
        psi = delay_weight * packets - pi * load
        total = self.levels.bound_cost + np.bincount(self.pair_level, weights=psi, minlength=len(self.levels.link))
        chosen = np.minimum.reduceat(np.where(total == np.repeat(np.minimum.reduceat(total, self.first),
                                                                 np.diff(np.r_[self.first, len(total)])),
                                              np.arange(len(total)), len(total)), self.first)
        if self.cover and np.array_equal(chosen, self.first):  # some link must leave its first level
            ends = np.r_[self.first[1:], len(total)]
            lifted = [(float(total[start + 1:end].min() - total[start]), start + 1 + int(np.argmin(total[start + 1:end])))
                      for start, end in zip(self.first.tolist(), ends.tolist()) if end > start + 1]
            if lifted:
                level = min(lifted)[1]
                chosen = chosen.copy()
                chosen[np.searchsorted(self.first, level, side="right") - 1] = level
        return float(total[chosen].sum()), chosen, load, packets

    def value(self, delay_weight: float, price: np.ndarray) -> tuple[float, float, np.ndarray]:
        """L(λ, π), ∂L/∂λ and ∂L/∂π (per queue)."""
        routed, routed_load, fixed_packets = self.routing(price, delay_weight)
        linked, chosen, load, packets = self.links(price, delay_weight)
        pick = np.isin(self.pair_level, chosen)
        link_load = np.bincount(self.pair_queue[pick], weights=load[pick], minlength=self.network.n_queues)
        packets = float(packets[pick].sum())
        value = linked + routed - delay_weight * self.packets
        return value, packets + fixed_packets - self.packets, routed_load - link_load


def lagrangian_bound(network: Network, levels: CapacityLevels, max_delay_s: float, marginal: np.ndarray,
                     *, max_utilization: float = 1.0, include_fixed_delay: bool = True,
                     target: float = math.inf, cover: bool = False,
                     deadline: float = math.inf) -> LagrangianBound:
    """The best L(λ, π) found (module docstring), a lower bound on every design's cost.

    Parameters
    ----------
    marginal : ndarray
        Per queue, the marginal delay C/(C − F)² of a routing (e.g. the best design's); the
        direction of the first multipliers π = λ·marginal (only the direction matters).
    target : float
        The best known design's cost: the search stops when the bound reaches it.
    deadline : float
        ``time.perf_counter()`` value after which no more bundle steps are taken (every value
        found is a bound, so stopping early only weakens it).
    """
    dual = _Dual(network, levels, max_delay_s, max_utilization, include_fixed_delay, cover)
    direction = np.maximum(np.nan_to_num(np.asarray(marginal, float), posinf=0.0), 0.0) * dual.unit
    # λ in cost per packet: the search spans 12 decades around (largest level cost)/(γ T_max)
    scale = float(np.abs(levels.bound_cost).max() or 1.0) / max(dual.packets, 1e-300)
    best = LagrangianBound(-math.inf, 0.0, np.zeros(network.n_queues))

    def along(log_lambda: float) -> float:
        weight = scale * math.exp(log_lambda)
        value = dual.value(weight, weight * direction)[0]
        nonlocal best
        if value > best.value:
            best = LagrangianBound(value, weight, weight * direction)
        return value

    golden_section(lambda t: -along(t), math.log(1e-6), math.log(1e6), GOLDEN_STEPS)  # keeps ``best``
    # the box-step bundle method of the module docstring
    center = np.r_[best.delay_multiplier, best.queue_price]
    typical = np.r_[best.delay_multiplier, np.full(network.n_queues, max(float(best.queue_price.mean()), 1e-300))]
    point, radius, planes = center, 1.0, []
    for _ in range(BUNDLE_STEPS):
        value, d_weight, d_price = dual.value(point[0], point[1:])
        planes.append((value, np.r_[d_weight, d_price], point))
        if value > best.value:
            best, center, radius = LagrangianBound(value, float(point[0]), point[1:].copy()), point, min(2 * radius, 1e3)
        elif len(planes) > 1:
            radius /= 2
        if best.value >= target or time.perf_counter() > deadline:
            break
        box = radius * np.maximum(center, typical)
        # max θ  s.t.  θ − g_j·y ≤ L_j − g_j·y_j,  max(0, c − box) ≤ y ≤ c + box
        gradients = np.asarray([g for _, g, _ in planes])
        rhs = np.asarray([v - g @ y for v, g, y in planes])
        lp = linprog(np.r_[-1.0, np.zeros(len(center))], A_ub=np.c_[np.ones(len(planes)), -gradients], b_ub=rhs,
                     bounds=[(None, None)] + list(zip(np.maximum(center - box, 0.0), center + box)), method="highs")
        if lp.status != 0 or -lp.fun - best.value <= 1e-6 * max(abs(best.value), 1.0):
            break  # the planes promise no ascent in the box (to that accuracy)
        point = lp.x[1:]
    # Polyak's projected subgradient steps towards the target from the best point
    point = np.r_[best.delay_multiplier, best.queue_price]
    for step in range(SUBGRADIENT_STEPS if math.isfinite(target) else 0):
        if best.value >= target or time.perf_counter() > deadline:
            break
        value, d_weight, d_price = dual.value(point[0], point[1:])
        if value > best.value:
            best = LagrangianBound(value, float(point[0]), point[1:].copy())
        gradient = np.r_[d_weight, d_price]
        with np.errstate(over="ignore"):
            norm = float(gradient @ gradient)
        if not 0 < norm < math.inf:
            break  # a zero subgradient (L is maximised), or queues filled to F ≈ c by a tiny λ
        point = np.maximum(point + POLYAK_STEP * (1 - step / SUBGRADIENT_STEPS) * (target - value) / norm * gradient,
                           0.0)
        point[0] = max(point[0], 1e-6 * scale)  # λ = 0 fills every queue to its level: no subgradient
    return LagrangianBound(best.value, best.delay_multiplier, best.queue_price / dual.unit)
