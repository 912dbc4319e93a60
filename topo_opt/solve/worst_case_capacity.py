"""Cheapest link capacities meeting a per-demand deadline on the worst-case delay bound.

Routing fixed (``routing.rule``), traffic shaped by token buckets (:mod:`topo_opt.model.traffic`)
and reshaped at every hop by interleaved regulators, so the bound of a path P is the sum of the
per-hop bounds of :func:`topo_opt.evaluators.worst_case.regulated` (token-bucket form):

    D_P(C) = Σ_{q∈P} [ (M + B_q)/C_{l(q)} + π_q ] + τ_P ≤ D_k        for every used path P of k,

B_q the sum of the bursts of the flows through queue q, M the largest packet, π_q processing
and τ_P propagation.  With x_l = 1/C_l this is the convex program

    min Σ_l d_l / x_l   s.t.   A x ≤ D',   0 < x_l ≤ u_l = α/max_{q∈l} F_q,

A_{Pl} = Σ_{q∈P, q on l} (M + B_q), D'_P = D_k − Σ π − τ_P, α the utilisation cap (C ≥ F/α
keeps every queue stable, which the bound needs).  Its Lagrangian separates per link:

    g(λ) = Σ_l min_{0<x≤u_l} (d_l/x + w_l x) − λ·D',   w = Aᵀλ,
    min_x = 2√(d_l w_l) at x = √(d_l/w_l) when that is ≤ u_l, else d_l/u_l + w_l u_l,

a concave C¹ function of λ ≥ 0 whose every value is a **lower bound** on the minimum cost
(weak duality).  g is maximised by L-BFGS-B; the primal point x(λ) is scaled down by
s = min(1, min_P D'_P/(A x)_P) so that every deadline holds, giving the incumbent; the gap
(cost − g)/cost is certified.  Peak rates are not used (the token-bucket bound is above the
dual-bucket one, so the design is safe for them too).  The returned design is re-evaluated by
the network-calculus evaluator, not by this formula (``details["max_bound_over_deadline"]``).
"""
from __future__ import annotations

import math
import time
from typing import Mapping

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.evaluators.worst_case import describe, worst_case_delays
from topo_opt.model.costs import unit_capacity_cost
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.traffic import TrafficDescriptors
from topo_opt.solve.capacity_assignment import fixed_routing
from topo_opt.solve.result import SolveResult, Status


def deadlines_for(network: Network, deadline: float | str, class_deadline: Mapping[str, float],
                  installed_bounds: np.ndarray | None) -> np.ndarray:
    """D_k per demand: ``class_deadline[class]``, else ``deadline`` (s); ``"installed"`` is the
    largest bound of the installed network, one deadline for every demand (per-demand installed
    bounds would make the installed capacities optimal whenever every link has a one-hop demand)."""
    out = np.empty(network.n_demands)
    for k, d in enumerate(network.demands):
        if d.demand_class in class_deadline:
            out[k] = float(class_deadline[d.demand_class])
        elif deadline == "installed":
            out[k] = float(np.nanmax(installed_bounds))
        else:
            out[k] = float(deadline)
    return out


