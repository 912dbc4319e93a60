"""Composite-goal routing with a certified bound (models.md §5): the additive part of G exactly.

The composite goal of :mod:`topo_opt.evaluators.composite`, with everything on and demand k
sending f_ka on arc a (splittable), is G = Σ_k r_k G_k / R (R = Σ_k r_k) with

    R·G = (b R/Q₀)·T(F) + Σ_k Σ_a c_ka f_ka + (a/R₀) Σ_k r_k ρ_k,t(k) + (c/E₀)·Φ_fixed

* **delay** -- Σ_k r_k Q_k = R·T(F), Kleinrock's average delay with propagation and processing
  (Q_k is the flow-weighted mean end-to-end delay of demand k): convex in F;
* **rejection** (``sum`` form) -- r_k(P) = Σ_{a ∈ P} ρ_ka + ρ_k,t(k) with
  ρ_ka = max(S_tail(a) − T_k, 0) + max(S_link(a) − T_k, 0): linear, c_ka ∋ a·ρ_ka/R₀; the
  ``max`` form is not additive and is refused when a > 0;
* **energy** -- E_k = r_k Σ_P x_P Σ_{e ∈ P} P_e/Θ_e (average-cost sharing).  For a port with a
  linear load shape P_a/Θ_a = ε_a (W per rate unit), so the load part is
  Σ_k r_k Σ_a ε_a f_ka: linear with **per-demand** coefficients c_ka ∋ c·r_k ε_a/E₀, which is
  why the flows are one commodity per demand (not per source).  The chassis and idle-port
  part Φ_fixed = Σ_e P_e Σ_k r_k f_ke/Θ_e over elements e that carry traffic is **not
  additive** (Θ_e depends on the routing): it is evaluated on the returned design, not
  optimised, and bounded below by Φ_fixed ≥ r_min Σ_{n end node} P_chassis,n (every demand's
  end nodes carry traffic and Σ_k r_k f_ke/Θ_e is a mean of rates ≥ r_min).

The additive part (everything but Φ_fixed) is convex and minimised by tangent-cut outer
approximation (Kelley 1960, as :func:`~topo_opt.solve.outer_approximation.solve_min_delay_cuts`):
each LP is a relaxation, so its optimum is a **lower bound** on the additive part over every
routing (splittable or not) and every on/off pattern (switching links off only removes
routings); the upper bound is the best point of the segment from the incumbent to the LP
flows (:func:`~topo_opt.algorithms.flow_deviation.delay_line_search` with the linear costs as
its slope).  The reported ``lower_bound`` of G adds the Φ_fixed bound; the gap to it measures what
the fixed power leaves open, ``details["additive_gap"]`` the certified gap of the part that is
optimised.  Normalisers R₀, Q₀, E₀ come from min-hop routing with everything on, as for the GA
(:class:`~topo_opt.algorithms.ga_fitness.CompositeFitness`).
"""
from __future__ import annotations

import time
from typing import Callable, Mapping

import numpy as np

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.algorithms.flow_decomposition import decompose_source_flows
from topo_opt.algorithms.flow_deviation import CertifiedProgress, delay_line_search
from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.errors import InvalidInputError, SolveInterrupted
from topo_opt.evaluators.composite import CompositeWeights, composite_goal
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.power import NodePowerModel, Profiles
from topo_opt.evaluators.security import arc_rejection
from topo_opt.formulations.delay_cuts import add_initial_tangent_cuts, add_tangent_cuts, define_delay_epigraph
from topo_opt.formulations.multicommodity import build_multicommodity_model, linear_expression
from topo_opt.formulations.switching import arc_load_power_w
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status, relative_gap
from topo_opt.model.validation import replace_network
from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size
from topo_opt.solve.kelley import run_kelley
from topo_opt.solve.outer_approximation import new_cut_points

Callback = Callable[[dict], None]


