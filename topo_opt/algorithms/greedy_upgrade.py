"""Greedy module addition: a starting upgrade of the installed network for a delay bound.

From every link at its first level (the installed capacity), repeat: route the design; if its
delay meets T_max, stop; else move the one link to its next level that buys the most packets
per unit of cost at the current loads,

    gain_l = Σ_{q of l} [ F_q/(c_i − F_q) − F_q/(c_{i+1} − F_q) ] / (cost_{i+1} − cost_i),

the drop of the queues' packets N (Kleinrock) with the flows held fixed (the rerouting after the
step only lowers N further).  The classic greedy for capacity expansion (Minoux 1989,
*Networks synthesis and optimum network design problems*, Networks 19); the result is then
pruned by greedy module removal (:mod:`~topo_opt.algorithms.modular_descent`).

When the installed network cannot carry the demands (a failure saturates a cut), the greedy
starts from :func:`carrying_levels`: the installed capacities plus what the min-cost capacity
LP buys on top of them (:mod:`~topo_opt.algorithms.min_cost_routing`), rounded up to levels.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from topo_opt.algorithms.min_cost_routing import min_cost_capacity
from topo_opt.errors import TopoOptError
from topo_opt.model.costs import CapacityLevels, covering_levels, unit_capacity_cost
from topo_opt.model.network import Network

#: route(levels picked) -> (whether the design meets T_max, its queue loads; None if it cannot route)
Route = Callable[[np.ndarray], tuple[bool, np.ndarray | None]]


def greedy_upgrade(network: Network, levels: CapacityLevels, route: Route, max_steps: int,
                   start: np.ndarray | None = None) -> np.ndarray | None:
    """The levels picked (one per link with levels, in link order) of the first design that
    meets T_max, from ``start`` (levels picked; default every link's first), or None when a
    design cannot be routed, no step is left or ``max_steps`` routings did not reach T_max."""
    first = np.flatnonzero(np.r_[True, levels.link[1:] != levels.link[:-1]])
    last = np.r_[first[1:], len(levels.link)] - 1
    picked = first.copy() if start is None else np.asarray(start).copy()
    queues = [np.flatnonzero(network.queue_link == l) for l in levels.link[first].tolist()]
    for _ in range(max_steps):
        meets, load = route(picked)
        if meets:
            return picked
        if load is None:
            return None
        gain = np.full(len(picked), -np.inf)
        for position, (i, mine) in enumerate(zip(picked.tolist(), queues)):
            if i == last[position]:
                continue
            flow = load[mine]
            now, after = levels.capacity[i], levels.capacity[i + 1]
            held = np.sum(np.where(flow < now, flow / np.maximum(now - flow, 1e-300), np.inf))
            gain[position] = (held - np.sum(flow / (after - flow))) / max(levels.cost[i + 1] - levels.cost[i], 1e-300)
        if not np.any(np.isfinite(gain)):
            return None
        picked = picked.copy()
        picked[int(np.argmax(gain))] += 1
    return None


def carrying_levels(network: Network, levels: CapacityLevels, links: np.ndarray,
                    time_limit_s: float | None = None) -> np.ndarray | None:
    """Per link with levels (in link order): the cheapest level covering its installed capacity
    plus what the min-cost capacity LP (installed capacity free, linear prices) buys, with a
    margin of 1e-6 so the LP's flows fit strictly; None when the LP does not solve."""
    try:
        lp = min_cost_capacity(network, unit_capacity_cost(network), links, time_limit_s, free=network.link_capacity)
    except TopoOptError:
        return None
    picked = covering_levels(levels, (network.link_capacity + lp.capacity) * (1 + 1e-6))
    return np.where(picked >= 0, picked, levels.largest())
