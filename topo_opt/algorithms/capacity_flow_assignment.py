"""Continuous capacity assignment (CA) and joint capacity and flow assignment (CFA) on a network.

Two problems, one per model card (linear capacity costs d_l, :mod:`topo_opt.model.costs`):

* ``capacity-min-delay-budget`` — min T s.t. Σ d_l C_l = D (default D: the installed cost);
* ``capacity-min-cost-delay-bound`` — min Σ d_l C_l s.t. T ≤ T_max (default T_max: the delay of
  the installed network under the card's routing).

With the routing fixed (``min-delay`` on the installed capacities, ``min-hop``,
``shortest-length``, ``ecmp``) the problem is convex and solved exactly by the square-root rule
(:mod:`topo_opt.algorithms.square_root_rule`); its Lagrangian dual gives the lower bound.

With ``routing.rule = "joint"`` routes and capacities are both chosen (CFA; Gerla and Kleinrock
1977).  For arc flows F let Φ(F) be the objective of the square-root capacities for F (for one
queue per link and the delay-bound form, with N_max = γ T_max − ρ Σ_a d_a F_a,

    Φ(F) = Σ_l d_l F_l + (Σ_l √(d_l F_l))² / N_max ),

so CFA is min Φ over the routings.  Φ is concave where the √ terms dominate (concentrating flow
on fewer links pays), so the descent works on Φ itself: by the envelope theorem on the
capacity assignment's Lagrangian, ∂Φ/∂F_a is a positive multiple of the delay gradient at the
assigned capacities, C_q/(C_q − F_q)² + ρ d_a (for one queue, d_l + τ√(d_l/F_l) + τ²ρ d_a in
the bound form); each step gives every demand its shortest path for these lengths and moves
flow to it from its longer paths in proportion to their excess length (gradient projection on
the projection arc, Bertsekas and Gallager, *Data Networks*, §5.7), with the step chosen on Φ
by a geometric grid that reaches every demand on its shortest path (the extreme flow the
concave parts favour) and a golden-section refinement, accepted only when Φ decreases.  It
stops when ``STALL_ROUNDS`` steps gain less than ``STALL_RTOL`` of Φ together, or no step
gains.  Links left without flow keep capacity 0 (the √ term's slope is unbounded there), so
flow never returns to them.  Start 0 is the min-delay routing of the installed network; the
others are single-path routings on random link weights (seeded), since the optimum of CFA with
linear costs lies at such extreme flows.  CFA is not convex, so the result has status
``feasible`` (``time_limit`` when the time limit cut a descent short, with the best design
found) and only a **weak proven bound**, valid over all
routings: with c_k = min-cost path of demand k for weights √d_l and e_k for weights d_l,

    N* ≥ max_k r_k c_k² / (D − max_k r_k e_k)          (budget form)
    cost* ≥ max_k r_k e_k + max_k r_k c_k² / N_max      (delay-bound form),

from N ≥ Σ_l F_l/(C_l − F_l) on each link's busiest queue, the square-root optimum for those
loads, and concavity of Σ_l √(d_l F_l) (its minimum over one demand's flows is a single path).
The fixed delays are bounded by each demand's shortest fixed-delay path.  The modular MILP
(``models/modular-capacity.toml``) is the tool for tight proven bounds.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Callable

import numpy as np

from topo_opt.algorithms import baselines
from topo_opt.model.routing_rules import CAPACITY_RULES
from topo_opt.algorithms.square_root_rule import (
    CapacityAssignment, link_queue_loads, min_cost_for_packets, min_delay_for_budget,
)
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, demand_distances, extend_with_shortest_paths, raise_unreachable, shortest_path_forest,
)
from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted, TopoOptError
from topo_opt.model.costs import linear_capacity_cost, unit_capacity_cost
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status
from topo_opt.algorithms.min_cost_routing import min_cost_capacity
from topo_opt.algorithms.support_routing import min_delay_on_support
from topo_opt.algorithms.line_search import golden_section

logger = logging.getLogger(__name__)
Callback = Callable[[dict], None]
CFA_MAX_ROUNDS = 1000
LINE_GRID = 30
LOCAL_GRID = 3
PATH_RTOL = 1e-6
STALL_ROUNDS = 10
#: CFA's result is a local optimum (``feasible``), not a certified one: its stall tolerance is not
#: the solve's gap (at the cards' 1e-6 the bundled geant's four starts took 96 s instead of 2.4 s,
#: for 0.3 % less cost)
STALL_RTOL = 1e-4
GOLDEN_STEPS = 8
CFA_RTOL = 1e-9


def fixed_routing(network: Network, rule: str, gap: float, time_limit_s: float | None,
                  include_fixed_delay: bool) -> Routing:
    """The routing a fixed-routing capacity assignment starts from (``joint`` → min-delay)."""
    if rule in ("min-delay", "joint"):
        DelayObjective.for_network(network).require_positive_capacity()
        return min_delay_on_support(network, network.link_capacity, gap=gap, time_limit_s=time_limit_s,
                                    include_fixed_delay=include_fixed_delay).design.routing
    if rule not in baselines.BASELINE_ROUTINGS:
        raise InvalidInputError(f"routing rule must be one of {', '.join(CAPACITY_RULES)}, got {rule!r}")
    return baselines.BASELINE_ROUTINGS[rule](network)


def min_fixed_delay_s(network: Network, include_fixed_delay: bool = True) -> float:
    """The least propagation and processing delay of any routing: each demand on its shortest
    fixed-delay path, (1/γ) ρ Σ_k r_k min_P Σ_{a∈P} d_a (s).  No delay bound below it can be met."""
    linear = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay).arc_linear_cost
    forest = shortest_path_forest(ArcGraph.from_network(network), linear, network.demand_source)
    distance = demand_distances(forest, network)
    if not np.all(np.isfinite(distance)):
        raise_unreachable(network, np.flatnonzero(~np.isfinite(distance)))
    return float(network.demand_rate @ distance) / network.total_packet_rate


class _Problem:
    """One CA problem on ``network``: evaluates designs and runs the square-root rule."""

    def __init__(self, network: Network, form: str, target: float, include_fixed_delay: bool):
        self.network, self.form, self.target = network, form, target
        self.unit_cost = unit_capacity_cost(network)
        self.objective = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay)
        self.gamma = network.total_packet_rate

    def assign(self, routing: Routing) -> tuple[CapacityAssignment, float, float]:
        """Capacities for ``routing``; returns (assignment, objective, its dual bound)."""
        return self.assign_flow(routing.arc_flow(self.network.demand_rate, self.network.n_arcs))

    def assign_flow(self, arc_flow: np.ndarray) -> tuple[CapacityAssignment, float, float]:
        """Capacities for the arc flows ``arc_flow`` (rate unit); as :meth:`assign`."""
        net = self.network
        loads = link_queue_loads(net.queue_load(arc_flow), net.queue_link, net.n_links)
        fixed = float(self.objective.arc_linear_cost @ arc_flow)
        if self.form == "budget":
            ca = min_delay_for_budget(loads, self.unit_cost, self.target)
            return ca, (ca.packets + fixed) / self.gamma, (ca.dual_bound + fixed) / self.gamma
        ca = min_cost_for_packets(loads, self.unit_cost, self.gamma * self.target - fixed)
        return ca, ca.cost, ca.dual_bound

    def value(self, arc_flow: np.ndarray) -> float:
        """Φ(F): the objective of the best capacities for ``arc_flow``, inf if none meets the
        budget or bound."""
        try:
            return self.assign_flow(arc_flow)[1]
        except InfeasibleError:
            return math.inf

    def marginal_cost(self, capacity: np.ndarray, arc_flow: np.ndarray) -> np.ndarray:
        """A positive multiple of ∂Φ/∂F_a at ``arc_flow`` given its best ``capacity`` (inf on
        arcs of links without capacity, where the derivative of √F is unbounded).

        By the envelope theorem on the Lagrangian of the capacity assignment, ∂Φ/∂F_a is the
        delay gradient at the assigned capacities, C_q/(C_q − F_q)² + ρ d_a, times τ² (bound
        form; for one queue it is d_l + τ√(d_l/F_l) + τ²ρ d_a) or 1/γ (budget form).
        """
        net = self.network
        queue_capacity = net.queue_capacity(capacity)
        slack = queue_capacity - net.queue_load(arc_flow)
        with np.errstate(divide="ignore", invalid="ignore"):
            queue_part = np.where(queue_capacity > 0, queue_capacity / slack ** 2, np.inf)
        return queue_part[net.arc_queue] + self.objective.arc_linear_cost

    def routing_independent_bound(self) -> float:
        """The weak bound of the module docstring, valid over every routing."""
        net = self.network
        graph = ArcGraph.from_network(net)
        arc_cost = self.unit_cost[net.arc_link]

        def distances(weight: np.ndarray) -> np.ndarray:
            return demand_distances(shortest_path_forest(graph, weight, net.demand_source), net)

        r = net.demand_rate
        sqrt_path = float(np.max(r * distances(np.sqrt(arc_cost)) ** 2))
        cost_path = float(np.max(r * distances(arc_cost)))
        fixed = self.gamma * min_fixed_delay_s(net, self.objective.include_fixed_delay)
        if self.form == "budget":
            return (sqrt_path / (self.target - cost_path) + fixed) / self.gamma
        return cost_path + sqrt_path / (self.gamma * self.target - fixed)


def _start_routings(network: Network, first: Routing, starts: int, seed: int):
    yield first
    rng = np.random.default_rng(seed)
    for _ in range(starts - 1):
        yield baselines.single_path_routing(network, rng.uniform(0.1, 1.0, network.n_arcs))


def _line_search(phi: Callable[[float], float], full: float, last: float | None) -> tuple[float, float]:
    """(α, φ(α)) for φ on [0, ``full``]: the best of a geometric grid, refined by a golden-section
    search (in log α) between its neighbours.  The grid is full·2^−j (j < ``LINE_GRID``) on the
    first step, then ``last``·2^j (|j| ≤ ``LOCAL_GRID``, up to ``full``) around the step taken
    before, and always the full step.  φ need not be convex (Φ is concave where the √ terms
    dominate): the full step, every demand on its shortest path, is the far end."""
    if last is None:
        grid = full * 2.0 ** -np.arange(LINE_GRID, dtype=float)
    else:
        grid = np.unique(np.minimum(last * 2.0 ** np.arange(-LOCAL_GRID, LOCAL_GRID + 1, dtype=float), full))[::-1]
        grid = np.concatenate([[full], grid[grid < full]])
    values = [phi(float(alpha)) for alpha in grid]
    i = int(np.argmin(values))
    best = (float(grid[i]), values[i])
    lo, hi = math.log(grid[min(i + 1, len(grid) - 1)]), math.log(grid[max(i - 1, 0)])
    if hi > lo:  # a grid of more than the full step
        point, value = golden_section(lambda t: phi(math.exp(t)), lo, hi, GOLDEN_STEPS)
        if value < best[1]:
            best = (math.exp(point), value)
    return best


def _shifted(paths: Routing, path_flow: np.ndarray, excess: np.ndarray, chosen: np.ndarray,
             alpha: float) -> np.ndarray:
    """Path flows after moving min(x_p, α·excess_p) from each path p to its demand's ``chosen``
    (shortest) path: the projection arc of gradient projection, all of a demand's flow on its
    shortest path once α ≥ x_p/excess_p for all its paths."""
    shift = np.minimum(path_flow, alpha * excess)
    out = path_flow - shift
    out[chosen] += np.bincount(paths.demand, weights=shift, minlength=len(chosen))
    return out


def _descend(problem: _Problem, routing: Routing, value: float, deadline: float | None
             ) -> tuple[Routing, float, Status]:
    """Gradient projection on Φ from ``routing`` (of objective ``value``), see the module
    docstring: the routing reached, its Φ, and what ended the descent: ``FEASIBLE`` (the stall
    rule, or no step gains), ``TIME_LIMIT`` (``deadline``) or ``INTERRUPTED`` (Ctrl-C); the
    routing is the last one accepted."""
    network = problem.network
    graph = ArcGraph.from_network(network)
    paths = routing.grouped()
    path_flow = paths.path_rates(network.demand_rate)
    accepted = (paths, path_flow, value)  # one assignment: Ctrl-C never finds it half-written
    recent, ended, alpha = [value], Status.FEASIBLE, None
    try:
        for _ in range(CFA_MAX_ROUNDS):
            if deadline is not None and time.perf_counter() >= deadline:
                ended = Status.TIME_LIMIT
                break
            flow = paths.carried_flow(path_flow, network.n_arcs)
            ca, _, _ = problem.assign_flow(flow)
            weight = problem.marginal_cost(ca.capacity, flow)
            forest = shortest_path_forest(graph, weight, network.demand_source)
            paths, path_flow, chosen, distance = extend_with_shortest_paths(paths, path_flow, forest, network,
                                                                            weight, drop_empty=True)
            excess = paths.path_sums(weight) - distance[paths.demand]
            moving = excess > PATH_RTOL * distance[paths.demand]  # not its shortest path but by rounding
            if not np.any(moving & (path_flow > 0)):
                break
            excess = np.where(moving, excess, 0.0)
            full = float(np.max(path_flow[moving] / excess[moving]))  # every demand on its shortest path

            def phi(a: float, p=paths, x=path_flow, e=excess, c=chosen) -> float:
                return problem.value(p.carried_flow(_shifted(p, x, e, c, a), network.n_arcs))

            last = alpha
            alpha, new_value = _line_search(phi, full, last)
            if last is not None and not new_value < value * (1 - CFA_RTOL):  # the whole grid before giving up
                alpha, new_value = _line_search(phi, full, None)
            if not new_value < value * (1 - CFA_RTOL):
                break
            path_flow, value = _shifted(paths, path_flow, excess, chosen, alpha), new_value
            accepted = (paths, path_flow, value)
            recent = (recent + [value])[-STALL_ROUNDS - 1:]
            if len(recent) > STALL_ROUNDS and value > recent[0] * (1 - STALL_RTOL):
                break
    except KeyboardInterrupt:
        ended = Status.INTERRUPTED
    paths, path_flow, value = accepted
    keep = np.flatnonzero(path_flow > 0)
    kept = paths.select(keep)
    fraction = path_flow[keep] / network.demand_rate[kept.demand]
    return Routing(kept.demand, fraction, kept.indptr, kept.arcs), value, ended


def solve_capacity_assignment(network: Network, *, form: str, routing_rule: str, target: float | str,
                              include_fixed_delay: bool = True, gap: float = 1e-6,
                              time_limit_s: float | None = None, starts: int = 4, seed: int = 0,
                              callback: Callback | None = None) -> SolveResult:
    """Capacity assignment (``form`` ``"budget"`` or ``"delay-bound"``) for a routing rule.

    Parameters
    ----------
    target : float or "installed"
        The budget D (cost unit) or the delay bound T_max (s); ``"installed"`` takes the cost of
        the installed capacities, or the delay of the installed network under the routing rule.
    gap, time_limit_s
        Certified gap of the min-delay routing of the installed network (the ``min-delay`` and
        ``joint`` rules); time limit of the whole solve (s): CFA keeps
        the best design when it runs out, with status ``time_limit``.
    starts, seed
        CFA (``routing_rule = "joint"``) only: number of starts and the seed of the random ones.

    Raises
    ------
    InvalidInputError
        ``"installed"`` on an instance without capacities or saturated under the rule, or an
        unknown rule.
    InfeasibleError
        A budget that cannot carry the flows, or a delay bound not above the fixed delays.
    SolveInterrupted
        Ctrl-C during CFA: carries the result (status ``interrupted``) with the best design so far.
    """
    began = time.perf_counter()
    routing = fixed_routing(network, routing_rule, gap, time_limit_s, include_fixed_delay)
    if target == "installed":
        if not np.all(network.link_capacity > 0):
            raise InvalidInputError(f"instance {network.name!r} has links without capacity: give "
                                    f"the {'budget' if form == 'budget' else 'delay bound'} in the card")
        target = linear_capacity_cost(network, network.link_capacity) if form == "budget" else \
            DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay).value(
                routing.arc_flow(network.demand_rate, network.n_arcs))
        if not math.isfinite(target):
            raise InvalidInputError(f"instance {network.name!r}: the installed network is saturated under "
                                    f"{routing_rule} routing, so its delay is no bound: give the delay bound "
                                    f"in the card")
    problem = _Problem(network, form, float(target), include_fixed_delay)
    ca, value, bound = problem.assign(routing)
    best = (value, ca, routing)
    history = [{"iteration": 0, "time_s": time.perf_counter() - began, "objective": value,
                "lower_bound": bound}]
    details = {"form": form, "routing_rule": routing_rule, "target": target,
               "include_fixed_delay": include_fixed_delay}
    if routing_rule == "joint":
        starts_found, status = [], Status.FEASIBLE
        bound = problem.routing_independent_bound()
        deadline = None if time_limit_s is None else began + time_limit_s
        try:
            for index, start in enumerate(_start_routings(network, routing, max(starts, 1), seed)):
                try:
                    ca, value, _ = problem.assign(start)
                except InfeasibleError:  # e.g. a random start whose propagation delay exceeds T_max
                    starts_found.append(math.nan)
                    continue
                start, value, status = _descend(problem, start, value, deadline)
                ca, value, _ = problem.assign(start)
                starts_found.append(value)
                if value < best[0]:
                    best = (value, ca, start)
                record = {"iteration": index + 1, "time_s": time.perf_counter() - began,
                          "objective": best[0], "lower_bound": bound}
                history.append(record)
                if callback:
                    callback(record)
                if status is not Status.FEASIBLE:  # the time limit or Ctrl-C ended the descent
                    break
        except KeyboardInterrupt:  # between descents: ``best`` is whole
            status = Status.INTERRUPTED
        details.update(starts=len(starts_found), seed=seed, start_objectives=starts_found,
                       lower_bound_source="routing-independent bound (weak; CFA is not convex)")
    else:
        details["lower_bound_source"] = "Lagrangian dual of the capacity assignment (routing fixed)"
        status = Status.OPTIMAL
    value, ca, routing = best
    design = Design.for_network(network, routing, link_capacity=ca.capacity,
                                link_on=ca.capacity > 0)
    details.update(capacity_cost=ca.cost, multiplier=ca.multiplier)
    name, unit = ("average_delay_s", "s") if form == "budget" else ("capacity_cost", "cost")
    result = SolveResult(status, "square-root" if routing_rule != "joint" else "cfa", name, unit,
                         objective=value, lower_bound=min(bound, value) if math.isfinite(bound) else bound,
                         design=design, solve_time_s=time.perf_counter() - began,
                         iterations=len(history) - 1, details=details, history=history)
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result


def continuous_design(network: Network, links: np.ndarray, sense: str, max_delay_s: float | None,
                      budget: float | None, include_fixed_delay: bool, time_limit_s: float,
                      gap: float) -> tuple[np.ndarray | None, str]:
    """Capacities (rate unit, per link) of the continuous joint capacity and flow assignment
    for the same bound (min-cost) or budget (min-delay) with linear costs d_l, and where they
    come from (``"min-cost LP"``, ``"cfa"``); None (and the reason) when it does not apply (e.g.
    nothing installed to route on).  Only a guide for the levels and the starting design.

    ``min-cost`` first solves the min-cost capacity LP (no delay bound,
    :mod:`~topo_opt.algorithms.min_cost_routing`), a lower bound on every continuous design,
    and gives its flows square-root capacities for T_max; when those cost at most
    (1 + ``gap``) × the LP value the delay bound is slack (SNDlib's pure-cost problem,
    T_max → ∞) and they are the design, within ``gap`` of the continuous optimum.
    Otherwise the CFA (one start: the min-delay routing of the installed network), at most
    ``CFA_MAX_ROUNDS`` steps to the stall tolerance ``STALL_RTOL``, within ``time_limit_s``."""
    if sense == "min-cost":
        try:
            slack = _slack_design(network, links, max_delay_s, include_fixed_delay, time_limit_s, gap)
        except TopoOptError as exc:
            logger.info("no min-cost capacity LP: %s", exc)
            slack = None
        if slack is not None:
            return slack, "min-cost LP"
    form, target = ("delay-bound", max_delay_s) if sense == "min-cost" else ("budget", budget)
    try:
        result = solve_capacity_assignment(network, form=form, routing_rule="joint", target=target,
                                           include_fixed_delay=include_fixed_delay, gap=gap,
                                           time_limit_s=max(time_limit_s, 0.0), starts=1)
    except TopoOptError as exc:
        logger.info("no continuous design to focus the levels on: %s", exc)
        return None, f"none: {exc}"
    return np.asarray(result.design.link_capacity, float), "cfa"


def _slack_design(network: Network, links: np.ndarray, max_delay_s: float, include_fixed_delay: bool,
                  time_limit_s: float, gap: float) -> np.ndarray | None:
    """Square-root capacities on the min-cost LP's flows when the delay bound is slack (they cost
    ≤ (1 + ``gap``) × the LP value, a lower bound on every continuous design); else None."""
    unit_cost = unit_capacity_cost(network)
    lp = min_cost_capacity(network, unit_cost, links, time_limit_s=max(time_limit_s, 0.0))
    fixed = float(DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay).arc_linear_cost
                  @ lp.arc_flow)
    available = network.total_packet_rate * max_delay_s - fixed
    if not available > 0:
        return None
    loads = link_queue_loads(network.queue_load(lp.arc_flow), network.queue_link, network.n_links)
    design = min_cost_for_packets(loads, unit_cost, available)
    if design.cost > (1 + gap) * lp.cost:
        return None
    logger.info("delay bound slack: continuous design %.6g within %.1e of the min-cost LP %.6g",
                design.cost, gap, lp.cost)
    return design.capacity
