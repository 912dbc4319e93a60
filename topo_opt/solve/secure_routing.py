"""Security-constrained min-delay routing (models.md §5).

Rejection of element e (node or link) by demand k: r(k, e) = max(0, S(e) − T(k))
(:mod:`topo_opt.evaluators.security`).  Two encodings:

* **max form, hard exclusion** (exact): r_max(k, P) ≤ R  ⇔  P avoids every element with
  r(k, e) > R.  Those nodes and links are removed and min-delay routing
  (:func:`~topo_opt.algorithms.gradient_projection.solve_min_delay_gp`, certified gap) runs on
  the rest; the routing is mapped back to the original arcs.  Splittable.
* **sum form on single-path routing** (exact MILP of
  :mod:`topo_opt.formulations.secure_single_path`): one path per demand, the rejection row
  Σ_a r(k, a) u[k, a] + r(k, t_k) ≤ R, and min T by tangent cuts refined at the MILP's flows
  until (T − LB)/T ≤ gap, LB the MILP dual bound (Kelley 1960).

Infeasibility is reported with the demand and the element that cause it: a source or target
whose own rejection exceeds R, or the excluded nodes that cut the demand off.

References: E. Gelenbe, G. Gorbil, F.-J. Wu, "Emergency cyber-physical-human systems", ICCCN
2012; E. Gelenbe, "Cognitive packet network", US patent 6,804,201 (security-aware CPN routing).
"""
from __future__ import annotations

import math
import time
from typing import Callable, Mapping

import numpy as np
from scipy.sparse.csgraph import breadth_first_order

from topo_opt.algorithms.flow_deviation import CertifiedProgress
from topo_opt.algorithms.path_operators import paths_from_arc_sets
from topo_opt.algorithms.shortest_paths import ArcGraph, unreachable_demands
from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.security import arc_rejection, element_rejection
from topo_opt.formulations.delay_cuts import INITIAL_TANGENT_UTILIZATIONS
from topo_opt.formulations.secure_single_path import add_secure_tangent_cuts, build_secure_single_path_model
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status
from topo_opt.model.validation import sub_network
from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size
from topo_opt.solve.kelley import run_kelley
from topo_opt.solve.outer_approximation import new_cut_points

Callback = Callable[[dict], None]

REJECTION_FORMS = ("max", "sum")


def _names(records, indices) -> str:
    return ", ".join(repr(records[i].id) for i in indices[:5]) + (" ..." if len(indices) > 5 else "")


def _raise_endpoint(network: Network, node_r: np.ndarray, bound: float) -> None:
    """InfeasibleError when a demand's own source or target is rejected beyond ``bound``."""
    k_idx = np.arange(network.n_demands)
    for end, nodes in (("source", network.demand_source), ("target", network.demand_target)):
        r = node_r[k_idx, nodes]
        bad = np.flatnonzero(r > bound)
        if bad.size:
            k, n = int(bad[0]), int(nodes[bad[0]])
            raise InfeasibleError(
                f"{network.name}: infeasible: demand {network.demands[k].id!r} has its {end} node "
                f"{network.nodes[n].id!r} with rejection {r[k]:.6g} > bound {bound:g}",
                {"reason": "security", "demand": network.demands[k].id, "node": network.nodes[n].id})


def allowed_arcs(network: Network, tolerance_by_class: Mapping[str, float] | None,
                 max_rejection: float) -> np.ndarray:
    """Boolean (n_demands, n_arcs): arc usable by demand k (its tail, head and link have r ≤ R)."""
    node_r, link_r = element_rejection(network, tolerance_by_class)
    ok_node = node_r <= max_rejection
    return ok_node[:, network.arc_tail] & ok_node[:, network.arc_head] \
        & (link_r <= max_rejection)[:, network.arc_link]


