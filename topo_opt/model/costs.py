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