def solve_worst_case_capacity(network: Network, traffic: TrafficDescriptors, *, routing_rule: str,
                              deadline: float | str = "installed",
                              class_deadline: Mapping[str, float] | None = None,
                              max_utilization: float = 0.95, gap: float = 1e-6,
                              max_iterations: int = 10_000, time_limit_s: float | None = None) -> SolveResult:
    """Min Σ d_l C_l s.t. every demand's regulated worst-case bound ≤ its deadline.

    Raises
    ------
    InvalidInputError
        A utilisation cap outside (0, 1], or ``"installed"`` deadlines on an instance without
        capacities.
    InfeasibleError
        A deadline at or below the processing and propagation delay of one of its paths.
    """
    began = time.perf_counter()
    if not 0 < max_utilization <= 1:
        raise InvalidInputError(f"capacity.max_utilization must be in (0, 1], got {max_utilization!r}")
    routing = fixed_routing(network, routing_rule, 1e-6, time_limit_s, True)
    installed = Design.for_network(network, routing)
    installed_bounds = None
    if deadline == "installed" and set(d.demand_class for d in network.demands) - set(class_deadline or {}):
        if not np.all(network.link_capacity > 0):
            raise InvalidInputError(f"instance {network.name!r} has links without capacity: give "
                                    "deadline.max_delay_s in seconds")
        installed_bounds = worst_case_delays(network, installed, traffic, ("regulated",)).demand_delay_s["regulated"]
    deadline_k = deadlines_for(network, deadline, class_deadline or {}, installed_bounds)

    system = describe(network, installed, traffic)  # paths and bursts; capacities are the variables
    n_q = network.n_queues
    burst_at = np.bincount(system.flow_servers, weights=system.flow_burst[system.hop_flow], minlength=n_q)
    coefficient = traffic.max_packet + burst_at                     # M + B_q (rate unit × s)
    processing = np.zeros(n_q)
    np.maximum.at(processing, network.arc_queue, network.node_processing_s[network.arc_tail])
    hop_link = network.queue_link[system.flow_servers]
    a = sp.csr_matrix((coefficient[system.flow_servers], (system.hop_flow, hop_link)),
                      shape=(system.n_flows, network.n_links))
    a.sum_duplicates()
    fixed = system.flow_fixed_delay_s + np.bincount(system.hop_flow, weights=processing[system.flow_servers],
                                                    minlength=system.n_flows)
    slack = deadline_k[system.flow_demand] - fixed
    if np.any(slack <= 0):
        f = int(np.argmin(slack))
        demand = network.demands[int(system.flow_demand[f])]
        raise InfeasibleError(f"demand {demand.id!r}: deadline {deadline_k[system.flow_demand[f]]:.6g} s does not "
                              f"exceed the propagation and processing delay {fixed[f]:.6g} s of its path")

    load = network.queue_load(routing.arc_flow(network.demand_rate, network.n_arcs))
    link_load = np.zeros(network.n_links)
    np.maximum.at(link_load, network.queue_link, load)
    used = np.asarray(a.sum(axis=0)).ravel() > 0
    cost = unit_capacity_cost(network)
    # scaled units: capacities in multiples of U, constraints divided by their deadline slack
    unit = float(link_load.max()) if link_load.max() > 0 else 1.0
    a_hat = sp.diags(1.0 / slack) @ a[:, used] / unit
    d = cost[used] * unit
    with np.errstate(divide="ignore"):
        upper = np.where(link_load[used] > 0, max_utilization * unit / link_load[used], np.inf)

    def inner(lam: np.ndarray) -> tuple[np.ndarray, float]:
        w = a_hat.T @ lam
        with np.errstate(divide="ignore", over="ignore"):  # w = 0: the link sits at its cap
            free = np.sqrt(d / np.where(w > 0, w, 1e-300))
        x = np.minimum(free, upper)
        return x, float(np.sum(d / x + w * x)) - float(lam.sum())

    def negative_dual(lam: np.ndarray) -> tuple[float, np.ndarray]:
        x, value = inner(lam)
        return -value, -(a_hat @ x - 1.0)

    start = np.full(system.n_flows, 1.0 / max(system.n_flows, 1))
    options = {"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 30}
    outcome = minimize(negative_dual, start, jac=True, method="L-BFGS-B",
                       bounds=[(0.0, None)] * system.n_flows, options=options)
    lam = outcome.x
    x, bound = inner(lam)
    scale = min(1.0, float(np.min(1.0 / np.maximum(a_hat @ x, 1e-300))))
    x = x * scale
    capacity = np.zeros(network.n_links)
    capacity[used] = unit / x
    capacity[~used & (link_load > 0)] = link_load[~used & (link_load > 0)] / max_utilization
    objective = float(cost @ capacity)
    lower = bound + float(cost[~used] @ capacity[~used])  # unconstrained links sit at their cap
    design = Design.for_network(network, routing, link_capacity=capacity, link_on=capacity > 0)
    check = worst_case_delays(network, design, traffic, ("regulated",)).demand_delay_s["regulated"]
    ratio = float(np.nanmax(check / deadline_k))
    status = Status.OPTIMAL if (objective - lower) <= gap * objective and ratio <= 1 + 1e-9 else Status.FEASIBLE
    return SolveResult(
        status, "lagrangian-dual", "capacity_cost", "cost", objective=objective, lower_bound=min(lower, objective),
        design=design, solve_time_s=time.perf_counter() - began, iterations=int(outcome.nit),
        message=f"every deadline met (largest bound/deadline {ratio:.9g})" if ratio <= 1 + 1e-9
        else f"a deadline is missed by a factor {ratio:.9g}",
        details={"dual_solver_message": str(outcome.message), "routing_rule": routing_rule, "deadline_s": deadline_k.tolist(), "max_utilization": max_utilization,
                 "max_bound_over_deadline": ratio, "max_packet": traffic.max_packet,
                 "lower_bound_source": "Lagrangian dual of the deadline-constrained assignment (routing fixed)",
                 "worst_case_method": "regulated (interleaved regulators, token buckets)"})
