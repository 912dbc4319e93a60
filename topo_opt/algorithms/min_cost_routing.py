"""Cheapest capacities that carry the demands, with no delay bound: the min-cost multicommodity LP.

With linear capacity prices d_l and no delay bound (T_max → ∞), joint capacity and flow design
is the linear program (source-aggregated flows x_s, one commodity per origin s)

    min Σ_l d_l C_l   s.t.   A x_s = b_s  (every origin s),   Σ_s Σ_{a∈q} x_{s,a} ≤ C_l(q)  (every queue q),
    x ≥ 0,

the linear relaxation of SNDlib's pure-cost network design (Orlowski et al. 2010, *SNDlib 1.0 —
Survivable Network Design Library*, Networks 55).  Every capacity assignment that carries the
demands is feasible for it, so its value is a lower bound on the continuous design for *any*
delay bound.  Solved by HiGHS (:func:`scipy.optimize.linprog`).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from topo_opt.errors import InfeasibleError, TopoOptError
from topo_opt.evaluators.delay import capacity_per_load
from topo_opt.model.costs import CapacityLevels
from topo_opt.model.network import Network

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MinCostCapacity:
    """The LP's capacities (rate unit, per link), arc flows (rate unit) and value Σ d_l C_l."""

    capacity: np.ndarray
    arc_flow: np.ndarray
    cost: float


def min_cost_capacity(network: Network, unit_cost: np.ndarray, links: np.ndarray | None = None,
                      time_limit_s: float | None = None, free: np.ndarray | None = None) -> MinCostCapacity:
    """Solve the module docstring's LP over ``links`` (default: every link).

    ``free`` (per link, rate unit): capacity that costs nothing, e.g. installed capacity that is
    kept; the LP then buys C_l on top of it (queue rows Σ x ≤ free_l + C_l) and ``capacity`` is
    what it buys.

    Raises
    ------
    InfeasibleError
        Some demand cannot be routed over ``links``.
    TopoOptError
        HiGHS stopped without an optimum (e.g. the time limit).
    """
    usable = np.zeros(network.n_links, dtype=bool)
    usable[np.arange(network.n_links) if links is None else links] = True
    arcs = np.flatnonzero(usable[network.arc_link])
    origins, origin_of_demand = np.unique(network.demand_source, return_inverse=True)
    n_s, n_a, n_l = len(origins), len(arcs), network.n_links
    # LP numbers O(1) whatever the units: prices per bit/s (~1e-9) lie below HiGHS's dual
    # feasibility tolerance (1e-7), which then stops at a vertex that is not optimal
    scale = float(network.demand_rate.max())
    price = np.asarray(unit_cost, float)
    price_scale = float(price[usable].max())
    supply = np.zeros((n_s, network.n_nodes))
    np.add.at(supply, (origin_of_demand, network.demand_source), network.demand_rate / scale)
    np.add.at(supply, (origin_of_demand, network.demand_target), -network.demand_rate / scale)
    incidence = network.node_arc_incidence[:, arcs]
    balance = sp.hstack([sp.kron(sp.identity(n_s), incidence), sp.csr_matrix((n_s * network.n_nodes, n_l))])
    queue_of_arc = sp.csr_matrix((np.ones(n_a), (network.arc_queue[arcs], np.arange(n_a))),
                                 shape=(network.n_queues, n_a))
    link_of_queue = sp.csr_matrix((np.ones(network.n_queues), (np.arange(network.n_queues), network.queue_link)),
                                  shape=(network.n_queues, n_l))
    capacity_rows = sp.hstack([sp.kron(np.ones((1, n_s)), queue_of_arc), -link_of_queue])
    room = np.zeros(network.n_queues) if free is None else np.asarray(free, float)[network.queue_link] / scale
    cost = np.concatenate([np.zeros(n_s * n_a), price / price_scale])
    bounds = np.zeros((n_s * n_a + n_l, 2))
    bounds[:, 1] = np.inf
    bounds[n_s * n_a:][~usable, 1] = 0.0
    lp = linprog(cost, A_ub=capacity_rows.tocsc(), b_ub=room, A_eq=balance.tocsc(),
                 b_eq=supply.ravel(), bounds=bounds, method="highs",
                 options={} if time_limit_s is None else {"time_limit": max(time_limit_s, 0.0)})
    if lp.status == 2:
        raise InfeasibleError(f"{network.name}: the links given cannot carry every demand")
    if lp.status != 0:
        raise TopoOptError(f"{network.name}: the min-cost capacity LP did not solve: {lp.message}")
    flow = np.zeros(network.n_arcs)
    flow[arcs] = np.maximum(lp.x[:n_s * n_a], 0.0).reshape(n_s, n_a).sum(axis=0) * scale
    return MinCostCapacity(np.maximum(lp.x[n_s * n_a:], 0.0) * scale, flow, float(lp.fun) * scale * price_scale)


def flow_cost_bound(network: Network, levels: CapacityLevels, max_queue_packets: float,
                    max_utilization: float = 1.0, time_limit_s: float | None = None,
                    installed: np.ndarray | None = None) -> float:
    """A lower bound on the cost of every design (every module combination) that meets the
    delay bound: the min-cost capacity LP at the cheapest price per unit.

    With κ_l = min over the modules of link l of cost/capacity, any combination adding capacity
    A_l costs ≥ κ_l A_l (fixed costs are ≥ 0).  A design meeting T ≤ T_max routes F with
    Σ_q F_q/(C_q − F_q) ≤ N_max (``max_queue_packets``: γ T_max less the least fixed-delay
    packets), so every queue has C ≥ m F_q with m = 1 + 1/N_max, and C ≥ F_q/u under a
    utilisation cap u (m = max(1 + 1/N_max, 1/u), :func:`~topo_opt.evaluators.delay.capacity_per_load`).  From scratch (C = A) this gives, over the
    links that have levels,

        cost ≥ m · Σ_l κ_l max_{q of l} F_q ≥ m · LP(κ),

    LP(κ) the min-cost capacity LP (:mod:`~topo_opt.algorithms.min_cost_routing`), SNDlib's
    linear relaxation without a delay bound.  For an upgrade that keeps ``installed`` capacities
    C⁰ (C = C⁰ + A): A_l ≥ m F_q − C⁰_l, so cost ≥ m Σ_l κ_l (F_l − C⁰_l/m)⁺ ≥ m · LP(κ, free C⁰/m)
    (``min_cost_capacity`` with ``free``).  Valid whatever the levels listed; weak where
    capacity is far above the flow.  -inf when the LP does not solve within ``time_limit_s``.
    """
    unit = levels.unit_price(network.n_links)
    priced = np.flatnonzero(np.isfinite(unit))
    factor = capacity_per_load(max_utilization, max_queue_packets)
    try:
        lp = min_cost_capacity(network, np.where(np.isfinite(unit), unit, 0.0), priced, time_limit_s,
                               None if installed is None else np.asarray(installed, float) / factor)
    except InfeasibleError:
        return math.inf
    except TopoOptError as exc:
        logger.info("no flow-cost bound: %s", exc)
        return -math.inf
    return factor * lp.cost
