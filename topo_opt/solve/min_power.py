"""Min-power design (EARP-style, models.md §4): which links and routers stay on, and the routing.

    min  P(z, y, F)   s.t.  T(F) ≤ T_max,  F_q ≤ α C_q y_l,  y_l ≤ z_tail, z_head,  demand end points on

solved as the MILP of :mod:`topo_opt.formulations.switching` with HiGHS.  The delay bound is
outer-approximated by perspective tangent cuts, so each MILP is a relaxation and **its dual
bound is a proven lower bound on the minimum power**.  The MILP's flows may still violate the
true delay bound (the cuts underestimate g(F) = F/(C − F)); cuts are then added at those flows
and the MILP solved again, on the one Kelley driver (:func:`~topo_opt.solve.kelley.run_kelley`:
stop rule, history, progress, Ctrl-C): the incumbent is the best MILP design whose TRUE delay,
evaluated by :class:`~topo_opt.evaluators.delay.DelayObjective`, meets the bounds.

With T_max (and no D_max) the loop starts from the switch-off start
(:mod:`topo_opt.algorithms.power_start`, HiGHS's MIP start) and, under a time limit, ends at
(1 − ``SEARCH_SHARE``) of it: the rest goes to a **local search** on the loop's design
(:func:`~topo_opt.algorithms.power_start.improve_by_swaps`: one link on and one or two off, or
one or two off, among the ``PAIR_TRIES`` of least first-order removal cost; first improvement,
repeated while the power falls, until the limit), each candidate checked like the start's
designs (min-delay routing on its links meets T_max).  MILP branch and bound can stay far from a
design one such move away (zoo:Uunet: 44 links on where 43 meet T_max).  The search runs after
the last round, so no MILP round starts from its design; it never raises the power, is skipped
when the loop's gap already meets ``gap``, and leaves the bound as the MILP proved it.

Reported: the design's power (W, recomputed by :func:`~topo_opt.evaluators.power.network_power`),
its delay, the best MILP dual bound (W) and the gap.  An infeasible instance raises
:class:`~topo_opt.errors.InfeasibleError` with the reason: a demand without a path, the
saturated cut, or T_max below the minimum delay of the network with every link on.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Callable

import numpy as np

from topo_opt.algorithms.flow_decomposition import decompose_source_flows, top_up_shortfalls
from topo_opt.algorithms.flow_deviation import CertifiedProgress
from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.algorithms.path_enumeration import demand_bound_paths
from topo_opt.algorithms.power_start import (
    PAIR_TRIES, DesignCheck, greedy_routing, improve_by_swaps, switch_off_start,
)
from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted, TopoOptError, id_list
from topo_opt.evaluators.delay import DelayObjective, arc_delay_s
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.evaluators.power import NodePowerModel, Profiles, network_power, powered_elements
from topo_opt.formulations.switching import (
    add_perspective_cuts, add_sojourn_cuts, build_min_power_model, sojourn_cut_cap, sojourn_tangents,
)
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status, relative_gap
from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size
from topo_opt.solve.kelley import KelleyRun, run_kelley
from topo_opt.solve.outer_approximation import CUT_VIOLATION_RTOL

logger = logging.getLogger(__name__)

Callback = Callable[[dict], None]

#: The returned design's true delay may exceed T_max by this relative amount (rounding).
DELAY_RTOL = 1e-6
#: Utilisation at which a cut is placed on a queue the MILP loads to capacity.
OVERLOAD_CUT_UTILIZATION = 0.999
#: Share of the time limit kept, after the MILP rounds, for the local search on their design
#: (with a switch-off start, i.e. T_max and no D_max).
SEARCH_SHARE = 0.2
#: Share of the time limit after which the switch-off start runs no further check (its greedy and
#: swaps count checks, not seconds: on zoo:Uunet at 120 s they took 45 s at load 4, 78 s at load
#: 5; the search from the other greedy order's design uses the rest of the share).
START_SHARE = 0.6


def min_delay_all_on(network: Network, include_fixed_delay: bool = True) -> float:
    """Minimum average delay T* (s) with every link on (gradient projection, gap 1e-6).

    The reference for default delay bounds (``T_max = factor·T*``) and for infeasibility reasons.
    """
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp

    return solve_min_delay_gp(network, gap=1e-6, include_fixed_delay=include_fixed_delay).objective


def _infeasible(network: Network, max_delay_s: float | None, max_demand_delay_s: float | None,
                max_utilization: float, include_fixed_delay: bool) -> InfeasibleError:
    """Why the MILP has no solution (its relaxation is infeasible, so the problem is)."""
    try:  # the cut that no routing below the utilisation cap α crosses (capacities α·C)
        find_feasible_flow(network, max_utilization * network.link_capacity)
    except InfeasibleError as exc:
        if max_utilization >= 1 or exc.details.get("reason") != "capacity":
            raise
        u_star = exc.details["max_utilization_lower_bound"] * max_utilization
        return InfeasibleError(
            f"{network.name}: infeasible: no routing keeps every link below utilisation "
            f"{max_utilization:g} (min max-utilisation >= {u_star:.6g}; saturated links "
            f"{id_list(exc.details['saturated_links'])})", {**exc.details, "max_utilization_lower_bound": u_star})
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


def _milp_point(network: Network, model, solver: HighsSolver, paths) -> dict:
    """The MILP's design: on/off states, arc flows F (rate units) and either the chosen candidate
    paths or the source flows x[s, a] ≥ 0, with negative values (inside HiGHS's tolerance) and
    flows on links that are off (y ≈ 0, inside its integrality tolerance) set to 0."""
    point = {"link_on": solver.values(model.link_on) > 0.5, "node_on": solver.values(model.node_on) > 0.5}
    if paths is not None:
        point["chosen"] = solver.values(model.path_chosen) > 0.5
        point["arc_flow"] = paths.carried_flow(point["chosen"] * network.demand_rate[paths.demand], network.n_arcs)
        return point
    source_flow = np.maximum(model.layout.source_flows(solver.values(model.source_flow), network.n_arcs), 0.0)
    source_flow[:, ~point["link_on"][network.arc_link]] = 0.0
    point["source_flow"], point["arc_flow"] = source_flow, source_flow.sum(axis=0)
    return point


def _evaluate(network: Network, power: NodePowerModel, objective: DelayObjective, routing, link_on: np.ndarray,
              node_on: np.ndarray, max_delay_s: float | None, max_demand_delay_s: float | None) -> tuple:
    """(design, power breakdown, T, worst demand delay, bounds met) of a routing and on/off states."""
    flow = routing.arc_flow(network.demand_rate, network.n_arcs)
    link_on, node_on = powered_elements(network, flow, link_on, node_on)
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
    on the links it keeps on, topped up where HiGHS's tolerances lost part of a small demand
    (:func:`~topo_opt.algorithms.flow_decomposition.top_up_shortfalls`).  With D_max every
    demand takes one candidate path
    (:func:`~topo_opt.algorithms.path_enumeration.demand_bound_paths`) and the end-to-end
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
        For the whole solve: the switch-off start's check budget, the MILP rounds (with a start:
        until (1 − ``SEARCH_SHARE``) of it) and the local search after them.
    max_iterations : int
        Maximum number of MILP solves (cut rounds).
    k_shortest, max_simple_paths : int
        Candidate paths with D_max (:func:`~topo_opt.algorithms.path_enumeration.demand_bound_paths`).
    callback : callable, optional
        Called with each history record (iteration, time_s, objective, lower_bound, gap); the
        objective is the power of the best MILP design meeting the delay bounds (inf before one),
        then of each design the local search finds.

    Returns
    -------
    SolveResult
        ``objective_name = "total_power_w"`` (W); ``lower_bound`` the best MILP dual bound (W);
        ``details`` with ``average_delay_s``, ``max_demand_delay_s``, ``links_off``,
        ``nodes_off``, ``cuts``, power breakdown, model size and ``local_search`` (None when
        it did not run, else the power it started from, its checks and improvements).  ``ITERATION_LIMIT``/
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
    power = NodePowerModel.for_network(network, profiles)
    objective = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay)
    paths, complete = None, True
    if max_demand_delay_s is not None:
        if not max_demand_delay_s > 0:
            raise InvalidInputError(f"max_demand_delay_s must be > 0 s, got {max_demand_delay_s!r}")
        paths, complete = demand_bound_paths(network, max_demand_delay_s, rtol=DELAY_RTOL, k_shortest=k_shortest,
                                             max_simple_paths=max_simple_paths)
    model = build_min_power_model(network, power, paths=paths, max_demand_delay_s=max_demand_delay_s,
                                  max_utilization=max_utilization, delay_objective=objective,
                                  max_delay_s=max_delay_s)
    n_cuts = len(getattr(model, "perspective_cuts", ())) + len(getattr(model, "sojourn_cuts", ()))
    solver = HighsSolver(model, HighsOptions(mip_rel_gap=gap))
    logger.info("min-power MILP on %s: %s", network.name, model_size(model))
    mip_start = None
    state: dict = {"best": None, "best_w": math.inf, "last": None}

    def keep(routing, link_on: np.ndarray, node_on: np.ndarray) -> None:
        """Make a checked start design the incumbent when it meets the bounds with less power."""
        design, breakdown, *_, met = _evaluate(network, power, objective, routing, link_on, node_on,
                                               max_delay_s, max_demand_delay_s)
        if met and breakdown.total_w < state["best_w"]:
            state["best"] = {"link_on": design.link_on, "node_on": design.node_on, "routing": routing,
                             "power_w": breakdown.total_w, "met": True}
            state["best_w"] = breakdown.total_w

    interrupted = False
    if max_delay_s is not None and paths is None:
        try:
            greedy = switch_off_start(network, power, max_delay_s, max_utilization=max_utilization,
                                      include_fixed_delay=include_fixed_delay, time_limit_s=time_limit_s,
                                      deadline=math.inf if time_limit_s is None else start + START_SHARE * time_limit_s,
                                      offer=lambda on, routing: state.update(offered=(routing, on)))
            logger.info("switch-off start: %s links off at %.1f s", None if greedy is None else int((~greedy[0]).sum()),
                        time.perf_counter() - start)
            if greedy is not None:
                mip_start = {model.link_on: greedy[0].astype(float), model.node_on: greedy[1].astype(float)}
                solver.set_start(mip_start)
                # the start is the first incumbent: the loop's gap counts from it, and a MILP design
                # replaces it only when it meets the bounds with less power
                keep(greedy_routing(network, greedy[0], max_delay_s, max_utilization, include_fixed_delay),
                     *greedy)
        except KeyboardInterrupt:  # Ctrl-C in the start: its best checked design so far, no MILP
            if "offered" in state:
                keep(*state["offered"], np.zeros(network.n_nodes, bool))
            if state["best"] is None:
                raise
            interrupted = True
    queues, capacity = model.layout.queues, objective.queue_capacity[model.layout.queues]
    cap = None if max_demand_delay_s is None else sojourn_cut_cap(network, capacity, max_demand_delay_s)

    def milp_bound(outcome) -> float:
        state["outcome"] = outcome
        return outcome.bound

    def incumbent() -> float:
        """Power of the best MILP design so far whose true delays meet the bounds (W)."""
        point = state["last"] = _milp_point(network, model, solver, paths)
        point["delay"] = objective.value(point["arc_flow"])
        point["met"] = max_delay_s is None or point["delay"] <= max_delay_s * (1 + DELAY_RTOL)
        if paths is not None:
            worst = paths.path_sums(arc_delay_s(network, point["arc_flow"]))  # Σ_a 1/(κ(C_q − F_q)) + τ_a
            point["met"] &= float(worst[point["chosen"]].max()) <= max_demand_delay_s * (1 + DELAY_RTOL)
        power_w = point["power_w"] = state["outcome"].objective
        if point["met"] and power_w < state["best_w"]:
            state["best"], state["best_w"] = point, power_w
        logger.debug("min-power round: %.6g W (bound %.6g W), T = %.6g s, bounds met: %s",
                     power_w, state["outcome"].bound, point["delay"], point["met"])
        return state["best_w"]

    def cut() -> int:
        """Perspective (T_max) and sojourn (D_max) tangents where the MILP underestimates its flows."""
        load = network.queue_load(state["last"]["arc_flow"])[queues]
        new = []
        if max_delay_s is not None:
            at = np.minimum(load, OVERLOAD_CUT_UTILIZATION * capacity)
            packets = solver.values(model.queue_packets)
            violated = load / np.maximum(capacity - load, 0.0) > packets + CUT_VIOLATION_RTOL * (1 + packets)
            new += add_perspective_cuts(model, network, queues[violated], at[violated])
        if max_demand_delay_s is not None:
            at = np.minimum(load, cap)
            slope, intercept = sojourn_tangents(at, capacity, network.packets_per_rate_unit)
            sojourn = solver.values(model.queue_sojourn) * max_demand_delay_s
            violated = (slope * load + intercept > sojourn * (1 + CUT_VIOLATION_RTOL)
                        + CUT_VIOLATION_RTOL * max_demand_delay_s) & (at >= 0)
            new += add_sojourn_cuts(model, network, queues[violated], at[violated])
        solver.add_constraints(new)
        if mip_start:
            solver.set_start(mip_start)
        return len(new)

    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback, start_s=start)
    if interrupted:
        run = KelleyRun(Status.INTERRUPTED, "interrupted (Ctrl-C) in the switch-off start: its best checked "
                        "design so far, no bound yet", 0, -math.inf, 0, 0)
    else:
        run = run_kelley(solver, progress, bound=milp_bound, incumbent=incumbent, cut=cut, milp=True,
                         time_limit_s=time_limit_s if time_limit_s is None or mip_start is None
                         else (1 - SEARCH_SHARE) * time_limit_s)
    status, message, bound, history = run.status, run.message, run.bound, progress.history
    logger.info("min-power MILP rounds: %d, %s, bound %.6g W at %.1f s", run.iterations, status.value, bound,
                time.perf_counter() - start)
    if status is Status.INFEASIBLE:
        if paths is not None and not complete:
            raise InfeasibleError(
                f"{network.name}: no assignment of the {k_shortest} shortest candidate paths meets "
                f"the bounds (D_max = {max_demand_delay_s:.6g} s): raise candidates.k_shortest",
                {"reason": "candidates"})
        raise _infeasible(network, max_delay_s, max_demand_delay_s, max_utilization, include_fixed_delay)
    point = state["best"] or state["last"]
    if point is None:  # no design: the status and the bound
        result = SolveResult(status, "min-power-milp", "total_power_w", "W", lower_bound=bound,
                             solve_time_s=time.perf_counter() - start, iterations=run.iterations,
                             message=message, history=history)
        if status is Status.INTERRUPTED:
            raise SolveInterrupted(result)
        return result
    if state["best"] is None and status in (Status.TIME_LIMIT, Status.ITERATION_LIMIT):
        message = f"{message}: stopped after {run.iterations} cut rounds with delay bounds violated"
    reported = None
    if "routing" in point:
        routing = point["routing"]
        reported = None if interrupted else "the switch-off start reported (no MILP design meeting the bounds used less power)"
    elif paths is not None:
        routing = paths.carrying(point["chosen"], network.n_demands)
    else:
        source_flow = top_up_shortfalls(network, model.layout.sources, model.layout.supply, point["source_flow"],
                                        point["link_on"][network.arc_link])
        routing = decompose_source_flows(network, model.layout.sources, source_flow)
    design, breakdown, delay, worst, met = _evaluate(network, power, objective, routing, point["link_on"],
                                                     point["node_on"], max_delay_s, max_demand_delay_s)
    last = state["last"]
    if mip_start is not None and last is not None and not last["met"]:
        # the MILP's last design misses T_max: min-delay routing on its links may meet it with less power
        try:
            routing = greedy_routing(network, last["link_on"], max_delay_s, max_utilization, include_fixed_delay)
        except TopoOptError:
            routing = None
        option = None if routing is None else _evaluate(network, power, objective, routing, last["link_on"],
                                                        last["node_on"], max_delay_s, max_demand_delay_s)
        if option is not None and option[4] and (not met or option[1].total_w < breakdown.total_w):
            design, breakdown, delay, worst, met = option
            reported = "the MILP's last design missed T_max: its links with min-delay routing reported"
    if reported:
        message = f"{message}; {reported}"
    searched = None
    if mip_start is not None and met and status is not Status.INTERRUPTED \
            and relative_gap(breakdown.total_w, bound) > gap:
        check = DesignCheck(network, power, max_delay_s, max_utilization=max_utilization,
                            include_fixed_delay=include_fixed_delay,
                            deadline=math.inf if time_limit_s is None else start + time_limit_s)
        searched, found = {"from_w": breakdown.total_w, "improvements": 0}, {}

        def improved(on: np.ndarray, routed, drawn_w: float) -> None:
            found.update(on=on, routing=routed)
            searched["improvements"] += 1
            if progress.update(run.iterations, drawn_w, bound) is Status.OPTIMAL:
                check.max_checks = check.checks  # the gap is met: no further check

        try:
            improve_by_swaps(check, design.link_on, design.routing, breakdown.total_w, tries=PAIR_TRIES,
                             pairs=True, offer=improved)
        except KeyboardInterrupt:  # the best checked design so far, with the MILP's bound
            status = Status.INTERRUPTED
            message = "interrupted (Ctrl-C) in the local search after the MILP: its best checked design"
        searched["checks"] = check.checks
        if found:
            design, breakdown, delay, worst, met = _evaluate(network, power, objective, found["routing"], found["on"],
                                                             np.zeros(network.n_nodes, bool), max_delay_s,
                                                             max_demand_delay_s)
            message = (f"{message}; the local search after the MILP lowered the power from "
                       f"{searched['from_w']:.6g} W to {breakdown.total_w:.6g} W")
            if status is not Status.INTERRUPTED and relative_gap(breakdown.total_w, bound) <= gap:
                status, message = Status.OPTIMAL, f"{progress.message(Status.OPTIMAL)} after {message}"
        logger.info("local search after the MILP: %d checks, %d improvements, %.6g W at %.1f s",
                    check.checks, searched["improvements"], breakdown.total_w, time.perf_counter() - start)
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
        status, "min-power-milp", "total_power_w", "W", objective=value,
        lower_bound=min(bound, value), design=design, solve_time_s=time.perf_counter() - start,
        iterations=run.iterations, message=message, history=history,
        details={"average_delay_s": delay, "max_delay_s": max_delay_s,
                 "max_demand_delay_s": worst, "max_demand_delay_bound_s": max_demand_delay_s,
                 "delay_bound_met": met,
                 "max_utilization_cap": max_utilization, "include_fixed_delay": include_fixed_delay,
                 "links_off": [network.links[i].id for i in np.flatnonzero(~link_on).tolist()],
                 "nodes_off": [network.nodes[i].id for i in np.flatnonzero(~node_on).tolist()],
                 "chassis_power_w": float(breakdown.chassis_w.sum()),
                 "port_power_w": float(breakdown.port_w.sum()),
                 "load_power_w": float(breakdown.load_w.sum()),
                 "milp_incumbent_w": point["power_w"], "candidate_bound_w": candidate_bound,
                 "local_search": searched,
                 "candidates_complete": complete,
                 "n_candidate_paths": None if paths is None else paths.n_paths,
                 "cuts": n_cuts + run.cuts, "mip_gap_requested": gap, **model_size(model),
                 "mip_start_links_off": None if mip_start is None else int((mip_start[model.link_on] < 0.5).sum()),
                 "lower_bound_source": "MILP dual bound (perspective tangent-cut relaxation)"
                 + ("" if paths is None else ", one path per demand over all loop-free paths"
                    if complete else "; none over all paths (incomplete candidates)")
                 if math.isfinite(candidate_bound) else "none: stopped before the MILP proved a bound"})
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result


