"""Min-power design (EARP-style, models.md §4): which links and routers stay on, and the routing.

    min  P(z, y, F)   s.t.  T(F) ≤ T_max,  F_q ≤ α C_q y_l,  y_l ≤ z_tail, z_head,  demand end points on

solved as the MILP of :mod:`topo_opt.formulations.switching` with HiGHS.  The delay bound is
outer-approximated by perspective tangent cuts, so each MILP is a relaxation and **its dual
bound is a proven lower bound on the minimum power**.  The MILP's flows may still violate the
true delay bound (the cuts underestimate g(F) = F/(C − F)); the loop then adds cuts at those
flows (Kelley 1960, as :mod:`topo_opt.solve.outer_approximation` does for min-delay) and solves
again, until the TRUE delay of the returned design, evaluated by
:class:`~topo_opt.evaluators.delay.DelayObjective`, meets T_max.

Reported: the design's power (W, recomputed by :func:`~topo_opt.evaluators.power.network_power`),
its delay, the best MILP dual bound (W) and the gap.  An infeasible instance raises
:class:`~topo_opt.errors.InfeasibleError` with the reason: a demand without a path, the
saturated cut, or T_max below the minimum delay of the network with every link on.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from topo_opt.algorithms.flow_decomposition import decompose_source_flows
from topo_opt.evaluators.delay import DelayObjective, arc_delay_s
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, PathSet, demand_shortest_paths, gather_rows, shortest_path_forest,
)
from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted, TopoOptError
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.evaluators.power import NodePowerModel, Profiles, network_power
from topo_opt.formulations.switching import (
    add_perspective_cuts, add_sojourn_cuts, build_min_power_model, sojourn_cut_cap, sojourn_tangents,
)
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status, relative_gap
from topo_opt.solve.cards import ModelCard, node_power_profiles
from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size
from topo_opt.solve.lp_methods import check_feasibility
from topo_opt.solve.outer_approximation import CUT_VIOLATION_RTOL
from topo_opt.solve.power_start import greedy_routing, switch_off_start

logger = logging.getLogger(__name__)

Callback = Callable[[dict], None]

#: The returned design's true delay may exceed T_max by this relative amount (rounding).
DELAY_RTOL = 1e-6
#: Utilisation at which a cut is placed on a queue the MILP loads to capacity.
OVERLOAD_CUT_UTILIZATION = 0.999
#: A source–target pair whose arriving flow falls short by more than this × its rate is topped up.
TOP_UP_RTOL = 1e-9


def min_delay_all_on(network: Network, include_fixed_delay: bool = True) -> float:
    """Minimum average delay T* (s) with every link on (gradient projection, gap 1e-6).

    The reference for default delay bounds (``T_max = factor·T*``) and for infeasibility reasons.
    """
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp

    return solve_min_delay_gp(network, gap=1e-6, include_fixed_delay=include_fixed_delay).objective


def _switch_states(network: Network, link_on: np.ndarray, node_on: np.ndarray, arc_flow: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """On/off states of the design: the MILP's binaries, plus any element that carries flow."""
    carries = np.bincount(network.arc_link, weights=arc_flow, minlength=network.n_links) > 0
    link_on = link_on | carries
    node_on = node_on.copy()
    node_on[network.link_source[link_on]] = True
    node_on[network.link_target[link_on]] = True
    return link_on, node_on


