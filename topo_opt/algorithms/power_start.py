"""A starting design for the min-power MILP: links switched off greedily under the delay bound.

From every link on, the link whose ports draw the most idle power
(P_port,tail + P_port,head) is switched off when the min-delay routing of the links left on
(capacities α·C, gap ``CHECK_GAP``) still meets T_max, else it stays on for good — the least
delay only grows when links go off, so it would fail later too
(:func:`~topo_opt.algorithms.modular_descent.greedy_level_descent` with two levels per link,
off and on).  Routers keep their chassis on where a demand starts or ends or a link stays on.
The result is offered to HiGHS as a MIP start: feasible for every round's MILP, whose delay
cuts only under-estimate the delay, so the MILP's incumbent is never worse than it.  This is
the link-switching greedy of energy-aware design (Chiaraviglio, Mellia and Neri, *Minimizing ISP
network energy cost*, IEEE/ACM ToN 2012), here with Kleinrock's average delay as the check.
"""
from __future__ import annotations

import numpy as np

from topo_opt.algorithms.modular_descent import check_budget, greedy_level_descent
from topo_opt.errors import TopoOptError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.power import NodePowerModel, powered_elements
from topo_opt.model.design import Routing
from topo_opt.model.network import Network
from topo_opt.algorithms.support_routing import min_delay_on_support

CHECK_GAP = 1e-4  # routing gap of each check (a design meets T_max when its routing's delay does)


def switch_off_start(network: Network, power: NodePowerModel, max_delay_s: float, *,
                     max_utilization: float = 1.0, include_fixed_delay: bool = True,
                     time_limit_s: float | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(link_on, node_on) booleans of the greedy design, or None when even every link on
    misses T_max.  The checks run without time limits, at most
    :func:`~topo_opt.algorithms.modular_descent.check_budget` of them for the solve's
    ``time_limit_s``: the start depends on the limit, never on the machine's load."""
    capacity = np.asarray(network.link_capacity, float) * max_utilization

    def meets(position: np.ndarray) -> bool:
        on = position.astype(bool)
        try:
            routed = min_delay_on_support(network, np.where(on, capacity, 0.0), gap=CHECK_GAP,
                                          include_fixed_delay=include_fixed_delay)
        except TopoOptError:  # disconnected, saturated, or feasibility undecided
            return False
        if max_utilization == 1:
            return routed.objective <= max_delay_s
        flow = routed.design.arc_flow(network)
        return DelayObjective.for_network(network, np.where(on, network.link_capacity, 0.0),
                                          include_fixed_delay).value(flow) <= max_delay_s

    everything = np.ones(network.n_links, dtype=np.int64)
    if not meets(everything):
        return None
    port = power.idle_port_w[network.link_source] + power.idle_port_w[network.link_target]
    cost = np.stack([np.zeros(network.n_links), port], axis=1).ravel()  # level 2l off, 2l+1 on
    lists = [np.array([2 * l, 2 * l + 1]) for l in range(network.n_links)]
    link_on = greedy_level_descent(lists, cost, everything, meets,
                                   check_budget(network.n_links, time_limit_s)).astype(bool)
    return powered_elements(network, np.zeros(network.n_arcs), link_on)


def greedy_routing(network: Network, link_on: np.ndarray, max_utilization: float = 1.0,
                   include_fixed_delay: bool = True) -> Routing:
    """The min-delay routing (capacities α·C, gap ``CHECK_GAP``) on the links of a greedy design:
    the routing its check found to meet T_max."""
    capacity = np.where(link_on, network.link_capacity, 0.0) * max_utilization
    return min_delay_on_support(network, capacity, gap=CHECK_GAP,
                                include_fixed_delay=include_fixed_delay).design.routing