def demand_arc_costs(network: Network, weights: CompositeWeights, power: NodePowerModel,
                     tolerance_by_class: Mapping[str, float] | None = None
                     ) -> tuple[np.ndarray, float]:
    """(c_ka per rate unit, shape (n_demands, n_arcs); the constant (a/R₀) Σ_k r_k ρ_k,t(k)),
    both divided by R so that G = (b/Q₀) T + Σ c_ka f_ka + constant + fixed part.

    Raises
    ------
    InvalidInputError
        The ``max`` rejection form with a > 0, or (c > 0) a non-linear load shape.
    """
    rate, total = network.demand_rate, network.total_demand
    cost = np.zeros((network.n_demands, network.n_arcs))
    constant = 0.0
    if weights.rejection > 0:
        if weights.rejection_form != "sum":
            raise InvalidInputError("composite rejection_form 'max' is not additive over arcs: the "
                                    "exact method needs 'sum' (or weight rejection = 0; the GA takes both)")
        rho, target = arc_rejection(network, tolerance_by_class)
        cost += weights.rejection / weights.rejection_ref * rho / total
        constant = weights.rejection / weights.rejection_ref * float(rate @ target) / total
    if weights.energy > 0:
        cost += weights.energy / weights.energy_ref_w * np.outer(rate, arc_load_power_w(network, power)) / total
    return cost, constant


def _demand_flows(network: Network, routing: Routing) -> np.ndarray:
    """f[k, a] (rate units) of a routing."""
    return routing.demand_arc_fraction(network.n_demands, network.n_arcs) * network.demand_rate[:, None]


def _decompose(network: Network, flow: np.ndarray) -> Routing:
    """Paths of per-demand flows: :func:`decompose_source_flows` on groups of demands with
    distinct sources (the g-th demand of every source), indices mapped back."""
    order = np.argsort(network.demand_source, kind="stable")
    source = network.demand_source[order]
    rank = np.arange(len(order)) - np.searchsorted(source, source)
    triples = []
    for g in range(int(rank.max()) + 1):
        ks = np.sort(order[rank == g])
        sub = replace_network(network, demands=tuple(network.demands[k] for k in ks.tolist()))
        part = decompose_source_flows(sub, network.demand_source[ks], flow[ks])
        triples += [(int(ks[part.demand[i]]), part.path_arcs(i), float(part.fraction[i]))
                    for i in range(part.n_paths)]
    return Routing.from_paths(triples)