def _infeasible(network: Network, max_delay_s: float | None, max_demand_delay_s: float | None,
                max_utilization: float, include_fixed_delay: bool) -> InfeasibleError:
    """Why the MILP has no solution (its relaxation is infeasible, so the problem is)."""
    feasible = check_feasibility(network)  # raises with the saturated cut when U* >= 1
    u_star = feasible.lower_bound
    if u_star > max_utilization:
        links = feasible.details["saturated_links"]
        return InfeasibleError(
            f"{network.name}: infeasible: no routing keeps every link below utilisation "
            f"{max_utilization:g} (min max-utilisation {u_star:.6g} on links "
            f"{', '.join(repr(x) for x in links[:5])})",
            {"reason": "max_utilization", "max_utilization": u_star, "saturated_links": links})
    t_star = math.inf if max_delay_s is None else min_delay_all_on(network, include_fixed_delay)
    if max_demand_delay_s is not None and (max_delay_s is None or max_delay_s >= t_star):
        return InfeasibleError(
            f"{network.name}: infeasible: no single-path routing gives every demand an end-to-end "
            f"delay <= D_max = {max_demand_delay_s:.6g} s"
            + ("" if max_delay_s is None else f" with T <= T_max = {max_delay_s:.6g} s")
            + f" below utilisation {max_utilization:g}",
            {"reason": "demand_delay_bound", "max_demand_delay_s": max_demand_delay_s})
    return InfeasibleError(
        f"{network.name}: infeasible: T_max = {max_delay_s:.6g} s is below the minimum average "
        f"delay {t_star:.6g} s of the network with every link on",
        {"reason": "delay_bound", "max_delay_s": max_delay_s, "min_delay_s": t_star})


@dataclass
class _Rounds:
    """How a cut loop ended: status, message, best MILP bound (W), rounds, cuts added, and
    whether the MILP holds a design."""

    status: Status
    message: str
    bound: float
    iterations: int
    cuts: int
    has_design: bool = True


def _model_arc_flow(network: Network, model, solver: HighsSolver, paths: PathSet | None) -> np.ndarray:
    """F (rate units) of the MILP's solution: the chosen paths, or the source flows with the
    flows inside HiGHS's integrality tolerance on links that are off (y ≈ 0) dropped."""
    if paths is not None:
        chosen = (solver.values(model.path_chosen) > 0.5).astype(float)
        return paths.arc_flow(chosen * network.demand_rate[paths.demand])
    return _source_flow(network, model, solver).sum(axis=0)


def _source_flow(network: Network, model, solver: HighsSolver) -> np.ndarray:
    """x[s, a] ≥ 0 (rate units) of the MILP, with negative values (inside HiGHS's tolerance) and
    flows on links that are off (y ≈ 0, inside its integrality tolerance) set to 0."""
    source_flow = np.maximum(model.layout.source_flows(solver.values(model.source_flow), network.n_arcs), 0.0)
    source_flow[:, solver.values(model.link_on)[network.arc_link] < 0.5] = 0.0
    return source_flow


def _top_up_targets(network: Network, layout, source_flow: np.ndarray, link_on: np.ndarray) -> np.ndarray:
    """Source flows with each target's shortfall b − A x routed on a least-delay path of links
    that are on (rate units).

    HiGHS's feasibility tolerances are absolute in flow units (the largest capacity): on geant
    (capacities up to 1.2e12 bit/s, demands from 1e6 bit/s = 8e-7 flow units) the MILP
    "delivered" demand pt -> lu as a flow of −8e-7 on the reverse arc lu -> fr, and flows on
    links with y ≈ 1e-6 are dropped; once negative and dropped flows are set to 0 the demand
    has no path and the decomposition fails.  The former repair, min-delay re-routing of every
    demand on the links that are on, raised the load power by 1.6 % above the MILP's; the
    top-up moves only the missing flow, within the solver's tolerance of the MILP's flows.  Off links get a
    weight above any path of links that are on, so they are used only where no such path exists
    (then the design switches them on and its power shows it).
    """
    shortfall = source_flow @ network.node_arc_incidence.T - layout.supply  # (A x − b)ᵀ per source
    rate = network.demand_rate
    row = np.searchsorted(layout.sources, network.demand_source)
    missing = shortfall[row, network.demand_target]
    _, first = np.unique(row * network.n_nodes + network.demand_target, return_index=True)
    pair = np.zeros(network.n_demands, dtype=bool)
    pair[first] = True  # one demand per (source, target) pair carries the pair's shortfall
    top_up = np.flatnonzero(pair & (missing > TOP_UP_RTOL * rate))
    if not top_up.size:
        return source_flow
    from topo_opt.evaluators.delay import zero_load_delay_s

    weight = zero_load_delay_s(network)
    weight = np.where(link_on[network.arc_link], weight, weight.sum() + 1.0)
    forest = shortest_path_forest(ArcGraph.from_network(network), weight, network.demand_source[top_up])
    indptr, arcs = demand_shortest_paths(forest, network, top_up)
    out = source_flow.copy()
    np.add.at(out, (np.repeat(row[top_up], np.diff(indptr)), arcs),
              np.repeat(missing[top_up], np.diff(indptr)))
    logger.debug("min-power: topped up %d source-target pairs (largest shortfall %.3g)",
                 top_up.size, missing[top_up].max())
    return out


