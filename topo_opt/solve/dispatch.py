"""Run the problem a model card names on a network: the front door of every solve.

Like ``networkx.maximum_flow(..., flow_func=...)``, the card's ``solver.method`` picks the
algorithm; ``auto`` resolves to the fastest method that reaches the requested gap and the result
names the method that ran.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Callable

from topo_opt.algorithms import baselines
from topo_opt.errors import InvalidInputError, SolveInterrupted
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.model.design import Design, distinct_indices
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status
from topo_opt.solve.cards import ModelCard, card_network, node_power_profiles
from topo_opt.solve.checker import check_card, flag_overload
from topo_opt.solve.problems import PROBLEMS

Callback = Callable[[dict], None]

# Per-demand path equilibration reaches 1e-6 certified gaps 1.3-5x faster than gradient projection
# on 900-2,500 nodes (BENCHMARKS.md), but loading its compiled kernels costs ~0.2 s CPU once per
# process, more than gradient projection's whole solve on small networks (16-124 ms on 12-30
# nodes): ``auto`` takes it from AUTO_EQUILIBRATION_MIN_NODES nodes up.  It is also slower where
# few demands leave each origin (CommaLab grid7-grid10, 625 nodes and 1.5-3.4 demands per
# origin: 0.95-0.24x gradient projection's speed; grid8 23 s against 5.5 s CPU, 149 passes
# against 50), and 2-15x faster from 6.4 demands per origin up (grid11-15, planar, Gabriel and
# Topology Zoo graphs with gravity demands; BENCHMARKS.md, *auto: which method*): ``auto``
# takes it only with at least AUTO_EQUILIBRATION_MIN_DEMANDS_PER_ORIGIN demands per origin (which
# gives up 0.1-0.15 s on grid5-6, 225 nodes and 1.2-1.5 demands per origin).
AUTO_EQUILIBRATION_MIN_NODES = 100
AUTO_EQUILIBRATION_MIN_DEMANDS_PER_ORIGIN = 4.0
AUTO_STALL_ITERATIONS = 20

logger = logging.getLogger(__name__)


def run_min_delay(network: Network, card: ModelCard, callback: Callback | None) -> SolveResult:
    """The card's min-delay method; ``auto`` picks it by :func:`auto_min_delay_method`.

    Under ``auto``, a first-order method that stalls (the gap falling less than 2× in
    ``AUTO_STALL_ITERATIONS`` iterations: near capacity, gabriel/50 at 99.9 % of the maximum
    concurrent flow kept a gap of 2e-2 over 20 iterations) with a queue loaded to
    ``barrier_flow.NEAR_CAPACITY_UTILIZATION`` hands the time left to the barrier Newton method
    (:mod:`topo_opt.algorithms.barrier_flow`, networks within its size limit); below
    ``AUTO_EQUILIBRATION_MIN_NODES`` nodes, a gradient projection answer still not certified
    then hands the time left to the exact cutting-plane method (which does not scale).  The
    better certified answer is returned; ``details["stalled"]`` names the method that stalled.
    """
    method = card.get("solver.method")
    auto = method == "auto"
    if auto:
        method = auto_min_delay_method(network)
    include = card.get("objective.include_fixed_delay")
    common = dict(gap=card.get("solver.gap"), time_limit_s=card.get("solver.time_limit_s"),
                  max_iterations=card.get("solver.max_iterations"), include_fixed_delay=include,
                  callback=callback)
    if method == "path-equilibration":
        from topo_opt.algorithms.path_equilibration import solve_min_delay_pe as run
    elif method == "gradient-projection":
        from topo_opt.algorithms.gradient_projection import solve_min_delay_gp as run
    elif method == "flow-deviation":
        from topo_opt.algorithms.flow_deviation import solve_min_delay_fd as run
    elif method == "barrier":
        from topo_opt.algorithms.barrier_flow import solve_min_delay_barrier as run
    else:
        from topo_opt.solve.outer_approximation import solve_min_delay_cuts as run
    small = network.n_nodes < AUTO_EQUILIBRATION_MIN_NODES
    if auto and (small or _barrier_fits(network)):  # a stall near capacity hands over to the barrier method
        result = run(network, stall_iterations=AUTO_STALL_ITERATIONS, **common)
        if result.details.get("stalled"):
            result = _barrier_after_stall(network, result, common)
        if result.details.get("stalled") and result.status is not Status.OPTIMAL:
            after = _cutting_planes_after_stall if small else _gradient_projection_after_stall
            result = after(network, result, common)
    else:
        result = run(network, **common)
    result.details["include_fixed_delay"] = include
    return result


def auto_min_delay_method(network: Network) -> str:
    """``path-equilibration`` from ``AUTO_EQUILIBRATION_MIN_NODES`` nodes and
    ``AUTO_EQUILIBRATION_MIN_DEMANDS_PER_ORIGIN`` demands per origin (demands ÷ distinct demand
    sources) up, else ``gradient-projection`` (the measurements above)."""
    origins = len(distinct_indices(network.demand_source))
    if network.n_nodes >= AUTO_EQUILIBRATION_MIN_NODES \
            and network.n_demands >= AUTO_EQUILIBRATION_MIN_DEMANDS_PER_ORIGIN * origins:
        return "path-equilibration"
    return "gradient-projection"


def _barrier_fits(network: Network) -> bool:
    """:func:`~topo_opt.algorithms.barrier_flow.barrier_size_fits`, imported only here: the barrier
    module loads scipy, which small solves do without."""
    from topo_opt.algorithms.barrier_flow import barrier_size_fits

    return barrier_size_fits(network)


def _barrier_after_stall(network: Network, stalled: SolveResult, common: dict) -> SolveResult:
    """The barrier Newton method from ``stalled``'s routing in the time it left, when it takes over
    there (:func:`~topo_opt.algorithms.barrier_flow.takes_over`: a queue loaded to
    ``NEAR_CAPACITY_UTILIZATION`` or more, the network within its size limit); the answer with the
    smaller gap.

    Ctrl-C during the barrier method keeps the better of its best iterate and ``stalled``.
    """
    from topo_opt.algorithms.barrier_flow import solve_min_delay_barrier, takes_over

    remaining = _time_left(stalled, common)
    if remaining is not None and remaining <= 0 or not takes_over(network, stalled.design.routing):
        return stalled
    try:
        barrier = solve_min_delay_barrier(network, **{**common, "time_limit_s": remaining,
                                                      "start": stalled.design.routing})
    except (SolveInterrupted, KeyboardInterrupt) as stop:  # Ctrl-C: the better of the two
        partial = getattr(stop, "partial", None)
        if partial is not None:
            partial.solve_time_s += stalled.solve_time_s
            partial.details.update(stalled=stalled.method, stalled_gap=stalled.gap)
        if partial is None or partial.gap > stalled.gap:
            stalled.status, stalled.message = Status.INTERRUPTED, "interrupted (Ctrl-C): the stalled method's answer"
            partial = stalled
        raise SolveInterrupted(partial) from None
    return _the_better(stalled, barrier)


def _gradient_projection_after_stall(network: Network, stalled: SolveResult, common: dict) -> SolveResult:
    """Gradient projection from ``stalled``'s routing without a stall rule in the time it left (what
    the stalled method would have done without one); the answer with the smaller gap."""
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp

    remaining = _time_left(stalled, common)
    if remaining is not None and remaining <= 0:
        return stalled
    try:
        more = solve_min_delay_gp(network, **{**common, "time_limit_s": remaining, "start": stalled.design.routing})
    except SolveInterrupted as stop:
        stop.partial.solve_time_s += stalled.solve_time_s
        raise
    more.method = stalled.method
    more.details["continued_by"] = "gradient-projection"
    return _the_better(stalled, more)


def _cutting_planes_after_stall(network: Network, stalled: SolveResult, common: dict) -> SolveResult:
    """Outer approximation in the time ``stalled`` left; the answer with the smaller gap."""
    from topo_opt.solve.outer_approximation import solve_min_delay_cuts

    remaining = _time_left(stalled, common)
    if remaining is not None and remaining <= 0:
        return stalled
    return _the_better(stalled, solve_min_delay_cuts(network, **{**common, "time_limit_s": remaining}))


def _time_left(stalled: SolveResult, common: dict) -> float | None:
    """The card's time limit less the time ``stalled`` took (s); None without a limit."""
    limit = common["time_limit_s"]
    return None if limit is None else limit - stalled.solve_time_s


