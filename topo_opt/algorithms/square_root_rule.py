"""Continuous capacity assignment for fixed flows: Kleinrock's square-root rule, generalised.

Each link ``l`` gets one capacity ``C_l`` shared by its queues (one queue for a directed or
undirected link, one per direction for a duplex link), at linear cost ``d_l C_l``.  With the
queue loads ``F_q`` fixed, the packets in the network are ``N(C) = Σ_l Σ_{q∈l} F_q/(C_l − F_q)``
and the two classic problems are (Kleinrock 1964, *Communication Nets*, ch. 5):

* **budget form** — min N(C) s.t. Σ d_l C_l = D;
* **delay-bound form** — min Σ d_l C_l s.t. N(C) ≤ N_max (= γ·T_max minus the fixed delays).

Both are convex.  Their KKT conditions give every link the capacity where

    h_l(C_l) = Σ_{q∈l} F_q/(C_l − F_q)² = d_l/τ²                                   (1)

for one multiplier τ > 0 (τ² = 1/ν with ν the budget multiplier, or the delay multiplier).
For a link with a single queue (1) is solved in closed form, C = F + τ√(F/d), and the budget or
bound fixes τ in closed form too — the **square-root assignment** (models.md §3):

    C_a = F_a + D_e √(F_a/d_a) / Σ_b √(F_b d_b),   D_e = D − Σ d_a F_a,   N* = (Σ √(F d))²/D_e
    C_a = F_a + √(F_a/d_a) Σ_b √(F_b d_b) / N_max                        (delay-bound form)

With two queues on a link (1) has no closed form: it is solved per link by Newton's method,
which converges monotonically from the left because h_l is convex and decreasing, and τ by
Brent's method on the budget or the bound.  Every answer carries a **Lagrangian dual bound**
computed from its own τ, so its optimality is checked, not assumed:

    budget:  N(C(τ)) + τ⁻² (Σ d C(τ) − D) ≤ min N,
    bound:   Σ d C(τ) + τ² (N(C(τ)) − N_max) ≤ min cost.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topo_opt.errors import InfeasibleError, InvalidInputError

NEWTON_ITERATIONS = 100


@dataclass(frozen=True)
class CapacityAssignment:
    """Capacities (rate unit) per link, their cost, packets N in the network, and a dual bound.

    ``dual_bound`` bounds the optimum of the problem solved from below: packets for the budget
    form, cost for the delay-bound form.
    """

    capacity: np.ndarray
    cost: float
    packets: float
    multiplier: float
    dual_bound: float


def link_queue_loads(queue_load: np.ndarray, queue_link: np.ndarray, n_links: int) -> np.ndarray:
    """Loads of each link's queues as an (n_links, k) array, zero-padded (k = 1 or 2)."""
    width = int(np.bincount(queue_link, minlength=n_links).max(initial=1))
    out = np.zeros((n_links, width))
    order = np.argsort(queue_link, kind="stable")  # a link's queues in queue order
    grouped = queue_link[order]
    slot = np.empty(len(queue_link), dtype=np.int64)
    slot[order] = np.arange(len(order)) - np.searchsorted(grouped, grouped)  # rank within its link
    out[queue_link, slot] = queue_load
    return out


def _check(loads: np.ndarray, unit_cost: np.ndarray) -> None:
    if np.any(~np.isfinite(loads)) or np.any(loads < 0):
        raise InvalidInputError("queue loads must be finite and >= 0")
    if np.any(~np.isfinite(unit_cost)) or np.any(unit_cost <= 0):
        raise InvalidInputError("capacity unit costs must be finite and > 0")


def capacities_for_multiplier(loads: np.ndarray, unit_cost: np.ndarray, tau: float) -> np.ndarray:
    """C_l solving (1) for every link; links without load get capacity 0.

    Newton's method on h_l(C) = d_l/τ² from C₀ = F_max + τ√(F_max/d), which lies left of the
    root (h_l(C₀) ≥ F_max/(C₀ − F_max)² = d/τ²); Newton iterates of a convex decreasing
    function then increase monotonically to the root.  Exact after one step for one queue.
    """
    peak = loads.max(axis=1)
    used = peak > 0
    capacity = np.zeros(len(loads))
    if not used.any():
        return capacity
    f, d, fmax = loads[used], unit_cost[used], peak[used]
    target = d / tau ** 2
    c = fmax + tau * np.sqrt(fmax / d)
    for _ in range(NEWTON_ITERATIONS):
        slack = c[:, None] - f
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(f > 0, f / slack ** 2, 0.0).sum(axis=1)
            dh = np.where(f > 0, -2.0 * f / slack ** 3, 0.0).sum(axis=1)
        increase = np.maximum((h - target) / -dh, 0.0)  # ≥ 0 but for rounding near the root
        c = c + increase
        if np.all(increase <= 1e-15 * c):
            break
    capacity[used] = c
    return capacity


