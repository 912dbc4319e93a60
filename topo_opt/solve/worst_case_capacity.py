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

Modular capacities (:func:`solve_worst_case_modular`): one capacity level per link, and the
deadline rows are linear in the level binaries (1/C_l = Σ_i y_i/c_i), so a MILP is exact.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp, minimize

from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.evaluators.worst_case import describe, worst_case_delays
from topo_opt.model.costs import capacity_levels, unit_capacity_cost
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status
from topo_opt.model.traffic import TrafficDescriptors
from topo_opt.algorithms.capacity_flow_assignment import fixed_routing


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


@dataclass(frozen=True)
class DeadlineProgram:
    """The data of ``A x ≤ D'``, ``x_l ≤ u_l`` for a fixed routing (module docstring).

    ``a`` (used paths × links, sparse, rate unit × s), ``slack`` D' (s), ``link_load`` the
    busiest queue's token-rate load per link (rate unit), ``deadline_s`` D_k per demand.
    """

    routing: Routing
    a: sp.csr_matrix
    slack: np.ndarray
    link_load: np.ndarray
    deadline_s: np.ndarray


def deadline_program(network: Network, traffic: TrafficDescriptors, routing_rule: str,
                     deadline: float | str, class_deadline: Mapping[str, float] | None,
                     time_limit_s: float | None) -> DeadlineProgram:
    """Routing, deadlines and the constraint data of the deadline design.

    Raises
    ------
    InvalidInputError
        ``"installed"`` deadlines on an instance without capacities.
    InfeasibleError
        A deadline at or below the processing and propagation delay of one of its paths.
    """
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
    load = system.server_load()  # Σ token rates ρ_f per queue: the bound needs load ≤ C
    link_load = np.zeros(network.n_links)
    np.maximum.at(link_load, network.queue_link, load)
    return DeadlineProgram(routing, a, slack, link_load, deadline_k)


def _checked(network: Network, traffic: TrafficDescriptors, program: DeadlineProgram,
             capacity: np.ndarray) -> tuple[Design, float]:
    """The design and max_k bound_k/D_k, the bound recomputed by the network-calculus evaluator."""
    design = Design.for_network(network, program.routing, link_capacity=capacity, link_on=capacity > 0)
    check = worst_case_delays(network, design, traffic, ("regulated",)).demand_delay_s["regulated"]
    return design, float(np.nanmax(check / program.deadline_s))


