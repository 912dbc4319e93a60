"""Cheapest capacity levels for fixed flows: a multiple-choice knapsack (starting designs).

With the flows of a routing held fixed (queue loads F_q, per traffic scenario j), the delay of
every choice of levels is known exactly, link by link: level i of link l adds

    g_i^j = Σ_{q of l} F_q^j / (c_i − F_q^j)      packets (+inf when some F_q^j ≥ u c_i),

and T ≤ T_max reads Σ_i g_i^j y_i ≤ B_j = γ T_max − ρ Σ_a d_a F_a^j (the fixed-delay packets
of those flows).  The cheapest levels are then the multiple-choice knapsack

    min Σ_i cost_i y_i   s.t.   Σ_{i ∈ l} y_i = 1 (every link),   Σ_i g_i^j y_i ≤ B_j (every j),

solved exactly by HiGHS (:func:`scipy.optimize.milp`; a few thousand binaries).  Its design
meets T_max *with these flows*, so min-delay routing on it meets T_max too (it can only lower
the delay), and re-routing gives new flows for the next knapsack: the alternating capacity /
flow scheme of Gerla and Kleinrock (1977, *On the topological design of distributed computer
networks*, IEEE Trans. Commun. 25), here with the discrete capacity step solved exactly.  Each
accepted step is cheaper and meets T_max, so the result is never worse than the start.  Unlike
greedy one-link removal it moves capacity between links (one grows, another shrinks), which is
what designs sitting at T_max need; unlike the MILP's outer approximation it prices the delay of
each level exactly, so its proposals never miss T_max.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from topo_opt.model.costs import CapacityLevels
from topo_opt.model.network import Network

#: Share of each budget B_j kept free, so that the re-routed design meets T_max despite the
#: knapsack's feasibility tolerance and the routing's gap
BUDGET_MARGIN = 1e-6


def level_packets(network: Network, levels: CapacityLevels, queue_load: np.ndarray,
                  max_utilization: float = 1.0) -> np.ndarray:
    """g_i = Σ_{q of link(i)} F_q/(c_i − F_q) per level (packets; +inf where a loaded queue of
    its link would exceed u·c_i; queues without load count 0)."""
    packets = np.zeros(len(levels.link))
    for q, link in enumerate(network.queue_link.tolist()):
        load = float(queue_load[q])
        if load <= 0:
            continue
        mine = np.flatnonzero(levels.link == link)
        capacity = levels.capacity[mine]
        fits = load < max_utilization * capacity * (1 - 1e-12)
        packets[mine] += np.where(fits, load / np.where(fits, capacity - load, 1.0), np.inf)
    return packets


def cheapest_levels(levels: CapacityLevels, packets: list[np.ndarray], budgets: list[float],
                    time_limit_s: float | None = None) -> np.ndarray | None:
    """The knapsack of the module docstring: chosen level indices (one per link of ``levels``),
    or None when no choice fits the budgets (or HiGHS found none within ``time_limit_s``).

    ``packets[j]`` are the g_i^j of scenario j (from :func:`level_packets`), ``budgets[j]`` B_j.
    """
    n = len(levels.link)
    usable = np.all([np.isfinite(g) for g in packets], axis=0)
    links, link_row = np.unique(levels.link, return_inverse=True)
    one_level = sp.csr_matrix((np.ones(n), (link_row, np.arange(n))), shape=(len(links), n))
    rows = np.vstack([np.where(usable, g, 0.0) for g in packets])
    limits = np.asarray(budgets, float) * (1 - BUDGET_MARGIN)
    if np.any(limits < 0):
        return None
    scale = np.maximum(np.abs(limits), 1e-300)  # rows O(1) for HiGHS
    result = milp(levels.cost, integrality=np.ones(n), bounds=Bounds(np.zeros(n), usable.astype(float)),
                  constraints=[LinearConstraint(one_level, 1.0, 1.0),
                               LinearConstraint(rows / scale[:, None], -np.inf, limits / scale)],
                  options={} if time_limit_s is None else {"time_limit": max(time_limit_s, 0.0)})
    if result.x is None:
        return None
    picked = np.flatnonzero(result.x > 0.5)
    return picked if len(picked) == len(links) else None
