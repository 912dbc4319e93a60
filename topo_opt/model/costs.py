"""Link cost models of the capacity-design problems.

* **Linear** (continuous capacity assignment): capacity costs ``d_l`` per rate unit.  It is the
  link's ``capacity_cost`` when given; else the cheapest cost per unit of its modules; else
  ``DEFAULT_UNIT_COST`` (1 per rate unit: the cost of a design is then its total capacity).
* **Modular**: the link's ``modules`` (SNDlib: capacity and cost of one module; any number of
  each may be installed on top of the pre-installed capacity).  A link without module data gets
  ``default_modules``: one module of the link's installed capacity at its linear cost
  ``d_l·C_l``, so a design can double, triple, ... what is there.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from topo_opt.model.network import Link, Module, Network

DEFAULT_UNIT_COST = 1.0


def unit_capacity_cost(network: Network) -> np.ndarray:
    """d_l per rate unit of capacity for every link (see module docstring for the defaults)."""
    cost = np.full(network.n_links, DEFAULT_UNIT_COST)
    for i, link in enumerate(network.links):
        if link.capacity_cost > 0:
            cost[i] = link.capacity_cost
        elif link.modules:
            cost[i] = min(m.cost / m.capacity for m in link.modules if m.capacity > 0)
    return cost


def linear_capacity_cost(network: Network, link_capacity: np.ndarray) -> float:
    """Σ_l d_l C_l (cost unit of the instance)."""
    return float(unit_capacity_cost(network) @ np.asarray(link_capacity, float))


def default_modules(link: Link, unit_cost: float) -> tuple[Module, ...]:
    """The link's modules, or one module of its installed capacity at ``unit_cost`` per unit."""
    if link.modules:
        return link.modules
    if link.capacity <= 0:
        return ()
    return (Module(capacity=link.capacity, cost=unit_cost * link.capacity),)


@dataclass(frozen=True)
class CapacityLevels:
    """The capacities each link can take in a modular design, flat over all links.

    Level ``i`` belongs to link ``link[i]``, gives it ``capacity[i]`` (rate unit) for
    ``cost[i]`` = module cost + ``fixed_cost[i]`` (the link's ``fixed_cost`` when the level
    builds it from nothing, else 0), with ``counts[i]`` modules of each of the link's module
    types.  Every link has exactly one level
    chosen; level capacities of a link are increasing and so are their costs (Pareto-efficient
    module combinations only).

    ``bound_cost[i]`` ≤ ``cost[i]`` is the cost of the cheapest combination of the *full*
    Pareto list with capacity in (capacity of the listed level below i, ``capacity[i]``]: the
    list thinned to ``MAX_LEVELS_PER_LINK`` drops combinations, and every dropped one is
    dominated by the next listed level priced at ``bound_cost`` (no less capacity, no more
    cost).  Since more capacity never raises the least delay, the design problem over the listed
    levels priced at ``bound_cost`` relaxes the problem over all combinations: its bound is a
    bound of the full problem.  Equal to ``cost`` on links that were not thinned.
    """

    link: np.ndarray
    capacity: np.ndarray
    cost: np.ndarray
    fixed_cost: np.ndarray
    counts: tuple[tuple[int, ...], ...]
    bound_cost: np.ndarray
    modules: tuple[tuple[Module, ...], ...]  # per link
    truncated: tuple[int, ...]  # links whose level list was thinned to MAX_LEVELS_PER_LINK

    def largest(self) -> np.ndarray:
        """Per link with levels (in link order): its level of largest capacity."""
        return np.asarray([mine[np.argmax(self.capacity[mine])] for mine in
                           (np.flatnonzero(self.link == l) for l in np.unique(self.link).tolist())])

    def unit_price(self, n_links: int) -> np.ndarray:
        """κ_l per network link: the least cost per rate unit of its modules (``inf`` for a link
        without levels or modules).  Every combination adding capacity A costs ≥ κ_l A."""
        price = np.full(n_links, np.inf)
        for position, l in enumerate(np.unique(self.link).tolist()):
            price[l] = min((module.cost / module.capacity for module in self.modules[position]
                            if module.capacity > 0), default=np.inf)
        return price

    def link_capacity(self, picked: np.ndarray, n_links: int) -> np.ndarray:
        """Capacity of every link (0 without a picked level) when the levels ``picked`` are built."""
        capacity = np.zeros(n_links)
        capacity[self.link[picked]] = self.capacity[picked]
        return capacity

    def modules_added(self, network: Network, picked: np.ndarray) -> list[dict]:
        """The modules of the picked levels: link id, module capacity, count and cost per row."""
        rows = []
        for i in picked.tolist():
            link = int(self.link[i])
            position = int(np.searchsorted(np.unique(self.link), link))
            for module, count in zip(self.modules[position], self.counts[i]):
                if count:
                    rows.append({"link": network.links[link].id, "module_capacity": module.capacity,
                                 "count": int(count), "cost": count * module.cost})
        return rows