def _path_delays_s(network: Network, paths: PathSet, arc_flow: np.ndarray) -> np.ndarray:
    """End-to-end delay (s) of every candidate path at ``arc_flow``: Σ_a 1/(κ(C_q − F_q)) + τ_a
    (inf through a saturated queue)."""
    return paths.incidence() @ arc_delay_s(network, arc_flow)


def _cut_rounds(network: Network, model, solver: HighsSolver, objective: DelayObjective, *,
                max_delay_s: float | None, paths: PathSet | None, start: float, deadline: float,
                max_iterations: int, gap: float, history: list, callback: Callback | None,
                mip_start: dict | None = None) -> _Rounds:
    """Solve, check the TRUE delays of the solution, add violated cuts, repeat (Kelley 1960).

    ``mip_start`` (variable -> values, a design meeting the true bounds) is offered to HiGHS
    before every solve.

    Ends ``OPTIMAL`` when HiGHS closed ``gap`` and every delay bound holds at the solution;
    ``INFEASIBLE`` when HiGHS proves the (relaxed) model infeasible.
    """
    queues, capacity = model.layout.queues, objective.queue_capacity[model.layout.queues]
    d_max = getattr(model, "max_demand_delay_s", None)
    cap = None if d_max is None else sojourn_cut_cap(network, capacity, d_max)
    bound, iteration, cuts = -math.inf, 0, 0
    while True:
        remaining = None if math.isinf(deadline) else max(deadline - time.perf_counter(), 0.0)
        if mip_start:
            solver.set_start(mip_start)
        try:
            outcome = solver.solve(time_limit_s=remaining)
        except SolveInterrupted as stop:  # Ctrl-C: end with HiGHS's incumbent, if it has one
            if math.isnan(stop.partial.objective):
                raise
            outcome = stop.partial
        if outcome.status is Status.INFEASIBLE:
            return _Rounds(Status.INFEASIBLE, outcome.message, bound, iteration, cuts)
        if math.isnan(outcome.objective):  # no design: the caller reports the status and bound
            return _Rounds(outcome.status, f"MILP stopped without a design: {outcome.message}",
                           max(bound, outcome.bound), iteration, cuts, has_design=False)
        iteration += 1
        bound = max(bound, outcome.bound)
        arc_flow = _model_arc_flow(network, model, solver, paths)
        delay = objective.value(arc_flow)
        load = network.queue_load(arc_flow)[queues]
        met = max_delay_s is None or delay <= max_delay_s * (1 + DELAY_RTOL)
        worst = math.nan
        if d_max is not None:
            chosen = solver.values(model.path_chosen) > 0.5
            worst = float(_path_delays_s(network, paths, arc_flow)[chosen].max())
            met = met and worst <= d_max * (1 + DELAY_RTOL)
        record = {"iteration": iteration, "time_s": time.perf_counter() - start,
                  "objective": outcome.objective, "lower_bound": bound,
                  "gap": relative_gap(outcome.objective, bound), "average_delay_s": delay,
                  "max_demand_delay_s": worst}
        history.append(record)
        if callback is not None:
            callback(record)
        logger.debug("min-power round %d: %.6g W (bound %.6g W), T = %.6g s, worst demand %.6g s",
                     iteration, outcome.objective, bound, delay, worst)
        end = None
        if outcome.status is not Status.OPTIMAL:
            end = outcome.status, f"MILP stopped: {outcome.message}"
        elif met:
            end = Status.OPTIMAL, f"MIP gap <= {gap:g}, delay bounds met"
        elif iteration >= max_iterations or time.perf_counter() >= deadline:
            end = (Status.ITERATION_LIMIT if iteration >= max_iterations else Status.TIME_LIMIT,
                   f"stopped after {iteration} cut rounds with delay bounds violated "
                   f"(T = {delay:.6g} s, worst demand {worst:.6g} s)")
        if end is not None:
            return _Rounds(*end, bound, iteration, cuts)
        new = []
        if max_delay_s is not None:
            at = np.minimum(load, OVERLOAD_CUT_UTILIZATION * capacity)
            packets = solver.values(model.queue_packets)
            cut = load / np.maximum(capacity - load, 0.0) > packets + CUT_VIOLATION_RTOL * (1 + packets)
            new += add_perspective_cuts(model, network, queues[cut], at[cut])
        if d_max is not None:
            at = np.minimum(load, cap)
            slope, intercept = sojourn_tangents(at, capacity, network.packets_per_rate_unit)
            sojourn = solver.values(model.queue_sojourn) * d_max
            cut = (slope * load + intercept > sojourn * (1 + CUT_VIOLATION_RTOL) + CUT_VIOLATION_RTOL * d_max) \
                & (at >= 0)
            new += add_sojourn_cuts(model, network, queues[cut], at[cut])
        if not new:
            return _Rounds(Status.ITERATION_LIMIT, f"stalled after {iteration} cut rounds: delay bounds "
                           "violated but no cut violated beyond the tolerance", bound, iteration, cuts)
        solver.add_constraints(new)
        cuts += len(new)