def _the_better(stalled: SolveResult, continued: SolveResult) -> SolveResult:
    """``continued`` (run in the time ``stalled`` left) with ``stalled``'s time added and its
    method and gap in ``details``, or ``stalled`` when its gap is the smaller."""
    continued.solve_time_s += stalled.solve_time_s
    continued.details.update(stalled=stalled.method, stalled_gap=stalled.gap)
    return continued if not continued.gap > stalled.gap else stalled


def run_routing_baseline(network: Network, card: ModelCard, callback: Callback | None) -> SolveResult:
    rule = card.get("routing.rule")
    start = time.perf_counter()
    design = Design.for_network(network, baselines.BASELINE_ROUTINGS[rule](network))
    delay = DelayObjective.for_network(network).value(design.arc_flow(network))
    message = "" if math.isfinite(delay) else \
        "the routing saturates at least one link: its M/M/1 delay is unbounded"
    return SolveResult(Status.FEASIBLE, f"baseline-{rule}", "average_delay_s", "s",
                       objective=delay if math.isfinite(delay) else math.nan, design=design,
                       solve_time_s=time.perf_counter() - start, message=message,
                       details={"lower_bound_source": "none (fixed routing rule)"})


def run_modular(network: Network, card: ModelCard, callback: Callback | None) -> SolveResult:
    from topo_opt.model.costs import linear_capacity_cost
    from topo_opt.solve.modular_capacity import solve_modular_capacity

    include = card.get("objective.include_fixed_delay")
    max_delay, budget = card.get("constraints.max_delay_s"), card.get("constraints.budget")
    sense = card.get("objective.sense")
    if budget == "installed" and sense == "min-delay":
        budget = linear_capacity_cost(network, network.link_capacity)
    added = card.get("capacity.max_added_capacity")
    return solve_modular_capacity(
        network, sense=sense,  # max_delay_s None: the installed network's delay
        max_delay_s=max_delay if sense == "min-cost" and max_delay != "installed" else None,
        budget=budget if sense == "min-delay" else None,
        max_utilization=card.get("constraints.max_utilization"), include_fixed_delay=include,
        mip_gap=card.get("solver.mip_gap"), time_limit_s=card.get("solver.time_limit_s"),
        keep_installed=card.get("capacity.keep_installed"), topology=card.problem == "topology-design",
        survivable=card.get("constraints.survivable"),
        max_added_capacity=None if added == "auto" else added, callback=callback)


