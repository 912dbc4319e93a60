"""Min-power network design with on/off switching (Pyomo builder, never solves; models.md §4).

On the source-aggregated multicommodity flow of :mod:`topo_opt.formulations.multicommodity`:

    min  Σ_n P_chassis,n z_n + Σ_l (P_port,tail(l) + P_port,head(l)) y_l + Σ_a ε_a F_a      (W)
    s.t. F_q ≤ α C_q y_l(q)                      (a link that is off carries nothing; α ≤ 1)
         y_l ≤ z_tail(l),  y_l ≤ z_head(l)        (a link needs both its routers)
         z_n = 1 for every node where a demand starts or ends
         z, y ∈ {0, 1}  (both arcs of a link share y_l)

and, when a network delay bound is given, T ≤ T_max written in packets

    Σ_q n_q + ρ Σ_a d_a F_a ≤ γ T_max,
    n_q ≥ s F_q + b y_l(q)   (perspective tangent cuts of g(F) = F/(C − F) at F̂)

with s = C/(C − F̂)² and b = −F̂²/(C − F̂)² ≤ 0 (:func:`~topo_opt.formulations.delay_cuts.
tangent_coefficients`).  For y = 1 this is the tangent; for y = 0 the flow is 0 and the cut
reads n_q ≥ b·0 = 0, so every cut is valid for every design and the relaxation's feasible set
contains every design with T ≤ T_max: **the MILP optimum is a lower bound on the minimum power**
whatever cuts are present.  Multiplying b by y (instead of the plain tangent n_q ≥ s F_q + b)
tightens the LP relaxation of switched-off links (Günlük and Linderoth, perspective
reformulations, Math. Prog. 2010).

With a per-demand end-to-end bound D_max the flows come from candidate paths instead (one
binary x_p per path, Σ_{p ∈ P_k} x_p = 1, F_a = Σ_p r_k [a ∈ p] x_p, as in
:mod:`topo_opt.formulations.single_path_milp`), and with ω_q the M/M/1 sojourn of queue q in units
of D_max:

    Σ_{a ∈ p} ω_q(a) + τ_p/D_max ≤ 1 + M_p (1 − x_p),     ω_q ≥ h(F̂)/D_max + h'(F̂)(F_q − F̂)/D_max

with h(F) = 1/(κ(C − F)) the sojourn (s), τ_p the path's propagation and processing and
M_p = 2|p|.  Tangent points are kept at F̂ ≤ F_cap = C − 1/(κ D_max) (a queue loaded beyond
F_cap alone exceeds D_max), so a tangent is at most 2/(κ(C − F_cap)) = 2 D_max at F ≤ C: ω_q ≤ 2
and a path that is not chosen is never constrained.  Tangents underestimate h, so the MILP
optimum is a lower bound over the candidate paths.

Valid rows on the switches alone (:func:`define_switching_cuts`), which the LP relaxation misses
(it may keep every link a sliver on, y_l = F_q/(α C_q)).  They hold for every design with no
router on that carries nothing and no flow around a cycle — removing those never raises the
power nor the delay, so they keep an optimum (Magnanti, Mirchandani and Vachani 1993 for the
rounded cut sets; the forest count is the cardinality row of the spanning-tree polytope):

    Σ_l y_l − Σ_{n ∉ E} z_n ≥ |E| − k      (links on form a forest at least; E the demand end
                                             points, k the components of the demand graph on E)
    Σ_{l ∈ δ(n)} y_l ≥ 2 z_n,  n ∉ E        (a transit router on passes flow through two links)
    Σ_{l ∈ δ(S)} y_l ≥ k_S                  (k_S the fewest links across the cut whose α C
                                             carry the demand across it, S a node or a linked pair)

ε_a is the load-dependent power per rate unit of the port at the arc's tail: exact for the
``linear`` and ``proportional`` load shapes of :mod:`topo_opt.evaluators.power` (Chabarek et al.,
*Power awareness in network design and routing*, INFOCOM 2008); other shapes are refused.
"""
from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.power import LOAD_SHAPES, NodePowerModel
from topo_opt.formulations.cut_sets import candidate_node_sets, cut_requirements
from topo_opt.formulations.delay_cuts import INITIAL_TANGENT_UTILIZATIONS, tangent_coefficients
from topo_opt.formulations.multicommodity import (
    build_multicommodity_model, define_index_sets, define_queue_loads, flow_layout, linear_expression,
)
from topo_opt.formulations.single_path_milp import define_path_arc_flows, define_path_choice
from topo_opt.model.design import Routing
from topo_opt.model.network import Network