def demand_bound_paths(network: Network, max_demand_delay_s: float, *, k_shortest: int = 8,
                       max_simple_paths: int = 50) -> tuple[PathSet, bool]:
    """Candidate paths of the per-demand bound and whether they are all the feasible ones.

    The candidates of :func:`~topo_opt.solve.single_path.candidate_paths` (every loop-free path
    on small networks, else the ``k_shortest``) whose zero-load delay Σ_a (L̄/C_a + τ_a) is at
    most D_max (the others exceed D_max at any load).

    Raises
    ------
    InfeasibleError
        A demand without a candidate within D_max at zero load (named; a proof when the
        candidates are complete).
    """
    from topo_opt.evaluators.delay import zero_load_delay_s
    from topo_opt.solve.single_path import candidate_paths

    paths, complete = candidate_paths(network, k_shortest=k_shortest, max_simple_paths=max_simple_paths)
    zero_load = paths.lengths(zero_load_delay_s(network))
    keep = zero_load <= max_demand_delay_s * (1 + DELAY_RTOL)
    kept = np.bincount(paths.demand[keep], minlength=network.n_demands)
    if np.any(kept == 0):
        k = int(np.flatnonzero(kept == 0)[0])
        d = network.demands[k]
        shortest = zero_load[paths.demand == k].min()
        scope = "of its loop-free paths" if complete else f"of its {k_shortest} shortest candidate paths"
        raise InfeasibleError(
            f"{network.name}: demand {d.id!r} ({d.source!r} -> {d.target!r}): none {scope} meets "
            f"D_max = {max_demand_delay_s:.6g} s even at zero load (shortest {shortest:.6g} s)",
            {"reason": "demand_delay_bound", "demand": d.id, "min_path_delay_s": float(shortest)})
    rows = np.flatnonzero(keep)
    indptr, arcs = gather_rows(paths.indptr, paths.arcs, rows)
    return PathSet.from_flows(network, paths.demand[rows], indptr, arcs, np.zeros(len(rows)))[0], complete


def _evaluate(network: Network, power: NodePowerModel, objective: DelayObjective, routing, link_on: np.ndarray,
              node_on: np.ndarray, max_delay_s: float | None, max_demand_delay_s: float | None) -> tuple:
    """(design, power breakdown, T, worst demand delay, bounds met) of a routing and on/off states."""
    flow = routing.arc_flow(network.demand_rate, network.n_arcs)
    link_on, node_on = _switch_states(network, link_on, node_on, flow)
    design = Design.for_network(network, routing, link_on=link_on, node_on=node_on)
    delay = objective.value(flow)
    worst = float(evaluate_design(network, design).demand_worst_delay_s.max())
    met = (max_delay_s is None or delay <= max_delay_s * (1 + DELAY_RTOL)) \
        and (max_demand_delay_s is None or worst <= max_demand_delay_s * (1 + DELAY_RTOL))
    return design, network_power(network, design, power), delay, worst, met


