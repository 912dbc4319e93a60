"""A lower bound on the cost of every design meeting a delay bound, from the detour budget.

Where propagation dominates the delay (long-haul networks such as SNDlib's nobel-us, whose
installed delay lies 0.3 % above the propagation floor), the delay bound pins the routing: a
design meeting T ≤ T_max has

    Σ_q F_q/(C_q − F_q) + Σ_a w_a F_a ≤ γ T_max,

w_a the fixed-delay packets per unit of flow on arc a (:class:`~topo_opt.evaluators.delay.DelayObjective`),
and every routing spends Σ_a w_a F_a = Σ_k r_k dist_k + E, dist_k demand k's least fixed-delay
distance and E ≥ 0 its **detour** (each path of k is at least dist_k long).  So
N_max = γ T_max − Σ_k r_k dist_k packets are shared by the queues and the detours.

**Least loads.**  Let Δ_ka = dist_k(G − a) − dist_k when every shortest path of demand k crosses
arc a, else 0.  The fraction θ_k of k's flow on paths avoiding a detours by at least Δ_ka, so a
routing with detour E carries on a at least

    L_a(E) = min Σ_k r_k (1 − θ_k)   s.t.   Σ_k r_k Δ_ka θ_k ≤ E,  0 ≤ θ_k ≤ 1,

a continuous knapsack (θ by increasing Δ_ka).  It equals the least flow on a of any fractional
multicommodity routing with detour ≤ E (the LP's Lagrangian on the detour row separates by
demand, and each demand's best path either crosses a at no detour or avoids it at Δ_ka).

**Bound.**  Loads at least L(E) and N_max − E packets for the queues cost at least
SR(L(E), N_max − E), the square-root capacity assignment at each link's cheapest price per unit
κ_l (a module combination of capacity c costs ≥ κ_l c; fixed costs are ≥ 0;
:func:`~topo_opt.algorithms.square_root_rule.min_cost_for_packets`, its Lagrangian dual bound).
SR grows with the loads and falls with the packets, and L falls with E, so on any grid
0 = e_0 < … < e_m = N_max

    cost ≥ min_j SR(L(e_{j+1}), N_max − e_j),

valid over every routing and every module combination.  Each L_a is a minimum on its own (the
detours of different arcs are not added up), so the bound is weak where cheap detours abound
(dense networks, or a T_max far above the propagation floor): it is then 0.

References: the square-root assignment, L. Kleinrock, *Communication Nets* (1964), ch. 5; the
continuous knapsack, G. B. Dantzig, *Discrete-variable extremum problems*, Oper. Res. 5 (1957).
"""
from __future__ import annotations

import heapq
import itertools
import time

import numpy as np

from topo_opt.algorithms.shortest_paths import ArcGraph, shortest_path_forest
from topo_opt.algorithms.square_root_rule import link_queue_loads, min_cost_for_packets
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.model.network import Network

#: The bound's evaluations of SR: a grid of ``FIRST_STEPS`` pieces of [0, N_max], then the piece
#: that sets the bound is halved (its halves bound no lower) until ``EVALUATIONS`` are spent
FIRST_STEPS = 16
EVALUATIONS = 64
#: Relative tolerance of "arc a lies on a shortest path" and of the detours Δ_ka (float sums of
#: the same arc weights in a different order); a detour is under-stated by it, never over-stated
DISTANCE_RTOL = 1e-9