#: Load shapes whose power is linear in the flow (exact in the MILP objective).
LINEAR_SHAPES = ("linear", "proportional")


def arc_load_power_w(network: Network, power: NodePowerModel) -> np.ndarray:
    """ε_a: load-dependent power per rate unit of flow on arc a (W per rate unit).

    Raises
    ------
    InvalidInputError
        A node whose profile's load shape is not linear in the flow.
    """
    linear = np.isin(power.shape, [LOAD_SHAPES.index(s) for s in LINEAR_SHAPES])
    if not linear.all():
        n = int(np.flatnonzero(~linear)[0])
        raise InvalidInputError(
            f"node {network.nodes[n].id!r}: load shape {LOAD_SHAPES[power.shape[n]]!r} is not linear "
            f"in the flow; the min-power MILP supports {', '.join(LINEAR_SHAPES)} (use the EARP "
            "heuristic for other shapes)")
    tail = network.arc_tail
    return power.full_load_w[tail] * power.bits_per_rate_unit / power.reference_capacity_bps[tail]


def define_switches(model: pyo.ConcreteModel, network: Network) -> None:
    """Binaries ``node_on[n]`` (z) and ``link_on[l]`` (y); z fixed to 1 at demand end points."""
    model.LINKS = pyo.Set(initialize=range(network.n_links), ordered=True)
    model.node_on = pyo.Var(model.NODES, within=pyo.Binary)
    model.link_on = pyo.Var(model.LINKS, within=pyo.Binary)
    for n in np.unique(np.concatenate([network.demand_source, network.demand_target])).tolist():
        model.node_on[n].fix(1)


def define_link_switching(model: pyo.ConcreteModel, network: Network, queue_capacity: np.ndarray,
                          max_utilization: float) -> None:
    """Rows ``switched_capacity[q]``: F_q − α C_q y_l ≤ 0, and ``link_needs_tail/head[l]``."""
    scale = model.layout.flow_scale
    cap = max_utilization * np.asarray(queue_capacity, float) / scale
    arcs_of, link_of = model.queue_arc_flows, network.queue_link
    model.switched_capacity = pyo.Constraint(model.QUEUES, rule=lambda m, q: linear_expression(
        [1.0] * len(arcs_of[q]) + [-float(cap[q])], arcs_of[q] + [m.link_on[int(link_of[q])]]) <= 0)
    src, dst = network.link_source, network.link_target
    model.link_needs_tail = pyo.Constraint(
        model.LINKS, rule=lambda m, l: m.link_on[l] - m.node_on[int(src[l])] <= 0)
    model.link_needs_head = pyo.Constraint(
        model.LINKS, rule=lambda m, l: m.link_on[l] - m.node_on[int(dst[l])] <= 0)


def demand_end_points(network: Network) -> tuple[np.ndarray, int]:
    """(E as a boolean node mask, k): the nodes where a demand starts or ends and the number of
    connected components of the demand graph on them (a demand joins its two end points)."""
    ends = np.zeros(network.n_nodes, dtype=bool)
    ends[network.demand_source] = ends[network.demand_target] = True
    graph = coo_matrix((np.ones(network.n_demands), (network.demand_source, network.demand_target)),
                       shape=(network.n_nodes, network.n_nodes))
    labels = connected_components(graph, directed=False)[1]
    return ends, int(np.unique(labels[ends]).size)


def fewest_links(capacity: np.ndarray, required: float) -> int:
    """k_S: the fewest of the links with ``capacity`` whose capacities sum to ``required``
    (all of them when even they fall short: the flow rows then report the infeasibility)."""
    total = np.cumsum(np.sort(np.asarray(capacity, float))[::-1])
    return int(min(np.searchsorted(total, required * (1 - 1e-9)) + 1, total.size))