def solve_min_power(network: Network, profiles: Profiles, *, max_delay_s: float | None = None,
                    max_demand_delay_s: float | None = None,
                    max_utilization: float = 1.0, include_fixed_delay: bool = True,
                    gap: float = 1e-4, time_limit_s: float | None = None,
                    max_iterations: int = 100, k_shortest: int = 8, max_simple_paths: int = 50,
                    callback: Callback | None = None) -> SolveResult:
    """Minimum-power design under network and per-demand delay bounds, with a proven lower bound.

    Without D_max the routing is splittable: the flow decomposition of the MILP's source flows
    on the links it keeps on, topped up by :func:`_top_up_targets` where HiGHS's tolerances
    lost part of a small demand.  With
    D_max every demand takes one candidate path (:func:`demand_bound_paths`) and the end-to-end
    delay Σ_a (1/(μ_a − λ_a) + τ_a) of that path is ≤ D_max; the bound is over all single-path
    routings only when the candidates are complete (``details["candidates_complete"]``), else
    ``lower_bound`` is −inf and ``details["candidate_bound_w"]`` holds the bound over the
    candidates.

    Parameters
    ----------
    network : Network
        Installed capacities C_l > 0 on the links that may be used.
    profiles : PowerProfile, mapping node id -> PowerProfile, or NodePowerModel
        Device power profiles with ``linear`` or ``proportional`` load shapes.
    max_delay_s : float, optional
        T_max (s) on the average network delay T (Kleinrock).
    max_demand_delay_s : float, optional
        D_max (s) on every demand's end-to-end delay (queueing + propagation + processing).
        With neither bound, ``max_utilization`` must be < 1 (the M/M/1 delay stays finite).
    max_utilization : float
        α in (0, 1]: utilisation cap of every link that is on.
    include_fixed_delay : bool
        T includes propagation and processing (per-demand delays always do).
    gap : float
        Relative MIP gap HiGHS stops at (each MILP of the cut loop).
    time_limit_s : float, optional
        For the whole loop.
    max_iterations : int
        Maximum number of MILP solves (cut rounds).
    k_shortest, max_simple_paths : int
        Candidate paths with D_max (:func:`demand_bound_paths`).
    callback : callable, optional
        Called with each history record (iteration, time_s, objective, lower_bound, gap,
        average_delay_s, max_demand_delay_s).

    Returns
    -------
    SolveResult
        ``objective_name = "total_power_w"`` (W); ``lower_bound`` the best MILP dual bound (W);
        ``details`` with ``average_delay_s``, ``max_demand_delay_s``, ``links_off``,
        ``nodes_off``, ``cuts``, power breakdown and model size.  ``ITERATION_LIMIT``/
        ``TIME_LIMIT`` carry the last design, which may violate a bound
        (``details["delay_bound_met"]``).

    Raises
    ------
    InfeasibleError
        A demand without a path, a saturated cut, utilisation cap, T_max or D_max that no
        design meets (D_max: the demand is named).
    InvalidInputError
        Non-linear load shapes, α outside (0, 1], a bound ≤ 0, no bound and α = 1.
    """
    start = time.perf_counter()
    if max_delay_s is None and max_demand_delay_s is None and max_utilization >= 1:
        raise InvalidInputError("min-power design needs a delay bound T_max or D_max, or max_utilization < 1 "
                                "(the M/M/1 delay of a link at capacity is unbounded)")
    deadline = math.inf if time_limit_s is None else start + time_limit_s
    power = NodePowerModel.for_network(network, profiles)
    objective = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay)
    paths, complete = None, True
    if max_demand_delay_s is not None:
        if not max_demand_delay_s > 0:
            raise InvalidInputError(f"max_demand_delay_s must be > 0 s, got {max_demand_delay_s!r}")
        paths, complete = demand_bound_paths(network, max_demand_delay_s, k_shortest=k_shortest,
                                             max_simple_paths=max_simple_paths)
    bounds = dict(max_utilization=max_utilization, delay_objective=objective, max_delay_s=max_delay_s)
    model = build_min_power_model(network, power, paths=paths, max_demand_delay_s=max_demand_delay_s,
                                  **bounds)
    n_cuts = len(getattr(model, "perspective_cuts", ())) + len(getattr(model, "sojourn_cuts", ()))
    solver = HighsSolver(model, HighsOptions(mip_rel_gap=gap))
    logger.info("min-power MILP on %s: %s", network.name, model_size(model))
    history: list[dict] = []
    mip_start = greedy = None
    if max_delay_s is not None and paths is None:
        greedy = switch_off_start(network, power, max_delay_s, max_utilization=max_utilization,
                                  include_fixed_delay=include_fixed_delay,
                                  time_limit_s=time_limit_s)
        if greedy is not None:
            mip_start = {model.link_on: greedy[0].astype(float), model.node_on: greedy[1].astype(float)}
    rounds = _cut_rounds(network, model, solver, objective, max_delay_s=max_delay_s, paths=paths,
                         start=start, deadline=deadline, max_iterations=max_iterations, gap=gap,
                         history=history, callback=callback, mip_start=mip_start)
    if rounds.status is Status.INFEASIBLE:
        if paths is not None and not complete:
            raise InfeasibleError(
                f"{network.name}: no assignment of the {k_shortest} shortest candidate paths meets "
                f"the bounds (D_max = {max_demand_delay_s:.6g} s): raise candidates.k_shortest",
                {"reason": "candidates"})
        raise _infeasible(network, max_delay_s, max_demand_delay_s, max_utilization, include_fixed_delay)
    status, message, bound, n_cuts = rounds.status, rounds.message, rounds.bound, n_cuts + rounds.cuts
    if not rounds.has_design:
        result = SolveResult(status, "min_power_milp", "total_power_w", "W", lower_bound=bound,
                             solve_time_s=time.perf_counter() - start, iterations=rounds.iterations,
                             message=message, history=history)
        if status is Status.INTERRUPTED:
            raise SolveInterrupted(result)
        return result
    link_on = solver.values(model.link_on) > 0.5
    node_on = solver.values(model.node_on) > 0.5
    if paths is not None:
        chosen = (solver.values(model.path_chosen) > 0.5).astype(float)
        routing = paths.to_routing(chosen * network.demand_rate[paths.demand], network.demand_rate)
    else:
        source_flow = _top_up_targets(network, model.layout, _source_flow(network, model, solver), link_on)
        routing = decompose_source_flows(network, model.layout.sources, source_flow)
    design, breakdown, delay, worst, met = _evaluate(network, power, objective, routing, link_on, node_on,
                                                     max_delay_s, max_demand_delay_s)
    if not met and mip_start is not None:  # the MILP's routing misses T_max: min-delay routing on
        # its links, else the start's links (which meet it), whichever meets T_max with less power
        options = []
        for name, states in (("its links with min-delay routing", (design.link_on, design.node_on)),
                             ("the greedy start design", greedy)):
            try:
                routing = greedy_routing(network, states[0], max_utilization, include_fixed_delay)
            except TopoOptError:
                continue
            option = _evaluate(network, power, objective, routing, *states, max_delay_s, max_demand_delay_s)
            if option[4]:
                options.append((option[1].total_w, name, option))
        if options:
            _, name, (design, breakdown, delay, worst, met) = min(options, key=lambda o: o[0])
            message = f"{message}; the MILP's last design missed T_max: {name} reported"
    link_on, node_on = design.link_on, design.node_on
    value = breakdown.total_w
    candidate_bound = bound
    if not complete:
        bound = -math.inf
        if status is Status.OPTIMAL:
            status = Status.FEASIBLE
            message = (f"optimal within {gap:g} over {paths.n_paths} candidate paths (bound "
                       f"{candidate_bound:.6g} W); no bound over all paths: the candidates are the "
                       f"{k_shortest} shortest per demand")
    elif status is Status.OPTIMAL and relative_gap(value, bound) > 2 * gap:
        status = Status.FEASIBLE
        message = f"design power {value:.6g} W is {relative_gap(value, bound):.3g} above the MILP bound"
    if status is Status.OPTIMAL and not met:
        status, message = Status.FEASIBLE, f"{message}; delay bounds violated beyond {DELAY_RTOL:g}"
    result = SolveResult(
        status, "min_power_milp", "total_power_w", "W", objective=value,
        lower_bound=min(bound, value), design=design, solve_time_s=time.perf_counter() - start,
        iterations=rounds.iterations, message=message, history=history,
        details={"average_delay_s": delay, "max_delay_s": max_delay_s,
                 "max_demand_delay_s": worst, "max_demand_delay_bound_s": max_demand_delay_s,
                 "delay_bound_met": met,
                 "max_utilization_cap": max_utilization, "include_fixed_delay": include_fixed_delay,
                 "links_off": [network.links[i].id for i in np.flatnonzero(~link_on).tolist()],
                 "nodes_off": [network.nodes[i].id for i in np.flatnonzero(~node_on).tolist()],
                 "chassis_power_w": float(breakdown.chassis_w.sum()),
                 "port_power_w": float(breakdown.port_w.sum()),
                 "load_power_w": float(breakdown.load_w.sum()),
                 "milp_incumbent_w": history[-1]["objective"], "candidate_bound_w": candidate_bound,
                 "candidates_complete": complete,
                 "n_candidate_paths": None if paths is None else paths.n_paths,
                 "cuts": n_cuts, "mip_gap_requested": gap, **model_size(model),
                 "mip_start_links_off": None if mip_start is None else int((mip_start[model.link_on] < 0.5).sum()),
                 "lower_bound_source": "MILP dual bound (perspective tangent-cut relaxation)"
                 + ("" if paths is None else ", one path per demand over all loop-free paths"
                    if complete else "; none over all paths (incomplete candidates)")})
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result


