"""Exact single-path (unsplittable) min-delay routing: MILP over candidate paths + tangent cuts.

    min T(F) = (1/γ)[Σ_q F_q/(C_q − F_q) + ρ Σ_a d_a F_a]   with each demand on one path

Loop (Kelley's cutting planes on the MILP of :mod:`topo_opt.formulations.single_path_milp`):

1. solve the MILP with HiGHS; its dual bound / γ bounds the optimum over the candidate paths;
2. the chosen paths give an upper bound: T evaluated exactly at their flows (incumbent);
3. add tangent cuts where the MILP underestimates g at its loads, and repeat until
   (UB − bound)/UB ≤ ``gap``, the time limit or ``max_iterations``.

**Which bound is reported.**  The candidate paths
(:func:`~topo_opt.algorithms.path_enumeration.candidate_paths`) are every loop-free path of
every demand when the network has at most ``MAX_ENUMERATION_NODES`` nodes and no demand has
more than ``max_simple_paths`` of them (enumerated by networkx): then the MILP bound is a bound
over all single-path routings.  Otherwise the candidates are the ``k_shortest``
shortest paths under the zero-load marginal delay plus the paths of the splittable optimum,
and the MILP bound only covers those candidates.  Every single-path routing is also a
splittable one, so the splittable lower bound of gradient projection
(:func:`~topo_opt.algorithms.gradient_projection.solve_min_delay_gp`) is always valid.  The
result reports the larger valid bound and says which in ``details["lower_bound_source"]``;
``details["candidate_bound_s"]`` is the MILP bound over the candidates and
``details["candidates_complete"]`` whether the candidates are all loop-free paths.
"""
from __future__ import annotations

import math
import time
from typing import Callable


from topo_opt.algorithms.flow_deviation import CertifiedProgress
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.algorithms.path_enumeration import candidate_paths
from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.delay_cuts import add_tangent_cuts
from topo_opt.formulations.single_path_milp import build_single_path_model
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status, relative_gap
from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size
from topo_opt.solve.kelley import run_kelley
from topo_opt.solve.outer_approximation import new_cut_points

Callback = Callable[[dict], None]

#: The splittable optimum is computed to this certified gap (its bound is what matters).
SPLITTABLE_GAP = 1e-7