def define_switching_cuts(model: pyo.ConcreteModel, network: Network, queue_capacity: np.ndarray,
                          max_utilization: float) -> None:
    """Rows ``spanning_forest``, ``transit_degree[n]`` and ``cut_links`` of the module docstring."""
    usable = np.zeros(network.n_links, dtype=bool)
    usable[network.queue_link[np.asarray(queue_capacity) > 0]] = True
    links = np.flatnonzero(usable)
    ends, components = demand_end_points(network)
    y, z = model.link_on, model.node_on
    transit = np.flatnonzero(~ends).tolist()
    model.spanning_forest = pyo.Constraint(expr=linear_expression(
        [1.0] * links.size + [-1.0] * len(transit), [y[l] for l in links.tolist()] + [z[n] for n in transit])
        >= float(ends.sum() - components))
    incident = [np.flatnonzero(usable & ((network.link_source == n) | (network.link_target == n))).tolist()
                for n in range(network.n_nodes)]
    model.transit_degree = pyo.Constraint(transit, rule=lambda m, n: linear_expression(
        [1.0] * len(incident[n]) + [-2.0], [y[l] for l in incident[n]] + [z[n]]) >= 0)
    rows: dict[tuple[int, ...], int] = {}
    for inside in candidate_node_sets(network):
        for crossing, demand in cut_requirements(network, inside, links):
            if demand > 0 and crossing.size:
                key = tuple(crossing.tolist())
                need = fewest_links(max_utilization * network.link_capacity[crossing], demand)
                rows[key] = max(rows.get(key, 0), need)
    model.cut_links = pyo.ConstraintList()
    for key, need in rows.items():
        model.cut_links.add(linear_expression([1.0] * len(key), [y[l] for l in key]) >= need)


def define_power_objective(model: pyo.ConcreteModel, network: Network, power: NodePowerModel) -> None:
    """``objective``: Σ chassis·z + Σ ports·y + Σ ε_a F_a in W (F in flow units × flow_scale)."""
    port = power.idle_port_w[network.link_source] + power.idle_port_w[network.link_target]
    slope = arc_load_power_w(network, power) * model.layout.flow_scale
    terms = [(float(power.chassis_w[n]), model.node_on[n]) for n in model.NODES] \
        + [(float(port[l]), model.link_on[l]) for l in model.LINKS] \
        + [(float(slope[a]), model.arc_flow[a]) for a in model.ARCS]
    terms = [(c, v) for c, v in terms if c]
    model.objective = pyo.Objective(expr=linear_expression(*zip(*terms)) if terms else 0.0,
                                    sense=pyo.minimize)


def define_delay_bound(model: pyo.ConcreteModel, objective: DelayObjective, max_delay_s: float) -> None:
    """n_q ≥ 0, the cut list ``perspective_cuts`` and ``delay_bound``: Σ n_q + ρ Σ d_a F_a ≤ γ T_max.

    ``model.delay_objective`` keeps ``objective`` for :func:`add_perspective_cuts`.
    """
    linear = objective.arc_linear_cost * model.layout.flow_scale
    model.delay_objective = objective
    model.queue_packets = pyo.Var(model.QUEUES, within=pyo.NonNegativeReals)
    model.perspective_cuts = pyo.ConstraintList()
    used = [a for a in model.ARCS if linear[a]]
    model.delay_bound = pyo.Constraint(expr=linear_expression(
        [1.0] * len(model.QUEUES) + [float(linear[a]) for a in used],
        [model.queue_packets[q] for q in model.QUEUES] + [model.arc_flow[a] for a in used])
        <= max_delay_s / objective.scale)