def solve_composite_routing(network: Network, profiles: Profiles, weights: CompositeWeights, *,
                            tolerance_by_class: Mapping[str, float] | None = None,
                            gap: float = 1e-4, time_limit_s: float | None = None,
                            max_iterations: int | None = None,
                            callback: Callback | None = None) -> SolveResult:
    """Splittable routing minimising the additive part of the composite goal (module docstring).

    Parameters
    ----------
    network : Network
    profiles : PowerProfile, mapping node id -> PowerProfile, or NodePowerModel
        Linear load shapes when the energy weight c > 0.
    weights : CompositeWeights
        a, b, c (b > 0) and the normalisers; missing normalisers are computed on min-hop
        routing with everything on.
    tolerance_by_class : mapping demand class -> tolerance, optional
    gap : float
        Stop when the additive part's (UB − LB)/UB ≤ gap.
    time_limit_s : float, optional
    max_iterations : int, optional
        Maximum number of LP solves.
    callback : callable, optional
        Called with each history record {iteration, time_s, objective, lower_bound, gap}
        (additive part).

    Returns
    -------
    SolveResult
        ``method = "composite-oa"``, ``objective_name = "composite_goal"``: G of the returned
        design (everything on) by :func:`~topo_opt.evaluators.composite.composite_goal`;
        ``lower_bound`` the additive LP bound + the Φ_fixed bound; ``details`` with
        ``additive_objective``, ``additive_lower_bound``, ``additive_gap``, ``fixed_term`` and
        ``fixed_term_lower_bound``.  ``OPTIMAL`` only when the gap of G itself is ≤ ``gap``.

    Raises
    ------
    InvalidInputError
        b = 0 (the delay term keeps flows below capacity; without it the problem is an LP the
        method does not set up), the ``max`` rejection form with a > 0, a non-linear load
        shape with c > 0, a link of zero capacity.
    InfeasibleError
        No routing keeps every queue below capacity (the saturated cut is named).
    """
    start = time.perf_counter()
    if not weights.delay > 0:
        raise InvalidInputError("composite weight 'delay' must be > 0 for the exact method (use the GA "
                                "with delay = 0)")
    power = NodePowerModel.for_network(network, profiles)
    reference = Design.for_network(network, min_hop_routing(network))
    weights = weights.resolve(network, reference, power, tolerance_by_class)
    objective = DelayObjective.for_network(network, include_fixed_delay=True)
    objective.require_positive_capacity()
    feasible = find_feasible_flow(network)
    cost, constant = demand_arc_costs(network, weights, power, tolerance_by_class)
    delay_weight = weights.delay / weights.delay_ref_s  # G per second of T

    def value(flow: np.ndarray) -> float:
        return delay_weight * objective.value(flow.sum(axis=0)) + float(np.sum(cost * flow)) + constant

    model = build_multicommodity_model(network, name="composite_routing", per_demand=True)  # rows: demands
    layout = model.layout
    define_delay_epigraph(model, objective)  # Σ n_q + ρ Σ d_a F_a in packets
    per_packet = delay_weight * objective.scale  # G per packet of the LP objective
    lp_cost = cost[:, layout.arcs] * layout.flow_scale / per_packet
    used = np.flatnonzero(lp_cost.ravel())
    flows = list(model.source_flow.values())  # row-major over (demand, kept arc), as lp_cost
    model.objective.expr = model.objective.expr + linear_expression(
        lp_cost.ravel()[used].tolist(), [flows[i] for i in used.tolist()])
    n_cuts = len(add_initial_tangent_cuts(model))
    solver = HighsSolver(model, HighsOptions())

    start_flow = _demand_flows(network, feasible.routing)
    state = {"incumbent": start_flow, "best": value(start_flow)}
    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback, start_s=start)
    queues = layout.queues

    def improve() -> float:
        """Best point of the segment incumbent -> LP flows (φ convex, +inf beyond saturation)."""
        incumbent = state["incumbent"]
        state["lp"] = lp_flow = layout.source_flows(solver.values(model.source_flow), network.n_arcs)
        direction = lp_flow - incumbent
        beta = delay_line_search(objective, incumbent.sum(axis=0), direction.sum(axis=0),
                                 linear_slope=float(np.sum(cost * direction)) / delay_weight)
        trial = incumbent + beta * direction
        trial_value = value(trial)
        if trial_value < state["best"]:
            state["incumbent"], state["best"] = trial, trial_value
        return state["best"]

    def cut() -> int:
        cut_queues, cut_loads = new_cut_points(
            objective, queues, network.queue_load(state["lp"].sum(axis=0))[queues],
            solver.values(model.queue_packets), network.queue_load(state["incumbent"].sum(axis=0))[queues])
        solver.add_constraints(add_tangent_cuts(model, cut_queues, cut_loads))
        return len(cut_queues)

    run = run_kelley(solver, progress, bound=lambda outcome: per_packet * outcome.bound + constant,
                     incumbent=improve, cut=cut, time_limit_s=time_limit_s)
    status, message, bound, iteration, incumbent = run.status, run.message, run.bound, run.iterations, \
        state["incumbent"]
    if status in (Status.OPTIMAL, Status.TIME_LIMIT, Status.ITERATION_LIMIT):
        message = f"additive part: {message}"
    n_cuts += run.cuts

    design = Design.for_network(network, _decompose(network, incumbent))
    goal = composite_goal(network, design, weights, power, tolerance_by_class)
    additive = value(_demand_flows(network, design.routing))
    fixed_term = goal.total - additive
    rate = network.demand_rate
    ends = np.unique(np.concatenate([network.demand_source[rate > 0], network.demand_target[rate > 0]]))
    fixed_bound = weights.energy / weights.energy_ref_w * float(rate[rate > 0].min()) \
        * float(power.chassis_w[ends].sum()) / network.total_demand
    lower = min(bound + fixed_bound, goal.total)
    if status is Status.OPTIMAL and relative_gap(goal.total, lower) > gap:
        status = Status.FEASIBLE
        message = (f"{message}; the fixed (chassis and idle-port) power term {fixed_term:.6g} is not "
                   f"additive and not optimised (bound {fixed_bound:.6g})")
    result = SolveResult(
        status, "composite-oa", "composite_goal", "1", objective=goal.total, lower_bound=lower,
        design=design, solve_time_s=time.perf_counter() - start, iterations=iteration,
        message=message, history=progress.history,
        details={"additive_objective": additive, "additive_lower_bound": bound,
                 "additive_gap": relative_gap(additive, bound), "fixed_term": fixed_term,
                 "fixed_term_lower_bound": fixed_bound,
                 "weights": {"rejection": weights.rejection, "delay": weights.delay,
                             "energy": weights.energy, "rejection_ref": weights.rejection_ref,
                             "delay_ref_s": weights.delay_ref_s, "energy_ref_w": weights.energy_ref_w},
                 "unattributed_power_w": goal.unattributed_power_w, "cuts": n_cuts, **model_size(model),
                 "lower_bound_source": "outer-approximation LP of the additive part + fixed-power bound"})
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result