def run_capacity_assignment(network: Network, card: ModelCard, callback: Callback | None) -> SolveResult:
    from topo_opt.algorithms.capacity_flow_assignment import solve_capacity_assignment

    budget_form = card.problem == "capacity-min-delay-budget"
    return solve_capacity_assignment(
        network, form="budget" if budget_form else "delay-bound", routing_rule=card.get("routing.rule"),
        target=card.get("constraints.budget" if budget_form else "constraints.max_delay_s"),
        include_fixed_delay=card.get("objective.include_fixed_delay"), gap=card.get("solver.gap"),
        time_limit_s=card.get("solver.time_limit_s"), starts=card.get("cfa.starts"),
        seed=card.get("cfa.seed"), callback=callback)


def run_worst_case_capacity(network: Network, card: ModelCard, callback: Callback | None) -> SolveResult:
    from topo_opt.model.traffic import traffic_descriptors
    from topo_opt.solve.worst_case_capacity import solve_worst_case_capacity, solve_worst_case_modular

    burst, packet = card.get("traffic.burst"), card.get("traffic.max_packet")
    traffic = traffic_descriptors(network, burst=None if burst == "auto" else burst,
                                  class_burst=card.get("traffic.class_burst"),
                                  max_packet=None if packet == "auto" else packet)
    common = dict(routing_rule=card.get("routing.rule"), deadline=card.get("deadline.max_delay_s"),
                  class_deadline=card.get("deadline.class_max_delay_s"),
                  max_utilization=card.get("constraints.max_utilization"), time_limit_s=card.get("solver.time_limit_s"))
    if card.get("capacity.modular"):
        added = card.get("capacity.max_added_capacity")
        return solve_worst_case_modular(network, traffic, keep_installed=card.get("capacity.keep_installed"),
                                        max_added_capacity=None if added == "auto" else added,
                                        mip_gap=card.get("solver.mip_gap"), **common)
    return solve_worst_case_capacity(network, traffic, gap=card.get("solver.gap"),
                                     max_iterations=card.get("solver.max_iterations"), **common)


def run_single_path(network: Network, card: ModelCard, callback: Callback | None) -> SolveResult:
    from topo_opt.solve.single_path import solve_single_path_min_delay

    return solve_single_path_min_delay(
        network, gap=card.get("solver.gap"), mip_gap=card.get("solver.mip_gap"),
        time_limit_s=card.get("solver.time_limit_s"), max_iterations=card.get("solver.max_iterations"),
        k_shortest=card.get("candidates.k_shortest"), max_simple_paths=card.get("candidates.max_simple_paths"),
        include_fixed_delay=card.get("objective.include_fixed_delay"), callback=callback)


def run_lp(network: Network, card: ModelCard, callback: Callback | None) -> SolveResult:
    from topo_opt.solve import lp_methods

    run = {"min-max-utilization": lp_methods.solve_max_utilization,
           "min-hop": lp_methods.solve_min_hop,
           "fortz-thorup": lp_methods.solve_fortz_thorup}[card.problem]
    return run(network, time_limit_s=card.get("solver.time_limit_s"))


def card_delay_bound_s(network: Network, card: ModelCard) -> float | None:
    """T_max of the card: ``constraints.max_delay_s``, or when it is 0, ``constraints.max_delay_factor`` × T*
    with T* the minimum delay of the network with every link on (runs on any instance); None
    when both are 0 (no network bound, e.g. with a per-demand bound alone)."""
    given = card.get("constraints.max_delay_s")
    if given > 0:
        return given
    factor = card.get("constraints.max_delay_factor")
    from topo_opt.solve.min_power import min_delay_all_on

    return factor * min_delay_all_on(network, card.get("objective.include_fixed_delay")) if factor > 0 else None