def add_perspective_cuts(model: pyo.ConcreteModel, network: Network, queues: np.ndarray,
                         loads: np.ndarray) -> list:
    """Add n_q ≥ s F_q + b y_l at F̂ = ``loads`` (rate units, < C_q) for each of ``queues``.

    Returns the new constraint data, to pass to a persistent solver.
    """
    scale = model.layout.flow_scale
    queues = np.asarray(queues, dtype=np.int64)
    capacity = model.delay_objective.queue_capacity[queues] / scale
    slope, intercept = tangent_coefficients(np.asarray(loads, float) / scale, capacity)
    add, packets, arcs_of = model.perspective_cuts.add, model.queue_packets, model.queue_arc_flows
    link_on, link_of = model.link_on, network.queue_link
    return [add(linear_expression([1.0] + [-s] * len(arcs_of[q]) + [-b],
                                  [packets[q]] + arcs_of[q] + [link_on[int(link_of[q])]]) >= 0)
            for q, s, b in zip(queues.tolist(), slope.tolist(), intercept.tolist())]


def add_initial_perspective_cuts(model: pyo.ConcreteModel, network: Network,
                                 utilizations=INITIAL_TANGENT_UTILIZATIONS) -> list:
    """Perspective cuts at F̂ = u·C_q for the given utilisations on every queue."""
    queues = model.layout.queues
    capacity = model.delay_objective.queue_capacity[queues]
    u = np.asarray(utilizations, float)
    return add_perspective_cuts(model, network, np.tile(queues, len(u)), np.outer(u, capacity).ravel())