def card_delay_bound_s(network: Network, card: ModelCard) -> float | None:
    """T_max of the card: ``constraints.max_delay_s``, or when it is 0, ``constraints.max_delay_factor`` × T*
    with T* the minimum delay of the network with every link on (runs on any instance); None
    when both are 0 (no network bound, e.g. with a per-demand bound alone)."""
    given = card.get("constraints.max_delay_s")
    if given > 0:
        return given
    factor = card.get("constraints.max_delay_factor")
    return factor * min_delay_all_on(network, card.get("objective.include_fixed_delay")) if factor > 0 else None


def solve_min_power_card(network: Network, card: ModelCard, callback: Callback | None = None
                         ) -> SolveResult:
    """Run the ``earp-min-power`` card: ``solver.method`` ``milp`` or ``earp`` (the heuristic)."""
    profiles = node_power_profiles(network, card)
    t_max = card_delay_bound_s(network, card)
    d_max = card.get("constraints.max_demand_delay_s") or None
    common = dict(max_delay_s=t_max, max_utilization=card.get("constraints.max_utilization"),
                  include_fixed_delay=card.get("objective.include_fixed_delay"))
    if card.get("solver.method") == "earp":
        from topo_opt.algorithms.earp import solve_earp

        return solve_earp(network, profiles, max_demand_delay_s=d_max,
                          n_candidates=card.get("candidates.k_shortest"), **common)
    return solve_min_power(network, profiles, max_demand_delay_s=d_max, gap=card.get("solver.gap"),
                           k_shortest=card.get("candidates.k_shortest"),
                           max_simple_paths=card.get("candidates.max_simple_paths"),
                           time_limit_s=card.get("solver.time_limit_s"),
                           max_iterations=card.get("solver.max_iterations"), callback=callback,
                           **common)


