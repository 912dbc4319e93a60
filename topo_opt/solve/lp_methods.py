"""LP routing methods solved with HiGHS: min max-utilisation, min-hop with capacities,
Fortz–Thorup cost.  Each returns a :class:`SolveResult` whose design routes every demand on the
paths of the flow decomposition of the LP's source flows.  Whether the capacities can carry the
demands at all is decided by :func:`~topo_opt.algorithms.max_concurrent_flow.find_feasible_flow`
(the reason names the saturated cut).

The min max-utilisation LP's queues whose utilisation rows have a nonzero dual form the
bottleneck (LP duality: U* = Σ_k r_k dist_π(s_k, t_k) / Σ_q π_q C_q).
"""
from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo

from topo_opt.algorithms.flow_decomposition import decompose_source_flows
from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.algorithms.shortest_paths import raise_unreachable, unreachable_demands
from topo_opt.errors import InfeasibleError
from topo_opt.formulations.linear_objectives import (
    define_capacity_limits, define_fortz_thorup_objective, define_total_arc_flow_limit,
    define_total_arc_flow_objective, fortz_thorup_cost,
)
from topo_opt.formulations.max_utilization import build_max_utilization_model
from topo_opt.formulations.multicommodity import build_multicommodity_model
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status
from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size

def _usable_arcs(network: Network, link_capacity: np.ndarray | None) -> np.ndarray:
    return network.queue_capacity(link_capacity)[network.arc_queue] > 0


def _check_connected(network: Network, link_capacity: np.ndarray | None) -> None:
    blocked = unreachable_demands(network, _usable_arcs(network, link_capacity))
    if blocked.size:
        raise_unreachable(network, blocked)


def _solve_lp(network: Network, model: pyo.ConcreteModel, *, method: str, objective_name: str,
              objective_unit: str, bound_scale: float, evaluate, link_capacity: np.ndarray | None,
              time_limit_s: float | None, algorithm: str = "choose"
              ) -> tuple[SolveResult, HighsSolver]:
    """Solve ``model``, decompose its flows and report ``evaluate(arc_flow)`` of the design."""
    start = time.perf_counter()
    solver = HighsSolver(model, HighsOptions(time_limit_s=time_limit_s, algorithm=algorithm))
    outcome = solver.solve()
    details = {**model_size(model), "simplex_iterations": outcome.simplex_iterations,
               "highs_status": outcome.message}
    result = SolveResult(outcome.status, method, objective_name, objective_unit,
                         message=outcome.message, details=details, iterations=1)
    if outcome.status is Status.OPTIMAL:
        layout = model.layout
        flows = layout.source_flows(solver.values(model.source_flow), network.n_arcs)
        routing = decompose_source_flows(network, layout.sources, flows)
        result.design = Design.for_network(network, routing, link_capacity=link_capacity)
        result.objective = float(evaluate(result.design.arc_flow(network)))
        result.lower_bound = outcome.bound * bound_scale
    result.solve_time_s = time.perf_counter() - start
    result.history.append({"iteration": 1, "time_s": result.solve_time_s,
                           "objective": result.objective, "lower_bound": result.lower_bound,
                           "gap": result.gap})
    return result, solver


def solve_max_utilization(network: Network, link_capacity: np.ndarray | None = None,
                          time_limit_s: float | None = None) -> SolveResult:
    """Min max-utilisation routing: min U s.t. F_q ≤ U·C_q (exact LP).

    ``details["saturated_queues"]`` lists the queues whose utilisation row has a nonzero dual
    (the bottleneck), largest dual first, and ``details["saturated_links"]`` their links.

    Raises
    ------
    InfeasibleError
        When a demand has no path over links of positive capacity (``details["reason"] ==
        "unreachable"``).
    """
    _check_connected(network, link_capacity)
    capacity = network.queue_capacity(link_capacity)
    model = build_max_utilization_model(network, link_capacity)
    result, solver = _solve_lp(
        network, model, method="max-utilization-lp", objective_name="max_utilization",
        objective_unit="", bound_scale=1.0, link_capacity=link_capacity, time_limit_s=time_limit_s,
        algorithm="ipm",  # cold dual simplex is 4x slower on grid4 (18 s vs 4 s)
        evaluate=lambda flow: np.max(network.queue_load(flow)[model.layout.queues]
                                     / capacity[model.layout.queues]))
    if result.status is Status.OPTIMAL:
        dual = np.abs(solver.duals(model.utilization_limit))
        order = np.argsort(-dual, kind="stable")
        queues = model.layout.queues[order[dual[order] > 1e-9 * dual.max()]]
        links = dict.fromkeys(network.links[i].id for i in network.queue_link[queues].tolist())
        result.details["saturated_queues"] = queues.tolist()
        result.details["saturated_links"] = list(links)
    return result


