"""Lower bounds on the cheapest modular upgrade (installed capacities kept) that meets T_max.

An upgrade picks one level per link (:class:`~topo_opt.model.costs.CapacityLevels` with the
installed capacity as each link's first level, cost 0); a dropped module combination of capacity
in (c_{i−1}, c_i] costs at least ``bound_cost[i]`` (b_i), and more capacity never raises the
least delay, so each bound below holds over *every* module combination up to the largest level.
The largest of three is reported:

* **flow cost** -- the min-cost capacity LP with the installed capacity free and added capacity
  at the cheapest module price per unit, flows scaled by max(1 + 1/N_max, 1/u)
  (:func:`~topo_opt.algorithms.min_cost_routing.flow_cost_bound`);
* **single-link screen** -- when the installed network is proven to miss T_max (its min-delay
  routing's lower bound exceeds T_max), every upgrade adds capacity to one link or more.  For a
  link l, let i_l be its first level whose capacity is not proven too small *alone* (every other
  link installed; found by bisection, since the least delay falls with capacity).  An upgrade of
  l alone costs ≥ b_{i_l}; an upgrade of two links or more costs ≥ the two smallest b of the
  links' second levels (their cheapest combinations).  Hence

      cost ≥ min( U, min_l b_{i_l}, m₁ + m₂ ),

  U the best design's cost (a design cheaper than U that the screen cannot rule out is one of
  these cases).  Links are screened in order of their cheapest module, and a link's bisection
  stops at the current bound, so most links cost one routing or none;
* **Lagrangian** -- :func:`~topo_opt.algorithms.modular_lagrangian_bound.lagrangian_bound`
  over the full Pareto lists (its per-link minimum costs little per level, and a thinned level
  priced at ``bound_cost`` weakens it), with the same "some link grows" cover when the installed
  network is proven too small, from
  the marginal delays of the installed network's min-delay routing (of the best design's when
  the installed network cannot carry the demands).

The screen's designs that meet T_max (a link alone at its level i_l) are returned as
incumbents.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from topo_opt.algorithms.min_cost_routing import flow_cost_bound
from topo_opt.algorithms.modular_lagrangian_bound import lagrangian_bound
from topo_opt.model.costs import CapacityLevels
from topo_opt.model.network import Network

#: check(levels picked, warm-start design or None) -> (record when it meets T_max else None, the routings)
Check = Callable[[np.ndarray], tuple]


@dataclass(frozen=True)
class UpgradeBound:
    """The bound (cost unit), which of the three gave it, each of them, and the cheapest design
    that meets T_max found by the screen (a ``check`` record) or None."""

    bound: float
    source: str
    parts: dict
    design: tuple | None


def _proven_too_small(routings: list, max_delay_s: float) -> bool:
    return any(r.delay_bound_s is not None and r.delay_bound_s > max_delay_s for r in routings)


def _screen(levels: CapacityLevels, max_delay_s: float, best_cost: float, check: Check,
            deadline: float) -> tuple[float, tuple | None]:
    """The single-link screen of the module docstring: (bound, cheapest design it found).  At
    ``deadline`` (``time.perf_counter()``) the links not screened yet count at their cheapest
    module (still a bound, a weaker one)."""
    first = np.flatnonzero(np.r_[True, levels.link[1:] != levels.link[:-1]])
    ends = np.r_[first[1:], len(levels.link)]
    base = first.copy()
    cheapest = np.asarray([levels.bound_cost[s + 1] if e > s + 1 else math.inf for s, e in zip(first, ends)])
    two = np.sort(cheapest)[:2].sum() if len(cheapest) > 1 else math.inf
    bound, found = min(best_cost, two), None
    for position in np.argsort(cheapest, kind="stable").tolist():
        if cheapest[position] >= bound:
            break  # every later link's single upgrade costs at least the bound already
        if time.perf_counter() > deadline:
            bound = float(cheapest[position])  # this and every later link: at least its cheapest module
            break
        start, end = int(first[position]), int(ends[position])
        # bisection over the link's levels priced below the bound: the first one not proven too small
        low, high = start + 1, start + int(np.searchsorted(levels.bound_cost[start + 1:end], bound, side="right")) + 1
        while low < high:
            middle = (low + high) // 2
            picked = base.copy()
            picked[position] = middle
            record, routings = check(picked)
            if _proven_too_small(routings, max_delay_s):
                low = middle + 1
            else:
                high = middle
                if record is not None and record[2] < (found[2] if found else best_cost):
                    found = record
        if low < end and levels.bound_cost[low] < bound:
            bound = float(levels.bound_cost[low])
    return float(min(bound, found[2]) if found else bound), found


def upgrade_bound(network: Network, levels: CapacityLevels, pareto: CapacityLevels, max_delay_s: float,
                  max_queue_packets: float, best: tuple, check: Check, *, max_utilization: float = 1.0,
                  include_fixed_delay: bool = True, time_limit_s: float = math.inf) -> UpgradeBound:
    """The largest of the module docstring's bounds, given the best design ``best`` (a ``check``
    record: design, picked levels, cost, delay, worst delay) and ``check(picked, start)`` to
    route level choices (``start``: a design whose routing may warm-start the check).
    ``pareto``: the same links' levels unthinned (``capacity_levels(..., thin=False)``), for the
    Lagrangian bound (on germany50, link L1 failed, demands ×1.1: 47.1k over these before the
    Polyak steps, 34.7k over the thinned lists; benchmarks/BENCHMARKS.md).

    ``max_queue_packets`` is γ T_max less the least fixed-delay packets (N_max of the flow-cost
    bound).  Within ``time_limit_s`` (s): the screen gets half of it, the Lagrangian bound the
    rest; cut short, both are still bounds.
    """
    began = time.perf_counter()
    parts = {"flow_cost": flow_cost_bound(network, levels, max_queue_packets, max_utilization, time_limit_s,
                                          installed=network.link_capacity)}
    first = np.flatnonzero(np.r_[True, levels.link[1:] != levels.link[:-1]])
    _, routings = check(first, None)
    needs_capacity = _proven_too_small(routings, max_delay_s)
    found = None
    if needs_capacity:  # the screen's designs only add capacity: the installed routing warm-starts them
        parts["single_link"], found = _screen(levels, max_delay_s, best[2],
                                              lambda picked: check(picked, routings[0].design),
                                              began + time_limit_s / 2)
        if found is not None:
            best = found
    design = routings[0].design if routings[0].design is not None else best[0]  # the installed network's routing
    load = network.queue_load(design.arc_flow(network))
    capacity = network.queue_capacity(design.link_capacity)
    slack = capacity - load
    marginal = np.divide(capacity, slack ** 2, out=np.zeros_like(slack), where=slack > 0)
    parts["lagrangian"] = lagrangian_bound(network, pareto, max_delay_s, marginal, max_utilization=max_utilization,
                                           include_fixed_delay=include_fixed_delay, target=best[2],
                                           cover=needs_capacity, deadline=began + time_limit_s).value
    parts = {name: float(value) for name, value in parts.items()}
    source = max(parts, key=parts.get)
    return UpgradeBound(min(parts[source], best[2]), source, parts, found)