def sojourn_tangents(load: np.ndarray, capacity: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """(slope, intercept) of the tangent of h(F) = 1/(κ(C − F)) at F̂ = ``load`` < C.

    h' = 1/(κ(C − F̂)²), so the tangent reads h ≥ slope·F + intercept with
    intercept = h(F̂) − h'(F̂)·F̂ = (C − 2F̂)/(κ(C − F̂)²).
    """
    slack = capacity - load
    return 1.0 / (kappa * slack ** 2), (capacity - 2.0 * load) / (kappa * slack ** 2)


def sojourn_cut_cap(network: Network, queue_capacity: np.ndarray, max_demand_delay_s: float) -> np.ndarray:
    """F_cap = C − 1/(κ D_max) per queue (rate units): the highest tangent point (docstring)."""
    return queue_capacity - 1.0 / (network.packets_per_rate_unit * max_demand_delay_s)


def define_demand_delay_bound(model: pyo.ConcreteModel, network: Network, paths: Routing,
                              max_demand_delay_s: float) -> None:
    """ω_q ∈ [0, 2], the cut list ``sojourn_cuts`` and ``demand_delay_bound[p]`` (docstring).

    Paths whose zero-load delay already exceeds D_max must be left out by the caller.
    """
    model.max_demand_delay_s = max_demand_delay_s
    model.queue_sojourn = pyo.Var(model.QUEUES, bounds=(0.0, 2.0))
    model.sojourn_cuts = pyo.ConstraintList()
    fixed = paths.path_sums(network.arc_fixed_delay_s) / max_demand_delay_s
    sojourn, chosen, queue_of = model.queue_sojourn, list(model.path_chosen.values()), network.arc_queue

    def rule(m, p):
        arcs = paths.arcs[paths.indptr[p]:paths.indptr[p + 1]]
        big_m = 2.0 * len(arcs)
        return linear_expression([1.0] * len(arcs) + [big_m],
                                 [sojourn[int(queue_of[a])] for a in arcs] + [chosen[p]]) \
            <= 1.0 + big_m - float(fixed[p])

    model.demand_delay_bound = pyo.Constraint(model.PATHS, rule=rule)


def add_sojourn_cuts(model: pyo.ConcreteModel, network: Network, queues: np.ndarray,
                     loads: np.ndarray) -> list:
    """Add ω_q ≥ (slope·F_q + intercept)/D_max at F̂ = ``loads`` (rate units, ≤ F_cap).

    Returns the new constraint data, to pass to a persistent solver.
    """
    scale, d_max = model.layout.flow_scale, model.max_demand_delay_s
    queues = np.asarray(queues, dtype=np.int64)
    capacity = network.queue_capacity()[queues]
    slope, intercept = sojourn_tangents(np.asarray(loads, float), capacity, network.packets_per_rate_unit)
    slope, intercept = slope * scale / d_max, intercept / d_max
    add, sojourn, arcs_of = model.sojourn_cuts.add, model.queue_sojourn, model.queue_arc_flows
    return [add(linear_expression([1.0] + [-s] * len(arcs_of[q]), [sojourn[q]] + arcs_of[q]) >= b)
            for q, s, b in zip(queues.tolist(), slope.tolist(), intercept.tolist())]


def build_min_power_model(network: Network, power: NodePowerModel, *,
                          max_utilization: float = 1.0,
                          delay_objective: DelayObjective | None = None,
                          max_delay_s: float | None = None,
                          paths: Routing | None = None,
                          max_demand_delay_s: float | None = None) -> pyo.ConcreteModel:
    """The min-power switching MILP (module docstring), without delay cuts beyond the initial ones.

    Parameters
    ----------
    network : Network
    power : NodePowerModel
        Per-node power profiles (linear load shapes).
    max_utilization : float
        α in (0, 1]: F_q ≤ α C_q on links that are on.
    delay_objective : DelayObjective, optional
        The network delay T(F); needed with ``max_delay_s``.
    max_delay_s : float, optional
        T_max (s); None: no delay bound.
    paths : Routing, optional
        Candidate paths: flows from one chosen path per demand instead of splittable
        source flows (needed with ``max_demand_delay_s``).
    max_demand_delay_s : float, optional
        D_max (s): end-to-end bound of every demand's path.

    Returns
    -------
    pyomo.environ.ConcreteModel
        The multicommodity components plus ``node_on, link_on, switched_capacity,
        link_needs_tail, link_needs_head, spanning_forest, transit_degree, cut_links,
        objective`` and, with a delay bound,
        ``queue_packets, perspective_cuts, delay_bound``; with paths ``PATHS, DEMANDS,
        path_chosen, one_path`` instead of the source flows, and with D_max
        ``queue_sojourn, sojourn_cuts, demand_delay_bound``.

    Raises
    ------
    InvalidInputError
        α outside (0, 1], a non-linear load shape, T_max ≤ 0 or without a delay objective,
        D_max ≤ 0 or without paths.
    """
    if not 0 < max_utilization <= 1:
        raise InvalidInputError(f"max_utilization must be in (0, 1], got {max_utilization!r}")
    if max_demand_delay_s is not None and (paths is None or not max_demand_delay_s > 0):
        raise InvalidInputError(f"a per-demand delay bound needs D_max > 0 s and candidate paths, "
                                f"got D_max = {max_demand_delay_s!r} s")
    queue_capacity = network.queue_capacity()
    arc_mask = queue_capacity[network.arc_queue] > 0
    if paths is None:
        model = build_multicommodity_model(network, arc_mask=arc_mask, name="min_power")
    else:
        model = pyo.ConcreteModel(name="min_power_paths")
        define_index_sets(model, network, flow_layout(network, arc_mask))
        define_path_choice(model, network, paths)
        define_path_arc_flows(model, network, paths)
        define_queue_loads(model, network)
    define_switches(model, network)
    define_link_switching(model, network, queue_capacity, max_utilization)
    define_switching_cuts(model, network, queue_capacity, max_utilization)
    define_power_objective(model, network, power)
    if max_delay_s is not None:
        if delay_objective is None or not max_delay_s > 0:
            raise InvalidInputError(f"a delay bound needs T_max > 0 s and a delay objective, "
                                    f"got T_max = {max_delay_s!r} s")
        define_delay_bound(model, delay_objective, max_delay_s)
        add_initial_perspective_cuts(model, network)
    if max_demand_delay_s is not None:
        define_demand_delay_bound(model, network, paths, max_demand_delay_s)
        queues = model.layout.queues
        cap = sojourn_cut_cap(network, queue_capacity[queues], max_demand_delay_s)
        at = np.minimum(np.outer(INITIAL_TANGENT_UTILIZATIONS, queue_capacity[queues]), cap)
        add_sojourn_cuts(model, network, np.tile(queues, len(INITIAL_TANGENT_UTILIZATIONS)),
                         np.maximum(at, 0.0).ravel())
    return model