#: Relative slack on the min-hop optimum H* in the tie-break LP (Σ_a F_a ≤ H*(1 + slack)), so
#: that rounding in H* cannot make the second LP infeasible; the reported objective moves by at
#: most this much (when the second LP fails anyway, the first LP's routing is kept).
HOP_TIE_BREAK_SLACK = 1e-11


def solve_min_hop(network: Network, link_capacity: np.ndarray | None = None,
                  time_limit_s: float | None = None) -> SolveResult:
    """Min-hop routing with capacities: min Σ_a F_a s.t. F_q ≤ C_q.

    The objective ``total_arc_flow`` (rate unit) is Σ_a F_a = Σ_k r_k · (mean hop count of k).
    Ties are broken towards the less loaded routes: among the routings within
    :data:`HOP_TIE_BREAK_SLACK` of the optimum H*, a second LP picks one of least max utilisation
    (min U s.t. F_q ≤ U·C_q, Σ_a F_a ≤ H*(1 + slack)).  A vertex of the first LP alone often
    fills some link to exactly its capacity where an equally short routing leaves slack
    (abilene: two links at 100 %); ``details["max_utilization"]`` is the U of the routing kept.

    Raises
    ------
    InfeasibleError
        When the capacities cannot carry the demands (the reason names the saturated cut).
    """
    _check_connected(network, link_capacity)
    capacity = network.queue_capacity(link_capacity)
    model = build_multicommodity_model(network, arc_mask=_usable_arcs(network, link_capacity),
                                       link_capacity=link_capacity, name="min_hop")
    define_capacity_limits(model, capacity)
    define_total_arc_flow_objective(model)
    result, _ = _solve_lp(network, model, method="min-hop-lp", objective_name="total_arc_flow",
                          objective_unit=network.rate_unit, bound_scale=model.layout.flow_scale,
                          evaluate=np.sum, link_capacity=link_capacity, time_limit_s=time_limit_s)
    if result.status is Status.INFEASIBLE:
        find_feasible_flow(network, link_capacity)  # raises with the saturated cut when U* >= 1
        raise InfeasibleError(f"{network.name}: infeasible: the capacities cannot carry the "
                              f"demands ({result.message})")
    if result.status is Status.OPTIMAL:
        tie_break = build_max_utilization_model(network, link_capacity)
        define_total_arc_flow_limit(tie_break, result.objective * (1 + HOP_TIE_BREAK_SLACK))
        balanced, _ = _solve_lp(network, tie_break, method="min-hop-lp", objective_name="total_arc_flow",
                                objective_unit=network.rate_unit, bound_scale=1.0, evaluate=np.sum,
                                link_capacity=link_capacity, time_limit_s=time_limit_s, algorithm="ipm")
        if balanced.status is Status.OPTIMAL:
            result.design, result.objective = balanced.design, balanced.objective
            result.details["max_utilization"] = balanced.lower_bound
            result.details["tie_break"] = "least max utilisation among the min-hop routings"
            result.solve_time_s += balanced.solve_time_s
    return result


def solve_fortz_thorup(network: Network, link_capacity: np.ndarray | None = None,
                       time_limit_s: float | None = None) -> SolveResult:
    """Min Σ_q Φ(F_q, C_q), the Fortz–Thorup piecewise-linear link cost (rate unit).

    Raises
    ------
    InfeasibleError
        When a demand has no path over links of positive capacity.
    """
    _check_connected(network, link_capacity)
    capacity = network.queue_capacity(link_capacity)
    model = build_multicommodity_model(network, arc_mask=_usable_arcs(network, link_capacity),
                                       link_capacity=link_capacity, name="fortz_thorup")
    define_fortz_thorup_objective(model, capacity)
    queues = model.layout.queues
    result, _ = _solve_lp(
        network, model, method="fortz-thorup-lp", objective_name="fortz_thorup_cost",
        objective_unit=network.rate_unit, bound_scale=model.layout.flow_scale,
        evaluate=lambda flow: fortz_thorup_cost(network.queue_load(flow)[queues],
                                                capacity[queues]).sum(),
        link_capacity=link_capacity, time_limit_s=time_limit_s,
        algorithm="ipm")  # cold dual simplex is 4-9x slower (planar50, grid3, grid4)
    return result