def run_min_power(network: Network, card: ModelCard, callback: Callback | None = None
                         ) -> SolveResult:
    """Run the ``earp-min-power`` card: ``solver.method`` ``milp`` or ``earp`` (the heuristic)."""
    from topo_opt.solve.min_power import solve_min_power

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


def run_secure(network: Network, card: ModelCard, callback: Callback | None = None) -> SolveResult:
    """Run the ``secure-min-delay`` card: form ``max`` (exclusion + gradient projection, or the
    single-path MILP with ``routing = "single-path"``) or ``sum`` (single-path MILP)."""
    from topo_opt.solve.secure_routing import solve_secure_max, solve_secure_sum

    network = card_network(network, card)
    kwargs = dict(max_rejection=card.get("security.max_rejection"), time_limit_s=card.get("solver.time_limit_s"),
                  include_fixed_delay=card.get("objective.include_fixed_delay"), gap=card.get("solver.gap"),
                  callback=callback)
    tolerance = card.get("security.tolerance")
    if card.get("security.form") == "max" and card.get("routing.paths") == "split":
        return solve_secure_max(network, tolerance, **kwargs)
    return solve_secure_sum(network, tolerance, form=card.get("security.form"),
                            max_iterations=card.get("solver.max_iterations"), **kwargs)


def run_composite(network: Network, card: ModelCard, callback: Callback | None = None) -> SolveResult:
    """Run the ``composite-goal`` card: :func:`solve_composite_routing` with its weights, power
    profiles (:func:`~topo_opt.solve.cards.node_power_profiles`), gap and time limit."""
    from topo_opt.evaluators.composite import CompositeWeights
    from topo_opt.solve.composite_routing import solve_composite_routing

    weights = CompositeWeights(rejection=card.get("composite.rejection"), delay=card.get("composite.delay"),
                               energy=card.get("composite.energy"))
    return solve_composite_routing(network, node_power_profiles(network, card), weights, gap=card.get("solver.gap"),
                                   time_limit_s=card.get("solver.time_limit_s"), callback=callback)


def check_routable(network: Network) -> None:
    """Raise InvalidInputError when there is nothing to route (no demands) or nothing to route on.

    Demands' hop limits (SNDlib ``max_path_length``) are kept in the instance but no solver
    uses them: a warning says so rather than ignoring them without a word.
    """
    limited = sum(1 for d in network.demands if d.max_path_length is not None)
    if limited:
        logger.warning("%s: %d of %d demands have a max path length (hops); the solvers do not use it, "
                       "so paths may be longer", network.name, limited, network.n_demands)
    if network.n_demands == 0:
        raise InvalidInputError(f"instance {network.name!r} has no demands: add them with "
                                "`topo-opt convert --gravity TOTAL` or `--uniform RATE`")
    if network.n_links == 0:
        raise InvalidInputError(f"instance {network.name!r} has no links: nothing to route the "
                                f"{network.n_demands} demands on")


def solve(network: Network, card: ModelCard, callback: Callback | None = None) -> SolveResult:
    """Solve the problem named by ``card`` on ``network`` (its runner in the registry,
    :data:`~topo_opt.solve.problems.PROBLEMS`).

    The design is re-checked against every constraint of the card
    (:func:`~topo_opt.solve.checker.check_card`) before the result is returned: a violation is
    recorded in ``result.violations`` and the message, and the result is then no success
    (``solution`` ``none``).

    Raises
    ------
    InvalidInputError
        When the instance has no demands or no links.
    InfeasibleError
        When the problem has no feasible design (the reason names the saturated cut).
    SolveInterrupted
        On Ctrl-C; ``partial`` is the best design so far with its bound (status
        ``interrupted``, checked like any result) when the method keeps one
        (``Problem.interruptible``), else None.
    """
    check_routable(network)
    try:
        problem = PROBLEMS[card.problem]
        return _checked(network, card, problem.run_function()(network, card, callback))
    except SolveInterrupted as stop:
        partial = stop.partial
        if isinstance(partial, SolveResult) and partial.design is not None \
                and partial.method in problem.interruptible:
            _checked(network, card, partial)
            raise
        raise SolveInterrupted(None) from None


def _checked(network: Network, card: ModelCard, result: SolveResult) -> SolveResult:
    """``result`` with overloads flagged and the card checker's violations recorded (and named
    first in the message)."""
    flag_overload(network, result)
    if result.design is not None:
        result.violations = check_card(network, card, result)
    if result.violations:
        text = "design fails the card check: " + "; ".join(result.violations)
        result.message = f"{text}; {result.message}" if result.message else text
    return result
