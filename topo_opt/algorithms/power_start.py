"""A starting design for the min-power MILP: links switched off greedily under the delay bound.

From every link on, the next link to try is the one whose removal raises T least per watt of
idle port power saved, to first order (:func:`removal_cost`: its flow moved to the shortest
detour in the first-derivative lengths of the current min-delay routing; bridges stay on).  It
is switched off when the min-delay routing of the links left on (capacities α·C, gap
``CHECK_GAP``) still meets T_max and the design draws less power (longer routes add load
power: on geant it outweighs the ports), else it stays on for good — the least delay only grows
when links go off, so it would fail later too.  A second pass takes the smallest capacity first
(ties by the same cost), which keeps the large links where cut capacity, not delay, binds
(janos-us); each order's design is then improved by **swaps**: one link off switched on
and, of the ``SWAP_TRIES`` links of least first-order removal cost, the first whose switching off
meets T_max with less power switched off (first improvement, repeated; cost266 25281 → 25244 W),
within the same check budget each (:func:`improve_by_swaps`; it tries one link off alone first).
The swapped design of least power is the start, and the search after the MILP runs from it;
until the start's deadline the same search, with pairs of links off as well, runs from the
other order's (:func:`improve_from_each`), which may lie in another basin (zoo:Uunet: 2.4 W
more, but 43 links on within reach), and the start is the design of least power found.  The
same local search, with pairs, improves the MILP's design after its rounds
(:mod:`topo_opt.solve.min_power`; zoo:Uunet: one link on and two off gives 43 links where the MILP
kept 44).  In port-power order alone germany50 kept
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

import itertools
import math
import time
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
from topo_opt.algorithms.support_routing import decision_threshold, min_delay_on_support

CHECK_GAP = 1e-4  # routing gap of each check (a design meets T_max when its routing's delay does)
#: Greedy orders: least first-order delay rise per watt first; smallest capacity first (ties:
#: least delay rise), which keeps the large links where cut capacity, not delay, binds.
ORDERS = ("delay", "capacity")
#: Swaps try switching off this many links of least first-order removal cost per link switched on.
SWAP_TRIES = 3
#: The search after the MILP (:func:`improve_by_swaps` with pairs) tries this many, singly and in pairs.
PAIR_TRIES = 5


class DesignCheck:
    """Whether a set of links on meets T_max, and the power it draws: the one check of the start
    and of the search after the MILP.

    A design meets T_max when the min-delay routing of its links (capacities α·C, gap
    ``CHECK_GAP``) has T ≤ T_max on the installed capacities C; the routing's own rejections
    come first and are cheap (a demand without a path; a cut the demands saturate, from the
    feasibility LP).  With α = 1 the routing stops as soon as it decides T_max
    (:func:`~topo_opt.algorithms.support_routing.decision_threshold`): the first iterate with
    T ≤ T_max is the routing returned (its witness; on zoo:Uninett2011 such a check took 0.15 s
    where the routing to ``CHECK_GAP`` took 1.4 s), or a lower bound above T_max rejects it.
    Counts its checks and stops at ``max_checks`` or ``deadline`` (a ``time.perf_counter()``
    value): past either, :attr:`exhausted` is true; a check still running at the deadline fails
    unless the routing it has so far meets T_max (without, three checks of the search ran 41 s
    past a 120-s limit on zoo:Uninett2011).
    """

    def __init__(self, network: Network, power: NodePowerModel, max_delay_s: float, *,
                 max_utilization: float = 1.0, include_fixed_delay: bool = True,
                 max_checks: float = math.inf, deadline: float = math.inf):
        self.network, self.power, self.max_delay_s = network, power, max_delay_s
        self.capacity = np.asarray(network.link_capacity, float) * max_utilization
        self.threshold = decision_threshold(max_delay_s, max_utilization)
        self.include_fixed_delay = include_fixed_delay
        self.max_checks, self.deadline, self.checks = max_checks, deadline, 0
        self.port_w = power.idle_port_w[network.link_source] + power.idle_port_w[network.link_target]

    @property
    def exhausted(self) -> bool:
        """No check is left: ``max_checks`` run or the deadline passed."""
        return self.checks >= self.max_checks or time.perf_counter() >= self.deadline

    def routing(self, on: np.ndarray) -> Routing | None:
        """A routing of the links ``on`` that meets T_max (with α = 1 the first iterate that does,
        the witness; else the min-delay routing), or None when none is found."""
        self.checks += 1
        network = self.network
        remaining = None if math.isinf(self.deadline) else max(self.deadline - time.perf_counter(), 0.0)
        try:
            routed = min_delay_on_support(network, np.where(on, self.capacity, 0.0), gap=CHECK_GAP,
                                          time_limit_s=remaining, threshold=self.threshold,
                                          include_fixed_delay=self.include_fixed_delay).design.routing
        except TopoOptError:  # disconnected, saturated, or feasibility undecided
            return None
        flow = routed.arc_flow(network.demand_rate, network.n_arcs)
        delay = DelayObjective.for_network(network, np.where(on, network.link_capacity, 0.0),
                                           self.include_fixed_delay).value(flow)
        return routed if delay <= self.max_delay_s * (1 + 1e-9) else None

    def watts(self, on: np.ndarray, routed: Routing) -> float:
        """Power (W) of the links ``on`` with ``routed``: routers on where a link or demand ends."""
        network = self.network
        link_on, node_on = powered_elements(network, np.zeros(network.n_arcs), on)
        return network_power(network, Design.for_network(network, routed, link_on=link_on, node_on=node_on),
                             self.power).total_w

    def cheapest(self, on: np.ndarray, routed: Routing, tries: int, keep: int | None = None) -> list[int]:
        """The ``tries`` links on (drawing port power; not ``keep``) whose switching off raises T
        least to first order (:func:`removal_cost`), bridges of the flow left out."""
        links = np.flatnonzero(on & (self.port_w > 0))
        links = links[links != keep]
        cost = removal_cost(self.network, np.where(on, self.capacity, 0.0),
                            routed.arc_flow(self.network.demand_rate, self.network.n_arcs), links,
                            self.include_fixed_delay)
        order = np.argsort(cost, kind="stable")[:tries]
        return links[order[np.isfinite(cost[order])]].tolist()


def switch_off_start(network: Network, power: NodePowerModel, max_delay_s: float, *,
                     max_utilization: float = 1.0, include_fixed_delay: bool = True,
                     time_limit_s: float | None = None, deadline: float = math.inf,
                     offer: Callable[[np.ndarray, Routing], None] | None = None
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """(link_on, node_on) booleans of the greedy design, or None when even every link on
    misses T_max.  The greedy runs in both orders of :data:`ORDERS`, each design (when they
    differ) is improved by swaps (:func:`improve_by_swaps`, one link off at a time), then the
    swapped design not of least power by the moves of the search after the MILP (``PAIR_TRIES``,
    pairs) until ``deadline`` (:func:`improve_from_each`); the design of least power is returned.
    The greedy's checks and each design's swaps run at most
    :func:`~topo_opt.algorithms.modular_descent.check_budget` of them per order and for the swaps, for the solve's
    ``time_limit_s``, and none starts after ``deadline`` (a ``time.perf_counter()`` value;
    the check of every link on always runs): up to there the start depends on the limit, not
    on the machine's load; the search from the other order's design uses the time left to
    ``deadline`` (without one, it runs until no move improves).

    ``offer(link_on, routing)`` is called with each design the greedy or a search adopts that draws less
    power than those offered before (every link on first), with the routing whose check met
    T_max, so that Ctrl-C in the middle of the greedy leaves the caller its best checked design."""
    check = DesignCheck(network, power, max_delay_s, max_utilization=max_utilization,
                        include_fixed_delay=include_fixed_delay)
    capacity, port, watts = check.capacity, check.port_w, check.watts
    everything = np.ones(network.n_links, dtype=bool)
    routing = check.routing(everything)  # to its gap whatever the deadline: None means T_max is infeasible
    if routing is None:
        return None
    check.deadline = deadline
    budget = check_budget(network.n_links, time_limit_s)
    offered = [math.inf]

    def adopt(on: np.ndarray, routed: Routing, drawn: float) -> None:
        """Offer a checked design that draws less power than every one offered before."""
        if offer is not None and drawn < offered[0]:
            offered[0] = drawn
            offer(on, routed)

    designs = []  # (W, links on, routing) of each order's design
    for order in ORDERS:
        on, routed = everything, routing
        current = watts(on, routed)
        adopt(on, routed, current)
        kept = ~(port > 0)
        for _ in range(budget):
            if check.exhausted:
                break
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
            trial_routing = check.routing(trial)
            trial_w = math.inf if trial_routing is None else watts(trial, trial_routing)
            if trial_w < current:
                on, routed, current = trial, trial_routing, trial_w
                adopt(on, routed, current)
            else:  # misses T_max, or the longer routes draw more load power than the ports save
                kept[l] = True
        on = trim_dead_ends(network, on)
        drawn = watts(on, routed)
        adopt(on, routed, drawn)
        if not any(np.array_equal(on, other) for _, other, _ in designs):
            designs.append((drawn, on, routed))
    swapped = []  # each order's design improved by swaps, that of least power first
    for drawn, on, routed in sorted(designs, key=lambda design: design[0]):
        check.checks, check.max_checks = 0, budget
        swapped.append(improve_by_swaps(check, on, routed, drawn, tries=SWAP_TRIES, pairs=False, offer=adopt))
    swapped.sort(key=lambda design: design[2])
    check.max_checks, best = math.inf, swapped[0]
    others = [design for design in swapped[1:] if not np.array_equal(design[0], best[0])]
    if others:  # the search after the MILP starts from the best: from the others now
        best = min(best, improve_from_each(check, others, tries=PAIR_TRIES, pairs=True, offer=adopt),
                   key=lambda design: design[2])
    return powered_elements(network, np.zeros(network.n_arcs), trim_dead_ends(network, best[0]))


def improve_from_each(check: DesignCheck, starts: list[tuple[np.ndarray, Routing, float]], *,
                      tries: int, pairs: bool,
                      offer: Callable[[np.ndarray, Routing, float], None] | None = None
                      ) -> tuple[np.ndarray, Routing, float]:
    """The best of :func:`improve_by_swaps` run from each checked design (links on, routing, W)
    of ``starts`` in turn, until ``check`` is exhausted (a design not reached is kept as it
    is): (links on, routing, W) of least power.  Local search ends in the basin of its start,
    and the greedy orders end in different ones (zoo:Uunet: the *capacity* order's design draws
    2.4 W less than the *delay* order's, but only the search from the latter reaches a 43-link
    design, 0.5 % less power).  ``offer`` as in :func:`improve_by_swaps`."""
    ends = [improve_by_swaps(check, on, routed, drawn, tries=tries, pairs=pairs, offer=offer)
            for on, routed, drawn in starts]
    return min(ends, key=lambda end: end[2])


def improve_by_swaps(check: DesignCheck, on: np.ndarray, routed: Routing, current_w: float, *,
                     tries: int, pairs: bool,
                     offer: Callable[[np.ndarray, Routing, float], None] | None = None
                     ) -> tuple[np.ndarray, Routing, float]:
    """Local search from the links ``on`` (checked: ``routed`` meets T_max and the design draws
    ``current_w`` W): (links on, routing, W) of the first design found that draws less power,
    repeated from it until no move improves or ``check`` is exhausted.

    A move switches at most one link on and one or, with ``pairs``, two links off, the links
    off taken among the ``tries`` of least first-order removal cost (:meth:`DesignCheck.cheapest`)
    in the design with the link on.  Moves are tried in the order of the ports they save:
    one link off, two off (``pairs``), one on and two off (``pairs``; each link off switched
    on once, its routing kept for the last class), one on and one off.  ``offer(on, routing,
    W)`` is called with each improvement, so Ctrl-C leaves the caller the best design so far.
    Every design returned or offered passed ``check.routing``; the power never rises.
    """
    while not check.exhausted:
        for trial in _moves(check, on, routed, tries, pairs):
            trial_routing = check.routing(trial)
            if trial_routing is not None and (trial_w := check.watts(trial, trial_routing)) < current_w * (1 - 1e-9):
                on, routed, current_w = trial, trial_routing, trial_w
                if offer is not None:
                    offer(on, routed, current_w)
                break
            if check.exhausted:
                return on, routed, current_w
        else:
            break
    return on, routed, current_w


def _moves(check: DesignCheck, on: np.ndarray, routed: Routing, tries: int, pairs: bool):
    """The link sets of :func:`improve_by_swaps`'s moves from ``on``, in its order (a generator:
    a link switched on is checked only when its moves are reached)."""

    def off(links, removed) -> np.ndarray:
        trial = links.copy()
        trial[list(removed)] = False
        return trial

    cheapest = check.cheapest(on, routed, tries)
    yield from (off(on, [l]) for l in cheapest)
    if pairs:
        yield from (off(on, pair) for pair in itertools.combinations(cheapest, 2))
    grown: dict[int, tuple[np.ndarray, list[int]] | None] = {}

    def with_link(m: int):
        if m not in grown:
            trial = on.copy()
            trial[m] = True
            grown_routing = check.routing(trial)
            grown[m] = None if grown_routing is None else (trial, check.cheapest(trial, grown_routing, tries, m))
        return grown[m]

    switched_off = np.flatnonzero(~on & (check.capacity > 0)).tolist()
    for m in switched_off if pairs else ():
        if check.exhausted:
            return
        if (found := with_link(m)) is not None:
            yield from (off(found[0], pair) for pair in itertools.combinations(found[1], 2))
    for m in switched_off:
        if check.exhausted:
            return
        if (found := with_link(m)) is not None:
            yield from (off(found[0], [l]) for l in found[1])


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


def greedy_routing(network: Network, link_on: np.ndarray, max_delay_s: float, max_utilization: float = 1.0,
                   include_fixed_delay: bool = True) -> Routing:
    """The routing a check of the links ``link_on`` finds (capacities α·C, gap ``CHECK_GAP``,
    decided at T_max: :func:`~topo_opt.algorithms.support_routing.decision_threshold`): for a
    greedy design, one that meets T_max."""
    capacity = np.where(link_on, network.link_capacity, 0.0) * max_utilization
    return min_delay_on_support(network, capacity, gap=CHECK_GAP, include_fixed_delay=include_fixed_delay,
                                threshold=decision_threshold(max_delay_s, max_utilization)).design.routing