def solve_single_path_min_delay(network: Network, *, gap: float = 1e-4, mip_gap: float = 1e-6,
                                time_limit_s: float | None = None, max_iterations: int = 100,
                                k_shortest: int = 8, max_simple_paths: int = 50,
                                include_fixed_delay: bool = True,
                                callback: Callback | None = None) -> SolveResult:
    """Least-delay single-path routing with the bound described in the module docstring.

    Parameters
    ----------
    network : Network
    gap : float
        Stop when (UB − bound over the candidates)/UB ≤ gap.
    mip_gap : float
        HiGHS's relative MIP gap per MILP solve.
    time_limit_s : float, optional
    max_iterations : int
        Maximum number of MILP solves.
    k_shortest, max_simple_paths : int
        Candidate paths (see :func:`~topo_opt.algorithms.path_enumeration.candidate_paths`).
    include_fixed_delay : bool
        Add propagation and processing delays to T.
    callback : callable, optional
        Called with each history record {iteration, time_s, objective, lower_bound, gap}; the
        lower bound of the records is the MILP bound over the candidate paths.

    Returns
    -------
    SolveResult
        ``method = "single-path-milp"``, ``objective_name = "average_delay_s"``; ``OPTIMAL``
        only when the gap to a bound valid over all single-path routings is ≤ ``gap``.

    Raises
    ------
    InfeasibleError
        No splittable routing keeps every queue below capacity (then no single-path one does),
        or no assignment of the candidate paths does (a proof when they are all the loop-free
        paths; ``details["candidates_complete"]``).
    InvalidInputError
        ``gap`` < 0 or a link of zero capacity.
    """
    start = time.perf_counter()
    if not gap >= 0:
        raise InvalidInputError(f"gap must be >= 0, got {gap!r}")
    objective = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay)
    objective.require_positive_capacity()
    splittable = solve_min_delay_gp(network, gap=SPLITTABLE_GAP, time_limit_s=time_limit_s,
                                    include_fixed_delay=include_fixed_delay)
    paths, complete = candidate_paths(network, k_shortest=k_shortest,
                                      max_simple_paths=max_simple_paths,
                                      extra=splittable.design.routing)
    model = build_single_path_model(network, paths, objective)
    queues = model.layout.queues
    # HiGHS's default threads: a per-solve thread count that differs from the one HiGHS's global
    # scheduler started with (by any earlier solve in the process) makes HiGHS refuse to run
    solver = HighsSolver(model, HighsOptions(mip_rel_gap=mip_gap))
    state = {"best": math.inf, "routing": None,
             "reference_load": network.queue_load(splittable.design.arc_flow(network))[queues]}

    def improve() -> float:
        chosen = (solver.values(model.path_chosen) > 0.5).astype(float)
        routing = paths.carrying(chosen, network.n_demands)
        state["flow"] = flow = routing.arc_flow(network.demand_rate, network.n_arcs)
        value = objective.value(flow)
        if value < state["best"]:
            state["best"], state["routing"] = value, routing
            state["reference_load"] = network.queue_load(flow)[queues]
        return state["best"]

    def cut() -> int:
        cut_queues, cut_loads = new_cut_points(
            objective, queues, network.queue_load(state["flow"])[queues], solver.values(model.queue_packets),
            state["reference_load"])
        solver.add_constraints(add_tangent_cuts(model, cut_queues, cut_loads))
        return len(cut_queues)

    # the stop rule's bound is the one over the candidates ("lower_bound" of the history)
    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback, start_s=start)
    run = run_kelley(solver, progress, bound=lambda outcome: objective.scale * outcome.bound,
                     incumbent=improve, cut=cut, time_limit_s=time_limit_s, milp=True)
    status, message, iteration, history = run.status, run.message, run.iterations, progress.history
    candidate_bound, best_value, best_routing = run.bound, state["best"], state["routing"]
    if status is Status.INFEASIBLE:  # a proof only when the candidates are complete
        raise InfeasibleError(
            f"{network.name}: infeasible: " + (
                "no single-path routing keeps every link within capacity" if complete else
                "no assignment of the k-shortest candidate paths keeps every link within capacity "
                "(infeasible over the candidates only): raise candidates.k_shortest"),
            {"reason": "single_path", "candidates_complete": complete,
             "splittable_objective_s": splittable.objective})
    if status is Status.OPTIMAL:
        message = f"{message} over the candidates"

    if complete and candidate_bound >= splittable.lower_bound:
        bound, source = candidate_bound, "MILP over all loop-free paths (tangent cuts)"
    else:
        bound, source = splittable.lower_bound, "splittable optimum (gradient projection)"
    details = {"include_fixed_delay": include_fixed_delay, "candidates_complete": complete,
               "n_candidate_paths": paths.n_paths, "candidate_bound_s": candidate_bound,
               "splittable_objective_s": splittable.objective,
               "splittable_lower_bound_s": splittable.lower_bound,
               "lower_bound_source": source, **model_size(model)}
    elapsed = time.perf_counter() - start
    if best_routing is None:
        result = SolveResult(status, "single-path-milp",
                             "average_delay_s", "s", lower_bound=bound, solve_time_s=elapsed,
                             iterations=iteration, message=message, details=details, history=history)
    else:
        if status is Status.OPTIMAL and relative_gap(best_value, bound) > gap:
            status = Status.FEASIBLE
            message = (f"optimal over {paths.n_paths} candidate paths (gap {history[-1]['gap']:.3g}); "
                       f"gap to the splittable bound {relative_gap(best_value, bound):.3g}")
        result = SolveResult(status, "single-path-milp", "average_delay_s", "s", objective=best_value,
                             lower_bound=min(bound, best_value), design=Design.for_network(network, best_routing),
                             solve_time_s=elapsed, iterations=iteration, message=message,
                             details=details, history=history)
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result