def _detour_items(network: Network, weight: np.ndarray,
                  deadline: float | None = None) -> tuple[float, list[tuple[int, np.ndarray, np.ndarray]]]:
    """The least fixed-delay packets Σ_k r_k dist_k, and per arc a on a shortest path of some
    demand: (a, rates r_k, detours Δ_ka) of those demands, Δ increasing (0 where another shortest
    path avoids a).  Arcs in decreasing order of that demand; by ``deadline`` (a
    ``time.perf_counter()`` value) the arcs not reached are left out (their least load 0: a
    weaker bound, still valid)."""
    graph = ArcGraph.from_network(network)
    between = shortest_path_forest(graph, weight, np.arange(network.n_nodes)).distance
    source, target, rate = network.demand_source, network.demand_target, network.demand_rate
    distance = between[source, target]
    tolerance = DISTANCE_RTOL * distance
    origins = np.unique(source)
    arcs = np.flatnonzero(np.isfinite(weight))
    crossing = [np.flatnonzero((between[source, network.arc_tail[a]] + weight[a] + between[network.arc_head[a], target]
                                <= distance + tolerance) & (rate > 0)) for a in arcs.tolist()]
    items = []
    for position in np.argsort([-rate[k].sum() for k in crossing], kind="stable").tolist():
        a, k = int(arcs[position]), crossing[position]
        if k.size == 0 or (deadline is not None and time.perf_counter() > deadline):
            break
        without = weight.copy()
        without[a] = np.inf
        forest = shortest_path_forest(graph, without, origins)
        detour = np.maximum(forest.distance[forest.rows(source[k]), target[k]] - distance[k] - tolerance[k], 0.0)
        order = np.argsort(detour, kind="stable")
        items.append((a, rate[k][order], detour[order]))
    return float(rate @ distance), items


def least_arc_loads(network: Network, items: list, detour: float) -> np.ndarray:
    """L_a(E) of the module docstring for E = ``detour`` (packets), every arc (rate unit)."""
    loads = np.zeros(network.n_arcs)
    for a, rate, delta in items:
        spent = np.cumsum(rate * delta)  # diverting the n cheapest demands whole
        n = int(np.searchsorted(spent, detour, side="right"))
        load = float(rate[n:].sum())
        if n < len(rate):  # part of the next one (its Δ > 0: the Δ = 0 ones come first and cost nothing)
            load -= (detour - (spent[n - 1] if n else 0.0)) / delta[n]
        loads[a] = max(load, 0.0)
    return loads


def detour_bound(network: Network, unit_price: np.ndarray, max_delay_s: float,
                 include_fixed_delay: bool = True, evaluations: int = EVALUATIONS,
                 deadline: float | None = None) -> float:
    """The bound of the module docstring (cost unit): min_j SR(L(e_{j+1}), N_max − e_j) over a
    grid refined where the minimum lies (``evaluations`` values of SR, at least ``FIRST_STEPS``).

    Parameters
    ----------
    unit_price : ndarray
        κ_l per link, the cheapest price per rate unit of capacity; ``inf`` for a link that
        cannot get capacity (its arcs are not routed on).
    max_delay_s : float
        T_max (s).
    deadline : float, optional
        A ``time.perf_counter()`` value: the least loads of the arcs not reached by then are 0,
        and the grid is not refined past it (the bound is weaker, never invalid).

    Returns 0 when it proves nothing: every arc can be relieved of all its flow within the
    budget, or no packets are left above the propagation floor (that infeasibility is the
    caller's to report).
    """
    unit_price = np.asarray(unit_price, float)
    weight = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay).arc_linear_cost.copy()
    weight[~np.isfinite(unit_price[network.arc_link])] = np.inf
    floor, items = _detour_items(network, weight, deadline)
    budget = network.total_packet_rate * max_delay_s - floor
    if not (budget > 0 and np.isfinite(budget)) or not items:
        return 0.0
    priced = np.isfinite(unit_price) & (unit_price > 0)  # free capacity: its link's queues dropped (a relaxation)
    price = np.where(priced, unit_price, 1.0)

    def bound_on(low: float, high: float) -> float:  # every routing with detour E in [low, high]
        loads = link_queue_loads(network.queue_load(least_arc_loads(network, items, high)),
                                 network.queue_link, network.n_links) * priced[:, None]
        return min_cost_for_packets(loads, price, budget - low).dual_bound

    grid = budget * np.arange(FIRST_STEPS + 1) / FIRST_STEPS
    pieces = [(bound_on(low, high), low, high) for low, high in itertools.pairwise(grid.tolist())]
    heapq.heapify(pieces)
    for _ in range(evaluations - FIRST_STEPS):  # halve the piece that sets the bound
        if deadline is not None and time.perf_counter() > deadline:
            break
        _, low, high = heapq.heappop(pieces)
        middle = (low + high) / 2
        heapq.heappush(pieces, (bound_on(low, middle), low, middle))
        heapq.heappush(pieces, (bound_on(middle, high), middle, high))
    return max(float(pieces[0][0]), 0.0)