def power_delay_tradeoff(network: Network, profiles: Profiles, max_delays_s: list[float], *,
                         max_utilization: float = 1.0, include_fixed_delay: bool = True,
                         gap: float = 1e-4, time_limit_s: float | None = None,
                         n_candidates: int = 8) -> list[dict]:
    """Min power against T_max: the MILP and the EARP heuristic at each bound (one record each).

    Records, in increasing T_max, hold ``max_delay_s``, ``milp_power_w``, ``milp_bound_w``,
    ``milp_gap``, ``milp_delay_s``, ``milp_time_s``, ``earp_power_w``, ``earp_delay_s``,
    ``earp_time_s`` and ``earp_excess`` = earp/milp − 1; NaN where a method found no design
    (``*_status`` says why).  The heuristic's candidate paths are computed once for the sweep.

    A design that meets a tighter bound meets every looser one, so a looser T_max never reports
    a worse design: when a method's design at an earlier (tighter) T_max has less power than its
    own answer at this one (the MILP stops within its MIP gap; the heuristic is greedy), that
    design is reported, and ``*_design_max_delay_s`` names the T_max it was found at (else it is
    this record's ``max_delay_s``).  ``milp_bound_w`` stays the bound proven at this T_max.

    Raises
    ------
    SolveInterrupted
        On Ctrl-C; ``partial`` is the list of finished records, the last one with the
        interrupted MILP's best design and bound (``milp_status`` ``interrupted``) when it had one.
    """
    from topo_opt.algorithms.earp import solve_earp
    from topo_opt.evaluators.delay import zero_load_delay_s
    from topo_opt.algorithms.path_enumeration import k_shortest_paths

    model = NodePowerModel.for_network(network, profiles)
    candidates = k_shortest_paths(network, zero_load_delay_s(network), n_candidates)
    records: list[dict] = []
    best: dict[str, tuple[float, float, float]] = {}  # method -> (power W, delay s, T_max s)
    for t_max in sorted(max_delays_s):
        record: dict = {"max_delay_s": t_max}
        runs = (("milp", lambda: solve_min_power(
                    network, model, max_delay_s=t_max, max_utilization=max_utilization,
                    include_fixed_delay=include_fixed_delay, gap=gap, time_limit_s=time_limit_s)),
                ("earp", lambda: solve_earp(
                    network, model, max_delay_s=t_max, max_utilization=max_utilization,
                    include_fixed_delay=include_fixed_delay, candidates=candidates,
                    n_candidates=n_candidates)))
        for name, run in runs:
            try:
                result = run()
            except InfeasibleError as exc:
                _tradeoff_entry(record, name, None, best, t_max, f"infeasible: {exc}")
                continue
            except KeyboardInterrupt as stop:
                partial = getattr(stop, "partial", None)
                if name == "milp" and isinstance(partial, SolveResult) and partial.method == "min_power_milp":
                    _tradeoff_entry(record, name, partial, best, t_max)
                    records.append(record)
                raise SolveInterrupted(records) from None
            _tradeoff_entry(record, name, result, best, t_max)
        records.append(record)
    return records