def _raise_cut_off(network: Network, allowed: np.ndarray, blocked: np.ndarray,
                   node_r: np.ndarray, bound: float) -> None:
    """InfeasibleError naming a demand without an allowed path and the excluded nodes on its way."""
    k = int(blocked[0])
    demand = network.demands[k]
    # the cut: excluded nodes next to the region the source still reaches
    graph = ArcGraph.from_network(network).csgraph(np.where(allowed[k], 1.0, np.inf))[0]
    reached = np.zeros(network.n_nodes, dtype=bool)
    reached[breadth_first_order(graph, int(network.demand_source[k]), return_predecessors=False)] = True
    frontier = network.arc_head[reached[network.arc_tail] & ~allowed[k]]
    culprits = np.unique(frontier[node_r[k, frontier] > bound])
    what = f"nodes {_names(network.nodes, culprits)}" if culprits.size else "insecure links"
    more = f" ({len(blocked)} demands)" if len(blocked) > 1 else ""
    raise InfeasibleError(
        f"{network.name}: infeasible: demand {demand.id!r} ({demand.source!r} -> {demand.target!r}) "
        f"has no path avoiding {what} with rejection > {bound:g}{more}",
        {"reason": "security", "demand": demand.id,
         "nodes": [network.nodes[i].id for i in culprits.tolist()],
         "demands": [network.demands[i].id for i in blocked.tolist()]})


def solve_secure_max(network: Network, tolerance_by_class: Mapping[str, float] | None = None, *,
                     max_rejection: float = 0.0, gap: float = 1e-6,
                     time_limit_s: float | None = None, include_fixed_delay: bool = True,
                     callback: Callback | None = None) -> SolveResult:
    """Min-delay splittable routing with r_max(k, P) ≤ R on every path (hard exclusion, exact).

    All demands must exclude the same elements (one tolerance, or classes whose tolerances give
    the same excluded set); otherwise use :func:`solve_secure_sum` with ``form="max"``.

    Returns
    -------
    SolveResult
        From gradient projection on the pruned network, mapped back (``method =
        "secure-max-gradient-projection"``); ``details["excluded_nodes"/"excluded_links"]``.

    Raises
    ------
    InfeasibleError
        Names the demand and the node that make it infeasible (an end point with r > R, or the
        excluded nodes that cut it off), or the saturated cut of the remaining network.
    InvalidInputError
        R < 0, or demand classes with different excluded sets.
    """
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp

    start = time.perf_counter()
    if not max_rejection >= 0:
        raise InvalidInputError(f"max_rejection must be >= 0, got {max_rejection!r}")
    node_r, link_r = element_rejection(network, tolerance_by_class)
    _raise_endpoint(network, node_r, max_rejection)
    allowed = allowed_arcs(network, tolerance_by_class, max_rejection)
    if np.any(allowed != allowed[:1]):
        raise InvalidInputError(
            "security: demand classes exclude different elements; the splittable max form needs one "
            "excluded set (use form = \"sum\" with single-path routing, which handles per-class sets)")
    blocked = unreachable_demands(network, allowed[0])
    if blocked.size:
        _raise_cut_off(network, allowed, blocked, node_r, max_rejection)
    keep_node = np.all(node_r <= max_rejection, axis=0)
    keep_link = np.all(link_r <= max_rejection, axis=0) & keep_node[network.link_source] \
        & keep_node[network.link_target]
    pruned, arc_map = sub_network(network, keep_node, keep_link)
    result = solve_min_delay_gp(pruned, gap=gap, time_limit_s=time_limit_s,
                                include_fixed_delay=include_fixed_delay, callback=callback)
    result.design = Design.for_network(network, result.design.routing.on_arcs(arc_map))
    result.method = "secure-max-gradient-projection"
    result.solve_time_s = time.perf_counter() - start
    result.details.update(
        include_fixed_delay=include_fixed_delay, rejection_form="max", max_rejection=max_rejection,
        excluded_nodes=[network.nodes[i].id for i in np.flatnonzero(~keep_node).tolist()],
        excluded_links=[network.links[i].id for i in np.flatnonzero(~keep_link).tolist()])
    return result