MAX_LEVELS_PER_LINK = 20
#: Of a focused list (see :func:`kept_levels`): consecutive Pareto levels in the window around
#: the target, how many of them lie below the first level covering it, and how many levels are
#: spread geometrically in capacity above and below the window.
FOCUS_WINDOW, FOCUS_LEVELS_BELOW, FOCUS_ABOVE, FOCUS_BELOW = 8, 3, 7, 3


def _pareto_combinations(modules: tuple[Module, ...], cap: float) -> list[tuple[float, float, tuple[int, ...]]]:
    """The Pareto-efficient module combinations (no other reaches as much capacity for as little
    cost) by increasing capacity and cost, up to the cheapest one reaching ``cap``.

    Built directly, cheapest first (Dijkstra over costs, ties larger capacity first): a
    combination is efficient exactly when its capacity exceeds that of every one popped before
    it, and only efficient ones are extended by one module, as a dominated combination stays
    dominated with any modules added (y with no less capacity for no more cost gives y + m
    against x + m).  So at most (levels × module types) combinations are looked at; listing
    every sum below ``cap`` first (an unbounded knapsack by capacity) grew with the number of
    sums, ~(cap / module)² for two module types: 55 s for pioro40's 89 links up to twice the
    total demand.  Capacities are rounded to 1e-6 rate unit, so that sums of the same modules
    in another order are one capacity, and costs compared to 12 digits (:func:`_tie`).  Beyond the first combination reaching ``cap`` nothing is
    listed (the enumeration listed the combinations one module beyond the sums below ``cap``
    that were efficient among those alone; the levels below ``cap`` and the first reaching it
    are the same).
    """
    heap = [(0.0, -0.0, 0.0, (0,) * len(modules))]
    levels, reached, pushed = [], -math.inf, {}
    while heap:
        _, negative, cost, counts = heapq.heappop(heap)
        if -negative <= reached:  # a cheaper (or as cheap, larger) combination has this capacity
            continue
        reached = -negative
        levels.append((reached, cost, counts))
        if reached >= cap:
            break
        for j, module in enumerate(modules):
            new, capacity = cost + module.cost, round(reached + module.capacity, 6)
            if pushed.get(capacity, math.inf) > new:  # else this capacity is waiting at no more cost
                pushed[capacity] = new
                heapq.heappush(heap, (_tie(new), -capacity, new, counts[:j] + (counts[j] + 1,) + counts[j + 1:]))
    # free modules pop equal costs in growing capacity: keep the largest (costs never fall along the list)
    return [level for level, after in zip(levels, levels[1:] + [None]) if after is None or _tie(level[1]) < _tie(after[1])]


def _tie(cost: float) -> float:
    """``cost`` to 12 significant digits: sums of the same module costs in another order are equal."""
    return float(f"{cost:.12g}")


def kept_levels(added: np.ndarray, target: float | None) -> np.ndarray:
    """Indices of the ``MAX_LEVELS_PER_LINK`` levels kept of a link's increasing Pareto list
    (added capacities ``added``, more than that many).

    Without a ``target`` (added capacity, rate unit) they are evenly spread.  With one, the list
    is *focused*: the first and the last level, a window of ``FOCUS_WINDOW`` consecutive levels
    from ``FOCUS_LEVELS_BELOW`` below the first level covering the target upwards (the steps
    near a good continuous design keep the modules' own granularity), and ``FOCUS_ABOVE`` /
    ``FOCUS_BELOW`` levels spaced geometrically in capacity between the window and either end.
    The geometric spacing keeps the bound over every combination useful: a listed level is
    priced there at the cheapest combination above the listed level below it
    (:class:`CapacityLevels`), so the ratio of neighbouring listed capacities is what the bound
    can gain by rounding up (a list of ends and window only priced the last level, twice the total
    demand, at one module more than the window's top).  Where these picks coincide, the window
    grows until the list has ``MAX_LEVELS_PER_LINK`` levels.
    """
    n = len(added)
    if target is None:
        return np.unique(np.round(np.linspace(0, n - 1, MAX_LEVELS_PER_LINK)).astype(int))
    cover = min(int(np.searchsorted(added, target * (1 - 1e-12))), n - 1)
    first = min(max(cover - FOCUS_LEVELS_BELOW, 1), n - 1 - FOCUS_WINDOW)
    last = first + FOCUS_WINDOW - 1
    keep = {0, n - 1, *range(first, last + 1)}
    for low, high, count in ((last, n - 1, FOCUS_ABOVE), (1, first, FOCUS_BELOW)):
        if high > low:
            wanted = np.geomspace(max(added[low], added[1]), added[high], count + 2)[1:-1]
            keep.update(np.clip(np.searchsorted(added, wanted), low, high).tolist())
    step = 1
    while len(keep) < MAX_LEVELS_PER_LINK:
        keep.update(i for i in (last + step, first - step) if 0 < i < n - 1)
        step += 1
    return np.asarray(sorted(keep))  # at most 2 + window + above + below = MAX_LEVELS_PER_LINK


