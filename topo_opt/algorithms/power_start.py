"""A starting design for the min-power MILP: links switched off greedily under the delay bound.

From every link on, the next link to try is the one whose removal raises T least per watt of
idle port power saved, to first order (:func:`removal_cost`: its flow moved to the shortest
detour in the first-derivative lengths of the current min-delay routing; bridges stay on).  It
is switched off when the min-delay routing of the links left on (capacities α·C, gap
``CHECK_GAP``) still meets T_max and the design draws less power (longer routes add load
power: on geant it outweighs the ports), else it stays on for good — the least delay only grows
when links go off, so it would fail later too.  A second pass takes the smallest capacity first
(ties by the same cost), which keeps the large links where cut capacity, not delay, binds
(janos-us); the design of less power is then improved by **swaps**: one link off switched on
and, of the ``SWAP_TRIES`` links of least first-order removal cost, the first whose switching off
meets T_max with less power switched off (first improvement, repeated; cost266 25281 → 25244 W),
within the same check budget.  In port-power order alone germany50 kept
73 of 88 links on; this order keeps a spanning tree, 0.01 % above the MILP bound.  Links that
no cycle-free routing uses are then dropped (:func:`trim_dead_ends`: the routing checked still
fits, so T_max still holds) and routers keep their chassis on where a demand starts or ends or
a link stays on — so the start meets the MILP's switching cuts.  The result is offered to HiGHS
as a MIP start: feasible for every round's MILP, whose delay cuts only under-estimate the delay,
so the MILP's incumbent is never worse than it.  This is the link-switching greedy of
energy-aware design (Chiaraviglio, Mellia and Neri, *Minimizing ISP network energy cost*,
IEEE/ACM ToN 2012), here with Kleinrock's average delay as the check.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from topo_opt.algorithms.modular_descent import check_budget
from topo_opt.algorithms.shortest_paths import ArcGraph, shortest_path_forest
from topo_opt.errors import TopoOptError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.power import NodePowerModel, network_power, powered_elements
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network
from topo_opt.algorithms.support_routing import min_delay_on_support

CHECK_GAP = 1e-4  # routing gap of each check (a design meets T_max when its routing's delay does)
#: Greedy orders: least first-order delay rise per watt first; smallest capacity first (ties:
#: least delay rise), which keeps the large links where cut capacity, not delay, binds.
ORDERS = ("delay", "capacity")
#: Swaps try switching off this many links of least first-order removal cost per link switched on.
SWAP_TRIES = 3


def switch_off_start(network: Network, power: NodePowerModel, max_delay_s: float, *,
                     max_utilization: float = 1.0, include_fixed_delay: bool = True,
                     time_limit_s: float | None = None,
                     offer: Callable[[np.ndarray, Routing], None] | None = None
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """(link_on, node_on) booleans of the greedy design, or None when even every link on
    misses T_max.  The greedy runs in both orders of :data:`ORDERS`, the design of less power
    is improved by swaps and returned.  The checks run without time limits, at most
    :func:`~topo_opt.algorithms.modular_descent.check_budget` of them per order and for the swaps, for the solve's
    ``time_limit_s``: the start depends on the limit, never on the machine's load.

    ``offer(link_on, routing)`` is called with each design the greedy adopts that draws less
    power than those offered before (every link on first), with the routing whose check met
    T_max, so that Ctrl-C in the middle of the greedy leaves the caller its best checked design."""
    capacity = np.asarray(network.link_capacity, float) * max_utilization

    def routed_if_met(on: np.ndarray):
        """The min-delay routing of the links ``on`` when it meets T_max, else None."""
        try:
            routed = min_delay_on_support(network, np.where(on, capacity, 0.0), gap=CHECK_GAP,
                                          include_fixed_delay=include_fixed_delay).design.routing
        except TopoOptError:  # disconnected, saturated, or feasibility undecided
            return None
        flow = routed.arc_flow(network.demand_rate, network.n_arcs)
        delay = DelayObjective.for_network(network, np.where(on, network.link_capacity, 0.0),
                                           include_fixed_delay).value(flow)
        return routed if delay <= max_delay_s * (1 + 1e-9) else None

    everything = np.ones(network.n_links, dtype=bool)
    routing = routed_if_met(everything)
    if routing is None:
        return None
    port = power.idle_port_w[network.link_source] + power.idle_port_w[network.link_target]
    budget = check_budget(network.n_links, time_limit_s)

    def watts(on: np.ndarray, routed: Routing) -> float:
        link_on, node_on = powered_elements(network, np.zeros(network.n_arcs), on)
        return network_power(network, Design.for_network(network, routed, link_on=link_on, node_on=node_on),
                             power).total_w

    offered = [math.inf]

    def adopt(on: np.ndarray, routed: Routing, drawn: float) -> None:
        """Offer a checked design that draws less power than every one offered before."""
        if offer is not None and drawn < offered[0]:
            offered[0] = drawn
            offer(on, routed)

    best = None
    for order in ORDERS:
        on, routed = everything, routing
        current = watts(on, routed)
        adopt(on, routed, current)
        kept = ~(port > 0)
        for _ in range(budget):
            cost = np.full(network.n_links, np.inf)
            candidates = np.flatnonzero(on & ~kept)
            cost[candidates] = removal_cost(network, np.where(on, capacity, 0.0),
                                            routed.arc_flow(network.demand_rate, network.n_arcs), candidates,
                                            include_fixed_delay) / port[candidates]
            kept |= on & np.isinf(cost)  # a bridge of the demands
            if not np.isfinite(cost).any():
                break
            first = np.where(np.isfinite(cost), capacity if order == "capacity" else 0.0, np.inf)
            l = int(np.lexsort((cost, first))[0])
            trial = on.copy()
            trial[l] = False
            trial_routing = routed_if_met(trial)
            trial_w = math.inf if trial_routing is None else watts(trial, trial_routing)
            if trial_w < current:
                on, routed, current = trial, trial_routing, trial_w
                adopt(on, routed, current)
            else:  # misses T_max, or the longer routes draw more load power than the ports save
                kept[l] = True
        on = trim_dead_ends(network, on)
        drawn = watts(on, routed)
        adopt(on, routed, drawn)
        if best is None or drawn < best[0]:
            best = drawn, on, routed
    current, on, routed = best
    checks = 0
    while checks < budget:  # swaps: one link on, one of the SWAP_TRIES of least removal cost off
        swapped = None
        for m in np.flatnonzero(~on & (capacity > 0)).tolist():
            grown = on.copy()
            grown[m] = True
            grown_routing, checks = routed_if_met(grown), checks + 1
            if grown_routing is None:
                continue
            others = np.flatnonzero(grown & (port > 0))
            others = others[others != m]
            cost = removal_cost(network, np.where(grown, capacity, 0.0),
                                grown_routing.arc_flow(network.demand_rate, network.n_arcs), others,
                                include_fixed_delay)
            for i in np.argsort(cost, kind="stable")[:SWAP_TRIES].tolist():
                if not np.isfinite(cost[i]) or checks >= budget:
                    break
                trial = grown.copy()
                trial[others[i]] = False
                trial_routing, checks = routed_if_met(trial), checks + 1
                if trial_routing is not None and watts(trial, trial_routing) < current * (1 - 1e-9):
                    swapped = trial, trial_routing
                    break
            if swapped is not None or checks >= budget:
                break
        if swapped is None:
            break
        on, routed = swapped
        current = watts(on, routed)
        adopt(on, routed, current)
    return powered_elements(network, np.zeros(network.n_arcs), trim_dead_ends(network, on))


def removal_cost(network: Network, link_capacity: np.ndarray, arc_flow: np.ndarray, links: np.ndarray,
                 include_fixed_delay: bool = True) -> np.ndarray:
    """First-order rise of T when each of ``links`` goes off (s; inf for a bridge of the flow).

    The flow F_a of each of its arcs a = (i, j) moves to the shortest i–j path around the link
    in the first-derivative lengths ∂T/∂F of the routing ``arc_flow`` (capacities
    ``link_capacity``, 0 = off): ΔT ≈ Σ_a F_a (dist_{G−l}(i, j) − ∂T/∂F_a), the marginal cost of
    the detour (Fratta, Gerla and Kleinrock 1973, flow deviation).
    """
    queue_capacity = network.queue_capacity(link_capacity)
    usable = queue_capacity[network.arc_queue] > 0
    load = network.queue_load(arc_flow)
    objective = DelayObjective(network, queue_capacity, include_fixed_delay)
    with np.errstate(divide="ignore", invalid="ignore"):
        length = np.where(usable, objective.arc_gradient(np.where(usable, arc_flow, 0.0)), np.inf)
    length[load[network.arc_queue] >= queue_capacity[network.arc_queue]] = np.inf
    graph = ArcGraph.from_network(network)
    tail, head = network.arc_tail, network.arc_head
    out = np.zeros(len(links))
    for position, l in enumerate(np.asarray(links).tolist()):
        mine = network.arc_link == l
        moved = np.flatnonzero(mine & (arc_flow > 0))
        if moved.size == 0:
            continue
        forest = shortest_path_forest(graph, np.where(usable & ~mine, length, np.inf), tail[moved])
        detour = forest.distance[forest.rows(tail[moved]), head[moved]] - length[moved]
        out[position] = float(arc_flow[moved] @ detour)
    return out


def trim_dead_ends(network: Network, link_on: np.ndarray) -> np.ndarray:
    """``link_on`` less the links no cycle-free routing of the demands uses: repeatedly a link
    ending at a router of degree one where no demand starts or ends, then every component
    without a demand end point."""
    ends = np.zeros(network.n_nodes, dtype=bool)
    ends[network.demand_source] = ends[network.demand_target] = True
    on = np.asarray(link_on, bool).copy()
    src, dst = network.link_source, network.link_target
    while True:
        degree = np.bincount(src[on], minlength=network.n_nodes) + np.bincount(dst[on], minlength=network.n_nodes)
        dead = on & (((degree[src] == 1) & ~ends[src]) | ((degree[dst] == 1) & ~ends[dst]))
        if not dead.any():
            break
        on &= ~dead
    graph = coo_matrix((np.ones(int(on.sum())), (src[on], dst[on])), shape=(network.n_nodes, network.n_nodes))
    labels = connected_components(graph, directed=False)[1]
    return on & np.isin(labels[src], labels[ends])


def greedy_routing(network: Network, link_on: np.ndarray, max_utilization: float = 1.0,
                   include_fixed_delay: bool = True) -> Routing:
    """The min-delay routing (capacities α·C, gap ``CHECK_GAP``) on the links of a greedy design:
    the routing its check found to meet T_max."""
    capacity = np.where(link_on, network.link_capacity, 0.0) * max_utilization
    return min_delay_on_support(network, capacity, gap=CHECK_GAP,
                                include_fixed_delay=include_fixed_delay).design.routing