def solve_secure_sum(network: Network, tolerance_by_class: Mapping[str, float] | None = None, *,
                     max_rejection: float = 0.0, form: str = "sum", gap: float = 1e-4,
                     time_limit_s: float | None = None, max_iterations: int = 100,
                     include_fixed_delay: bool = True, callback: Callback | None = None) -> SolveResult:
    """Min-delay single-path routing with r_sum(k, P) ≤ R (or r_max with ``form="max"``), MILP.

    Tangent cuts refined by the Kelley driver (:func:`~topo_opt.solve.kelley.run_kelley`), which
    stops at the gap, the time or iteration limit, a stall, or Ctrl-C (status ``interrupted``,
    raised as :class:`~topo_opt.errors.SolveInterrupted` with the best design).

    Returns
    -------
    SolveResult
        ``method = "secure-single-path-milp"``; objective the true T (s) of the returned paths,
        ``lower_bound`` the best MILP dual bound (s).

    Raises
    ------
    InfeasibleError
        Names the demand and the node that cause it (end point with r > R, excluded nodes
        cutting it off), or "no single-path routing meets the bound below capacity".
    """
    start = time.perf_counter()
    if form not in REJECTION_FORMS:
        raise InvalidInputError(f"rejection form must be one of {', '.join(REJECTION_FORMS)}, got {form!r}")
    if not max_rejection >= 0:
        raise InvalidInputError(f"max_rejection must be >= 0, got {max_rejection!r}")
    objective = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay)
    objective.require_positive_capacity()
    node_r, link_r = element_rejection(network, tolerance_by_class)
    _raise_endpoint(network, node_r, max_rejection)
    allowed = allowed_arcs(network, tolerance_by_class, max_rejection)
    masks, mask_of = np.unique(allowed, axis=0, return_inverse=True)
    blocked = np.sort(np.concatenate([d[mask_of.ravel()[d] == i] for i, d in enumerate(
        unreachable_demands(network, mask) for mask in masks)]))
    if blocked.size:
        _raise_cut_off(network, allowed, blocked, node_r, max_rejection)
    arc_r, target_r = arc_rejection(network, tolerance_by_class)
    if form == "max":  # exclusion is already exact: no sum row
        arc_r = np.zeros_like(arc_r)
        target_r = np.zeros_like(target_r)
    m = build_secure_single_path_model(network, objective, allowed, arc_r, target_r, max_rejection)
    queues = np.arange(network.n_queues)
    u = np.asarray(INITIAL_TANGENT_UTILIZATIONS)
    add_secure_tangent_cuts(m, objective, np.tile(queues, len(u)), np.outer(u, objective.queue_capacity).ravel())
    solver = HighsSolver(m, HighsOptions(mip_rel_gap=gap / 2))
    pairs = np.array(list(m.PAIRS), dtype=np.int64).reshape(-1, 2)
    state = {"best": math.inf, "paths": None}

    def improve() -> float:
        used = pairs[solver.values(m.use) > 0.5]
        state["flow"] = np.bincount(used[:, 1], weights=network.demand_rate[used[:, 0]], minlength=network.n_arcs)
        value = objective.value(state["flow"])
        if value < state["best"]:
            state["best"], state["paths"], state["best_flow"] = value, used, state["flow"]
        return state["best"]

    def cut() -> int:
        cut_queues, cut_loads = new_cut_points(
            objective, queues, network.queue_load(state["flow"]), solver.values(m.queue_packets),
            network.queue_load(state.get("best_flow", np.zeros(network.n_arcs))))
        solver.add_constraints(add_secure_tangent_cuts(m, objective, cut_queues, cut_loads))
        return len(cut_queues)

    progress = CertifiedProgress(gap, time_limit_s, max_iterations, callback, start_s=start)
    run = run_kelley(solver, progress, bound=lambda outcome: objective.scale * outcome.bound,
                     incumbent=improve, cut=cut, time_limit_s=time_limit_s, milp=True)
    if run.status is Status.INFEASIBLE:
        raise InfeasibleError(
            f"{network.name}: infeasible: no single-path routing keeps every demand's "
            f"{form} rejection <= {max_rejection:g}", {"reason": "security"})
    status, message, bound, iteration, history, best_paths = run.status, run.message, run.bound, \
        run.iterations, progress.history, state["paths"]
    if best_paths is None:
        result = SolveResult(status, "secure-single-path-milp", "average_delay_s", "s",
                             solve_time_s=time.perf_counter() - start, message=message)
        if status is Status.INTERRUPTED:
            raise SolveInterrupted(result)
        return result
    routing = paths_from_arc_sets(network, best_paths)
    design = Design.for_network(network, routing)
    value = objective.value(design.arc_flow(network))
    result = SolveResult(
        status, "secure-single-path-milp", "average_delay_s", "s", objective=value,
        lower_bound=min(bound, value), design=design, solve_time_s=time.perf_counter() - start,
        iterations=iteration, message=message, history=history,
        details={"include_fixed_delay": include_fixed_delay, "rejection_form": form,
                 "max_rejection": max_rejection, **model_size(m),
                 "lower_bound_source": "MILP dual bound (tangent-cut relaxation)"})
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result