def _tradeoff_entry(record: dict, name: str, result: SolveResult | None, best: dict, t_max: float,
                    failure: str = "") -> None:
    """Fill ``record``'s ``name`` columns from ``result`` (None: ``failure`` says why), or from
    the lower-power design ``best[name]`` kept from a tighter T_max; keep the better in ``best``."""
    nan = math.nan
    power, delay = (nan, nan) if result is None else (result.objective, result.details.get("average_delay_s", nan))
    status = failure if result is None else result.status.value
    found_at = t_max
    if name in best and not best[name][0] >= power:  # also when this run found no design
        power, delay, found_at = best[name]
        status = status if result is not None else "feasible"
    elif math.isfinite(power):
        best[name] = (power, delay, t_max)
    record.update({f"{name}_status": status, f"{name}_power_w": power, f"{name}_delay_s": delay,
                   f"{name}_time_s": nan if result is None else result.solve_time_s,
                   f"{name}_design_max_delay_s": found_at if math.isfinite(power) else nan})
    if name == "milp":
        bound = nan if result is None else result.lower_bound
        record.update(milp_bound_w=bound, milp_gap=relative_gap(power, bound) if result is not None else nan)
    record["earp_excess"] = record.get("earp_power_w", nan) / record.get("milp_power_w", nan) - 1.0
