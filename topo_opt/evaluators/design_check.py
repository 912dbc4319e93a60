"""The shared solution checker: recompute everything a method reports from its design.

Every method's output goes through :func:`check_result` in the tests (and ``topo-opt evaluate
--check`` for users): routing conservation per demand, capacities, on/off consistency, and the
reported objective and bound recomputed from the routing.  It returns the list of violations;
an empty list means the design is valid and the numbers are honest.  The constraints of a model
card are added by :func:`topo_opt.solve.checker.check_card`.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.power import Profiles, network_power
from topo_opt.evaluators.security import path_rejection
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status


def check_design(network: Network, design: Design, *, strict_capacity: bool = True,
                 capacity: bool = True, tol: float = 1e-9) -> list[str]:
    """Violations of routing conservation, capacity and on/off constraints.

    Conservation per demand: each path is a walk of arcs from the demand's source to its target,
    fractions are ≥ 0 and sum to 1.  Capacity: every queue load ≤ capacity (< with
    ``strict_capacity``, as M/M/1 delay requires; not checked with ``capacity=False``).  Flow
    only on links and nodes that are on.
    """
    problems: list[str] = []
    routing = design.routing
    if routing.n_paths and (routing.demand.min() < 0 or routing.demand.max() >= network.n_demands):
        return ["routing refers to demands that are not in the instance"]
    if np.any(routing.fraction < -tol):
        problems.append("negative path fraction")
    sums = np.bincount(routing.demand, weights=routing.fraction, minlength=network.n_demands)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        problems.append(f"demand {network.demands[bad[0]].id!r}: fractions sum to {sums[bad[0]]:.9g}"
                        f" ({bad.size} demands)")
    lengths = np.diff(routing.indptr)
    if np.any(lengths == 0):
        problems.append("empty path")
        return problems
    first, last = routing.arcs[routing.indptr[:-1]], routing.arcs[routing.indptr[1:] - 1]
    if np.any(network.arc_tail[first] != network.demand_source[routing.demand]) or \
            np.any(network.arc_head[last] != network.demand_target[routing.demand]):
        problems.append("a path does not start at its demand's source or end at its target")
    inner = np.ones(len(routing.arcs), dtype=bool)
    inner[routing.indptr[1:] - 1] = False  # last arc of each path has no successor
    successors = np.flatnonzero(inner)
    if np.any(network.arc_head[routing.arcs[successors]] != network.arc_tail[routing.arcs[successors + 1]]):
        problems.append("a path is not a walk (consecutive arcs do not meet)")

    flow = design.arc_flow(network)
    load = network.queue_load(flow)
    queue_capacity = network.queue_capacity(design.link_capacity)
    over = (load >= queue_capacity) & (load > 0) if strict_capacity else load > queue_capacity * (1 + tol)
    if capacity and np.any(over):
        q = int(np.flatnonzero(over)[0])
        problems.append(f"link {network.links[network.queue_link[q]].id!r}: load {load[q]:.6g} exceeds "
                        f"capacity {queue_capacity[q]:.6g} {network.rate_unit}")
    off_links = ~design.link_on[network.arc_link]
    if np.any(flow[off_links] > tol * max(1.0, network.total_demand)):
        problems.append("flow on a link that is off")
    node_used = np.zeros(network.n_nodes, dtype=bool)
    node_used[network.arc_tail[flow > 0]] = True
    node_used[network.arc_head[flow > 0]] = True
    if np.any(node_used & ~design.node_on):
        problems.append("flow through a node that is off")
    return problems


#: Utilisation from which a link counts as overloaded: ρ ≥ 1 has no M/M/1 steady state, and an
#: LP vertex that fills a link "exactly" may land a rounding error below 1.
OVERLOAD_UTILIZATION = 1.0 - 1e-9


def overloaded_links(network: Network, design: Design) -> tuple[list[str], float]:
    """Ids of the links with a queue at utilisation ≥ :data:`OVERLOAD_UTILIZATION`, most loaded
    first, and the largest utilisation (0 for an idle network; inf for traffic on no capacity)."""
    load = network.queue_load(design.arc_flow(network))
    capacity = network.queue_capacity(design.link_capacity)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(capacity > 0, load / capacity, np.where(load > 0, np.inf, 0.0))
    over = np.flatnonzero(rho >= OVERLOAD_UTILIZATION)
    over = over[np.argsort(-rho[over], kind="stable")]
    links = list(dict.fromkeys(network.links[i].id for i in network.queue_link[over].tolist()))
    return links, float(rho.max()) if rho.size else 0.0


def check_result(network: Network, result: SolveResult, *, rtol: float = 1e-7,
                 power: Profiles | None = None, security: Mapping[str, float] | None = None,
                 capacity: bool = True) -> list[str]:
    """Violations in a solve result: its design (:func:`check_design`) and its reported numbers.

    For delay objectives the objective is recomputed from the routing; the lower bound must not
    exceed the objective.  With ``power`` (device profiles) a ``total_power_w`` objective is
    recomputed; a reported ``details["average_delay_s"]`` is recomputed; with ``security``
    (tolerance per class) every used path's rejection in ``details["rejection_form"]`` must be
    ≤ ``details["max_rejection"]``.  ``capacity=False`` skips the capacity check (problems
    whose answer may overload a link: :data:`topo_opt.solve.checker.CAPACITY_FREE_PROBLEMS`).
    """
    if result.status is Status.INFEASIBLE:
        return [] if result.design is None else ["an infeasible result carries a design"]
    if result.design is None:
        return ["no design"]
    problems = check_design(network, result.design, capacity=capacity,
                            strict_capacity=result.objective_name == "average_delay_s")
    if result.objective_name == "average_delay_s" and math.isfinite(result.objective):
        include = result.details.get("include_fixed_delay", True)
        recomputed = DelayObjective.for_network(network, result.design.link_capacity, include) \
            .value(result.design.arc_flow(network))
        if not math.isclose(recomputed, result.objective, rel_tol=rtol):
            problems.append(f"objective {result.objective:.12g} s but the routing gives {recomputed:.12g} s")
    if power is not None and result.objective_name == "total_power_w":
        recomputed = network_power(network, result.design, power).total_w
        if not math.isclose(recomputed, result.objective, rel_tol=rtol):
            problems.append(f"power {result.objective:.12g} W but the design draws {recomputed:.12g} W")
    reported_delay = result.details.get("average_delay_s")
    if reported_delay is not None and math.isfinite(reported_delay):
        recomputed = DelayObjective.for_network(network, result.design.link_capacity, result.details.get(
            "include_fixed_delay", True)).value(result.design.arc_flow(network))
        if not math.isclose(recomputed, reported_delay, rel_tol=rtol):
            problems.append(f"average delay {reported_delay:.12g} s but the design gives {recomputed:.12g} s")
    if security is not None and "max_rejection" in result.details:
        rejection = path_rejection(network, result.design.routing, security)
        paths = getattr(rejection, f"path_{result.details['rejection_form']}")
        worst = float(paths[result.design.routing.fraction > 0].max(initial=0.0))
        if worst > result.details["max_rejection"] * (1 + rtol) + 1e-12:
            problems.append(f"a path has {result.details['rejection_form']} rejection {worst:.6g} > "
                            f"bound {result.details['max_rejection']:.6g}")
    if math.isfinite(result.lower_bound) and result.lower_bound > result.objective * (1 + rtol):
        problems.append(f"lower bound {result.lower_bound:.12g} exceeds objective {result.objective:.12g}")
    return problems