def _check_utilization(max_utilization: float) -> None:
    if not 0 < max_utilization <= 1:
        raise InvalidInputError(f"constraints.max_utilization must be in (0, 1], got {max_utilization!r}")


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
    _check_utilization(max_utilization)
    program = deadline_program(network, traffic, routing_rule, deadline, class_deadline, time_limit_s)
    a, slack, link_load = program.a, program.slack, program.link_load
    n_paths = a.shape[0]
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

    start = np.full(n_paths, 1.0 / max(n_paths, 1))
    options = {"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 30}
    outcome = minimize(negative_dual, start, jac=True, method="L-BFGS-B",
                       bounds=[(0.0, None)] * n_paths, options=options)
    x, bound = inner(outcome.x)
    x = x * min(1.0, float(np.min(1.0 / np.maximum(a_hat @ x, 1e-300))))
    capacity = np.zeros(network.n_links)
    capacity[used] = unit / x
    idle = ~used & (link_load > 0)
    capacity[idle] = link_load[idle] / max_utilization
    objective = float(cost @ capacity)
    lower = bound + float(cost[~used] @ capacity[~used])  # unconstrained links sit at their cap
    design, ratio = _checked(network, traffic, program, capacity)
    status = Status.OPTIMAL if (objective - lower) <= gap * objective and ratio <= 1 + 1e-9 else Status.FEASIBLE
    return SolveResult(
        status, "lagrangian-dual", "capacity_cost", "cost", objective=objective, lower_bound=min(lower, objective),
        design=design, solve_time_s=time.perf_counter() - began, iterations=int(outcome.nit),
        message=_deadline_message(ratio),
        details={"dual_solver_message": str(outcome.message), "routing_rule": routing_rule,
                 "deadline_s": program.deadline_s.tolist(), "max_utilization": max_utilization,
                 "max_bound_over_deadline": ratio, "max_packet": traffic.max_packet,
                 "lower_bound_source": "Lagrangian dual of the deadline-constrained assignment (routing fixed)",
                 "worst_case_method": "regulated (interleaved regulators, token buckets)"})


def _deadline_message(ratio: float) -> str:
    return f"every deadline met (largest bound/deadline {ratio:.9g})" if ratio <= 1 + 1e-9 \
        else f"a deadline is missed by a factor {ratio:.9g}"


def solve_worst_case_modular(network: Network, traffic: TrafficDescriptors, *, routing_rule: str,
                             deadline: float | str = "installed",
                             class_deadline: Mapping[str, float] | None = None,
                             max_utilization: float = 0.95, keep_installed: bool = True,
                             max_added_capacity: float | None = None, mip_gap: float = 1e-4,
                             time_limit_s: float = 600.0) -> SolveResult:
    """Cheapest module levels per link s.t. every demand's regulated bound ≤ its deadline.

    Each link takes exactly one capacity level c_i (installed capacity, if kept, plus a
    Pareto-efficient module combination, :func:`topo_opt.model.costs.capacity_levels`), chosen by
    binaries y_i.  Since 1/C_l = Σ_{i of l} y_i / c_i, the deadline rows Σ_l A_Pl / C_l ≤ D'_P are
    *linear* in y: the MILP (HiGHS through ``scipy.optimize.milp``) is exact, not an
    approximation, over the listed levels.  Levels below the load cap (c < F/α) are excluded.

    The reported bound holds over *every* module combination (up to ``max_added_capacity``):
    when a level list was thinned, a second MILP prices each listed level i at ``bound_cost``
    b_i, the cheapest combination of capacity in (c_{i−1}, c_i] (:class:`CapacityLevels`).  A
    dropped combination of capacity c in that range costs ≥ b_i, and level i meets every row it
    meets (A_Pl/c_i ≤ A_Pl/c) and the load cap (c_i ≥ c), so that MILP relaxes the problem over
    every combination and its dual bound is a bound of it (the same argument as the modular
    design's, :mod:`topo_opt.solve.modular_capacity`).  ``details["listed_levels_bound"]`` is the
    bound over the listed levels only.  Status ``optimal`` needs the design within ``mip_gap`` of
    the bound over every combination.  ``max_added_capacity`` defaults to twice the largest capacity the
    continuous design needs (at least twice the total demand), so a feasible level exists.

    Raises
    ------
    InfeasibleError
        No combination of the levels meets every deadline.
    """
    began = time.perf_counter()
    _check_utilization(max_utilization)
    program = deadline_program(network, traffic, routing_rule, deadline, class_deadline, time_limit_s)
    if max_added_capacity is None:
        continuous = solve_worst_case_capacity(network, traffic, routing_rule=routing_rule, deadline=deadline,
                                               class_deadline=class_deadline, max_utilization=max_utilization)
        max_added_capacity = 2.0 * max(float(continuous.design.link_capacity.max()), network.total_demand)
    links = np.array([i for i, link in enumerate(network.links) if link.installed], dtype=np.int64)
    levels = capacity_levels(network, max_added_capacity, keep_installed, links)
    need = program.link_load[levels.link] / max_utilization
    allowed = levels.capacity >= need * (1 - 1e-12)
    allowed &= (levels.capacity > 0) | (program.link_load[levels.link] == 0)
    with np.errstate(divide="ignore"):
        inverse = np.where(levels.capacity > 0, 1.0 / np.where(levels.capacity > 0, levels.capacity, 1.0), 0.0)
    rows = program.a[:, levels.link] @ sp.diags(inverse)  # path × level: A_{P,l(i)}/c_i
    rows = sp.diags(1.0 / program.slack) @ rows            # in units of each path's slack
    n_levels = len(levels.link)
    one_per_link = sp.csr_matrix((np.ones(n_levels), (np.searchsorted(links, levels.link), np.arange(n_levels))),
                                 shape=(len(links), n_levels))

    def level_milp(price: np.ndarray, limit_s: float):
        return milp(price, integrality=np.ones(n_levels), bounds=Bounds(np.zeros(n_levels), allowed.astype(float)),
                    constraints=[LinearConstraint(rows, -np.inf, 1.0), LinearConstraint(one_per_link, 1.0, 1.0)],
                    options={"mip_rel_gap": mip_gap, "time_limit": max(limit_s, 1.0)})

    result = level_milp(levels.cost, time_limit_s - (time.perf_counter() - began))
    if result.x is None:
        raise InfeasibleError(f"no module levels (up to {max_added_capacity:.6g} added per link) meet every "
                              f"deadline: {result.message}")
    picked = np.flatnonzero(result.x > 0.5)
    capacity = levels.link_capacity(picked, network.n_links)
    design, ratio = _checked(network, traffic, program, capacity)
    objective = float(levels.cost[picked].sum())
    listed_bound = float(getattr(result, "mip_dual_bound", np.nan))
    bound = listed_bound
    if levels.truncated:  # over every combination: each listed level at the cheapest one it dominates
        relaxed = level_milp(levels.bound_cost, time_limit_s - (time.perf_counter() - began))
        bound = float(getattr(relaxed, "mip_dual_bound", np.nan)) if relaxed.status in (0, 1) else -np.inf
    proven = bool(np.isfinite(bound)) and objective - bound <= mip_gap * max(abs(objective), 1e-12)
    if result.status == 1:
        status = Status.TIME_LIMIT
    elif ratio > 1 + 1e-9:
        status = Status.FEASIBLE
    else:  # optimal over the listed levels; over every combination only within mip_gap of the bound
        status = Status.OPTIMAL if proven else Status.ITERATION_LIMIT
    return SolveResult(
        status, "milp-levels", "capacity_cost", "cost", objective=objective,
        lower_bound=min(bound, objective) if np.isfinite(bound) else -np.inf, design=design,
        solve_time_s=time.perf_counter() - began, iterations=0, message=_deadline_message(ratio) + (
            "" if proven or result.status == 1 else "; optimal over the listed levels, the bound over every "
            "module combination is lower"),
        details={"milp_message": str(result.message), "routing_rule": routing_rule,
                 "deadline_s": program.deadline_s.tolist(), "max_utilization": max_utilization,
                 "max_bound_over_deadline": ratio, "max_packet": traffic.max_packet, "levels": n_levels,
                 "levels_truncated_links": [network.links[i].id for i in levels.truncated],
                 "max_added_capacity": max_added_capacity, "keep_installed": keep_installed,
                 "listed_levels_bound": listed_bound,
                 "lower_bound_source": "MILP dual bound over every module combination (routing fixed)"
                 + (": each listed level priced at the cheapest combination it dominates" if levels.truncated else ""),
                 "worst_case_method": "regulated (interleaved regulators, token buckets)"})