def capacity_levels(network: Network, max_capacity: float, keep_installed: bool,
                    links: np.ndarray | None = None,
                    target_capacity: np.ndarray | None = None, thin: bool = True) -> CapacityLevels:
    """Levels of the ``links`` (default all): installed capacity (if kept) plus module sums.

    Module sums run up to the first reaching ``max_capacity`` added capacity; a link with more
    than ``MAX_LEVELS_PER_LINK`` Pareto levels keeps that many (listed in ``truncated``):
    evenly spread in capacity, or focused around ``target_capacity`` (per network link, rate
    unit, e.g. a continuous design; :func:`kept_levels`).  Without ``keep_installed`` the
    installed capacity is ignored (a design from scratch), and a link without capacity may stay
    unbuilt (capacity 0, cost 0).  ``thin=False`` keeps every Pareto level (for bounds that
    take a minimum per link, e.g. the Lagrangian bound, where list length costs little).
    """
    unit = unit_capacity_cost(network)
    chosen = np.arange(network.n_links) if links is None else np.asarray(links)
    link_of, capacity, cost, bound_cost, fixed, counts, modules, truncated = [], [], [], [], [], [], [], []
    for l in chosen.tolist():
        link = network.links[l]
        mods = default_modules(link, unit[l])
        base = link.capacity if keep_installed else 0.0
        options = _pareto_combinations(mods, max_capacity) if mods else [(0.0, 0.0, ())]
        keep = np.arange(len(options))
        if thin and len(options) > MAX_LEVELS_PER_LINK:
            target = None if target_capacity is None else max(target_capacity[l] - base, 0.0)
            keep = kept_levels(np.asarray([option[0] for option in options]), target)
            truncated.append(l)
        setup = [link.fixed_cost if base == 0 and added > 0 else 0.0 for added, _, _ in options]  # built from nothing
        price = [option[1] + s for option, s in zip(options, setup)]
        for position, i in enumerate(keep.tolist()):
            link_of.append(l)
            capacity.append(base + options[i][0])
            cost.append(price[i])
            bound_cost.append(price[keep[position - 1] + 1] if position else price[i])
            fixed.append(setup[i])
            counts.append(options[i][2])
        modules.append(mods)
    return CapacityLevels(np.asarray(link_of, dtype=np.int64), np.asarray(capacity, float),
                          np.asarray(cost, float), np.asarray(fixed, float), tuple(counts),
                          np.asarray(bound_cost, float), tuple(modules), tuple(truncated))


def covering_levels(levels: CapacityLevels, link_capacity: np.ndarray) -> np.ndarray:
    """Per link with levels (in link order): the cheapest level with capacity ≥ ``link_capacity``
    of that link, or −1 where no level covers it."""
    chosen = []
    for l in np.unique(levels.link).tolist():
        mine = np.flatnonzero((levels.link == l) & (levels.capacity >= link_capacity[l] * (1 - 1e-12)))
        chosen.append(mine[np.argmin(levels.cost[mine])] if mine.size else -1)
    return np.asarray(chosen, dtype=np.int64)


def module_cost(network: Network, link_capacity: np.ndarray, links: np.ndarray | None = None) -> float:
    """Σ over the ``links`` (default all) with capacity of the cheapest combination of their
    modules reaching at least ``link_capacity`` (rate unit), plus the link's ``fixed_cost``: the
    capacities priced as a design from scratch; nan when a link with capacity has no modules.

    The list runs only up to each link's capacity (:func:`_pareto_combinations`: its last level
    is the cheapest combination reaching it), not up to a design's largest level.
    """
    unit = unit_capacity_cost(network)
    total = 0.0
    for l in (range(network.n_links) if links is None else np.asarray(links).tolist()):
        need = float(link_capacity[l])
        if need <= 0:
            continue
        mods = default_modules(network.links[l], unit[l])
        if not mods:
            return float("nan")
        total += network.links[l].fixed_cost + min(cost for capacity, cost, _ in _pareto_combinations(mods, need)
                                                   if capacity >= need * (1 - 1e-12))
    return total