def packets(loads: np.ndarray, capacity: np.ndarray) -> float:
    """N = Σ_l Σ_{q∈l} F_q/(C_l − F_q) (queues without load count 0; inf when saturated)."""
    slack = capacity[:, None] - loads
    if np.any((loads > 0) & (slack <= 0)):
        return float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.where(loads > 0, loads / slack, 0.0).sum())


def _single_queue(loads: np.ndarray) -> bool:
    return loads.shape[1] == 1 or not np.any((loads > 0).sum(axis=1) > 1)


def min_delay_for_budget(loads: np.ndarray, unit_cost: np.ndarray, budget: float) -> CapacityAssignment:
    """Budget form: min N s.t. Σ d_l C_l = ``budget`` (cost unit).

    Raises
    ------
    InfeasibleError
        When the budget does not exceed Σ d_l max_q F_q, the cost of carrying the flows at all.
    """
    _check(loads, unit_cost)
    peak = loads.max(axis=1)
    floor = float(unit_cost @ peak)
    if not budget > floor:
        raise InfeasibleError(f"capacity budget {budget:.6g} does not exceed {floor:.6g}, the cost of "
                              "capacities equal to the flows: no finite delay is possible")
    spare = budget - floor
    if _single_queue(loads):
        tau = spare / float(np.sqrt(unit_cost * peak).sum())
    else:
        from scipy.optimize import brentq  # here: scipy.optimize costs ~0.2 s to import

        def excess(t: float) -> float:
            return float(unit_cost @ capacities_for_multiplier(loads, unit_cost, t)) - budget
        # C_l(τ) lies between F_max + τ√(F_max/d) and F_max + τ√(ΣF/d): bracket τ from both
        lo = spare / float(np.sqrt(unit_cost * loads.sum(axis=1)).sum())
        hi = spare / float(np.sqrt(unit_cost * peak).sum())
        tau = lo if excess(lo) >= 0 else brentq(excess, lo, hi, xtol=1e-300, rtol=1e-15)
    capacity = capacities_for_multiplier(loads, unit_cost, tau)
    n, cost = packets(loads, capacity), float(unit_cost @ capacity)
    return CapacityAssignment(capacity, cost, n, tau, n + (cost - budget) / tau ** 2)


def min_cost_for_packets(loads: np.ndarray, unit_cost: np.ndarray, max_packets: float) -> CapacityAssignment:
    """Delay-bound form: min Σ d_l C_l s.t. N ≤ ``max_packets``.

    Raises
    ------
    InfeasibleError
        When ``max_packets`` ≤ 0 while some queue carries flow.
    """
    _check(loads, unit_cost)
    if not loads.any():
        zero = np.zeros(len(loads))
        return CapacityAssignment(zero, 0.0, 0.0, 0.0, 0.0)
    if not max_packets > 0:
        raise InfeasibleError("the delay bound leaves no time for queueing (it does not exceed the "
                              "propagation and processing delay): no finite capacity meets it")
    total = float(np.sqrt(unit_cost * loads.sum(axis=1)).sum())
    if _single_queue(loads):
        tau = total / max_packets
    else:
        from scipy.optimize import brentq

        def excess(t: float) -> float:
            return packets(loads, capacities_for_multiplier(loads, unit_cost, t)) - max_packets
        lo = hi = total / max_packets
        while excess(lo) < 0:
            lo /= 2.0
        while excess(hi) > 0:
            hi *= 2.0
        tau = brentq(excess, lo, hi, xtol=1e-300, rtol=1e-15) if lo < hi else lo
    capacity = capacities_for_multiplier(loads, unit_cost, tau)
    n, cost = packets(loads, capacity), float(unit_cost @ capacity)
    return CapacityAssignment(capacity, cost, n, tau, cost + tau ** 2 * (n - max_packets))
