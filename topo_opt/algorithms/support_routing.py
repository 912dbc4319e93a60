"""Certified min-delay routing on the links a design gives capacity, in the full network's terms.

Capacity designs leave some links at capacity 0 (unused or not built); the min-delay methods
need C > 0 on every queue, so the routing runs on the sub-network of the links with capacity
and its paths are mapped back to the arcs of the full network.
"""
from __future__ import annotations

import numpy as np

from topo_opt.algorithms.shortest_paths import raise_unreachable
from topo_opt.errors import InfeasibleError
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult
from topo_opt.model.validation import sub_network


def min_delay_on_support(network: Network, link_capacity: np.ndarray, *, gap: float = 1e-6,
                         time_limit_s: float | None = None, include_fixed_delay: bool = True,
                         start: Routing | None = None, threshold: float | None = None) -> SolveResult:
    """:func:`~topo_opt.algorithms.gradient_projection.solve_min_delay_gp` on links with C > 0.

    The returned design is on ``network``: capacities ``link_capacity``, links without capacity
    off.  ``start`` (on ``network``) is a warm start; one through a link without capacity is ignored.
    ``threshold`` (s) makes it a decision, "min T ≤ threshold?", answered as soon as it is proven
    (``details["decision"]``; see :class:`~topo_opt.algorithms.flow_deviation.CertifiedProgress`).

    Raises
    ------
    InfeasibleError
        When the links with capacity cannot carry the demands (disconnected or saturated cut).
    """
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp

    link_capacity = np.asarray(link_capacity, float)
    support = np.flatnonzero(link_capacity > 0)
    if support.size == 0:
        raise_unreachable(network, np.arange(network.n_demands), link_capacity)
    if len(support) == network.n_links:
        return solve_min_delay_gp(network, link_capacity=link_capacity, gap=gap,
                                  time_limit_s=time_limit_s, start=start,
                                  include_fixed_delay=include_fixed_delay, threshold=threshold)
    sub, to_network = sub_network(network, keep_link=link_capacity > 0)
    sub_start = None
    if start is not None:
        to_sub = np.full(network.n_arcs, -1)
        to_sub[to_network] = np.arange(len(to_network))
        sub_start = start.on_arcs(to_sub)
        if np.any(sub_start.arcs < 0):  # through a link without capacity: no start on the support
            sub_start = None
    try:
        result = solve_min_delay_gp(sub, link_capacity=link_capacity[support], gap=gap,
                                    time_limit_s=time_limit_s, start=sub_start,
                                    include_fixed_delay=include_fixed_delay, threshold=threshold)
    except InfeasibleError as exc:
        if exc.details.get("reason") != "unreachable":
            raise
        # said again on the full network: the links left out may join the ends without capacity
        raise_unreachable(network, [network.demand_index[d] for d in exc.details["demands"]], link_capacity)
        raise
    result.design = Design.for_network(network, result.design.routing.on_arcs(to_network),
                                       link_capacity=link_capacity, link_on=link_capacity > 0)
    return result


def decision_threshold(max_delay_s: float | None, max_utilization: float) -> float | None:
    """T_max as the ``threshold`` of a design check's routing (:func:`min_delay_on_support`), or
    None (route to the check's gap).

    A design check routes on α·C and asks whether that routing's T on C is at most T_max.  With
    α = 1 both are T on C: an iterate with T ≤ T_max is a witness that the design meets T_max,
    and a certified lower bound above T_max proves that no routing does, so the routing at the
    gap would have missed too.  With α < 1 the routing minimises T on α·C, and a lower bound on
    min T(α·C) does not prove a miss on C (T on C is smaller at every flow): None (and for
    α > 1, which the cards reject, T on α·C would understate T on C).
    """
    return max_delay_s if max_utilization == 1 else None
