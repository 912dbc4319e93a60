"""Modular capacity and topology design with a delay bound (Pyomo builder, never solves).

Every link chooses one capacity level i (:class:`~topo_opt.model.costs.CapacityLevels`: the
installed capacity plus module sums, or nothing for a link that is not built), y_i ∈ {0, 1}.
Queue q of link l splits its load over the levels of l (a disaggregated, multiple-choice
formulation: the convex hull of each link's choices, Jeroslow and Lowe 1984):

    Σ_{i ∈ l} y_i = 1,     F_q = Σ_{i ∈ l} F_qi,     0 ≤ F_qi ≤ u c_i y_i

and its packets n_qi get the **perspective tangent cuts** of g_i(F) = F/(c_i − F)

    n_qi ≥ s F_qi + b y_i,    s = c_i/(c_i − F̂)²,  b = −F̂²/(c_i − F̂)² ≤ 0,

valid for y_i = 1 (the tangent) and for y_i = 0 (F_qi = 0, n_qi ≥ 0), so the MILP relaxes the
true problem whatever cuts are present.  With N = Σ n_qi + ρ Σ_a d_a F_a (packets, T = N/γ):

* ``min-cost``:  min Σ_i cost_i y_i   s.t. N ≤ γ T_max;
* ``min-delay``: min N                s.t. Σ_i cost_i y_i ≤ budget.

A **survivable** design repeats the flows, splits, packets and delay bound in one block per
single link failure (the failed link carries nothing there), all sharing the level choice y.

The cutting loop that refines the cuts lives in :mod:`topo_opt.solve.modular_capacity`.
"""
from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.delay_cuts import INITIAL_TANGENT_UTILIZATIONS, tangent_coefficients
from topo_opt.formulations.multicommodity import (
    define_arc_flows, define_flow_conservation, define_index_sets, define_queue_loads,
    define_source_flows, flow_layout, linear_expression,
)
from topo_opt.model.costs import CapacityLevels
from topo_opt.model.network import Network


def queue_level_pairs(network: Network, levels: CapacityLevels,
                      failed_link: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(queue, level) pairs: every queue with every level of positive capacity of its link
    (none for ``failed_link``)."""
    queue, level = [], []
    queues_of_link = [[] for _ in range(network.n_links)]
    for q, link in enumerate(network.queue_link.tolist()):
        queues_of_link[link].append(q)
    for i, link in enumerate(levels.link.tolist()):
        if levels.capacity[i] > 0 and link != failed_link:
            for q in queues_of_link[link]:
                queue.append(q)
                level.append(i)
    return np.asarray(queue, dtype=np.int64), np.asarray(level, dtype=np.int64)


def define_levels(model: pyo.ConcreteModel, levels: CapacityLevels) -> None:
    """``level_on[i]`` binaries, one level per link (``one_level``), ``design_cost``, cover cuts."""
    model.levels = levels
    model.LEVELS = pyo.Set(initialize=range(len(levels.link)), ordered=True)
    model.level_on = pyo.Var(model.LEVELS, within=pyo.Binary)
    levels_of: dict[int, list] = {}
    for i, l in enumerate(levels.link.tolist()):
        levels_of.setdefault(l, []).append(model.level_on[i])
    model.one_level = pyo.Constraint(
        list(levels_of), rule=lambda m, l: linear_expression([1.0] * len(levels_of[l]), levels_of[l]) == 1)
    model.design_cost = pyo.Expression(expr=linear_expression(
        levels.cost.tolist(), list(model.level_on.values())))
    model.cover_cuts = pyo.ConstraintList()


def define_scenario_flows(block: pyo.Block, network: Network, levels: CapacityLevels,
                          level_on: pyo.Var, *, failed_link: int | None, max_utilization: float,
                          include_fixed_delay: bool) -> None:
    """One traffic scenario on ``block``: multicommodity flows avoiding ``failed_link``, each
    queue's load split over its link's levels, ``pair_packets`` with their ``level_cuts`` and the
    ``packets`` expression N = Σ n_qi + ρ Σ d_a F_a."""
    arc_mask = np.isin(network.arc_link, np.unique(levels.link)) & (network.arc_link != failed_link)
    top = np.zeros(network.n_links)
    np.maximum.at(top, levels.link, levels.capacity)
    define_index_sets(block, network, flow_layout(network, arc_mask, top))
    define_source_flows(block)
    define_flow_conservation(block, network)
    define_arc_flows(block)
    define_queue_loads(block, network)
    scale = block.layout.flow_scale
    block.levels = levels
    queue, level = queue_level_pairs(network, levels, failed_link)
    block.pairs = (queue, level)
    block.PAIRS = pyo.Set(initialize=range(len(queue)), ordered=True)
    block.pair_flow = pyo.Var(block.PAIRS, within=pyo.NonNegativeReals)
    block.pair_packets = pyo.Var(block.PAIRS, within=pyo.NonNegativeReals)

    pairs_of = {int(q): [] for q in np.unique(network.arc_queue[block.layout.arcs])}
    for p, q in enumerate(queue.tolist()):
        pairs_of[q].append(block.pair_flow[p])

    def split(m, q):
        arcs = m.queue_arc_flows[q]
        return linear_expression([1.0] * len(arcs) + [-1.0] * len(pairs_of[q]), arcs + pairs_of[q]) == 0
    block.queue_split = pyo.Constraint(list(pairs_of), rule=split)

    bound = max_utilization * levels.capacity[level] / scale
    block.pair_capacity = pyo.Constraint(
        block.PAIRS, rule=lambda m, p: linear_expression(
            [1.0, -float(bound[p])], [m.pair_flow[p], level_on[int(level[p])]]) <= 0)
    block.level_cuts = pyo.ConstraintList()
    linear = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay).arc_linear_cost * scale
    arcs = [a for a in block.ARCS if linear[a]]
    block.packets = pyo.Expression(expr=linear_expression(
        [1.0] * len(queue) + [float(linear[a]) for a in arcs],
        list(block.pair_packets.values()) + [block.arc_flow[a] for a in arcs]))
    u = np.asarray(INITIAL_TANGENT_UTILIZATIONS)
    u = u[u < max_utilization] if max_utilization < 1 else u
    pairs = np.tile(np.arange(len(queue)), len(u))
    add_level_cuts(block, pairs, np.repeat(u, len(queue)) * levels.capacity[level[pairs]])


def build_modular_capacity_model(network: Network, levels: CapacityLevels, *, sense: str,
                                 max_packets: float | None = None, budget: float | None = None,
                                 max_utilization: float = 1.0, include_fixed_delay: bool = True,
                                 failures: tuple[int, ...] = ()) -> pyo.ConcreteModel:
    """The MILP of the module docstring with the initial tangents on every (queue, level) pair.

    ``model.scenario[0]`` carries the traffic of the intact network; with ``failures`` (link
    indices, ``min-cost`` only) ``model.scenario[j]`` carries it again without link
    ``failures[j-1]`` under the same delay bound: a survivable design.  Shared: ``level_on``,
    ``design_cost``, ``cover_cuts`` and the objective.
    """
    if failures and sense != "min-cost":
        raise InvalidInputError("survivable designs need the min-cost form (a delay bound per failure)")
    model = pyo.ConcreteModel(name="modular_capacity")
    define_levels(model, levels)
    model.failed_links = (None,) + tuple(failures)
    model.scenario = pyo.Block(range(len(model.failed_links)))
    for j, failed in enumerate(model.failed_links):
        define_scenario_flows(model.scenario[j], network, levels, model.level_on, failed_link=failed,
                              max_utilization=max_utilization, include_fixed_delay=include_fixed_delay)
    if sense == "min-cost":
        model.delay_bound = pyo.Constraint(
            range(len(model.failed_links)), rule=lambda m, j: m.scenario[j].packets <= max_packets)
        model.objective = pyo.Objective(expr=model.design_cost, sense=pyo.minimize)
    else:
        model.budget = pyo.Constraint(expr=model.design_cost <= budget)
        model.objective = pyo.Objective(expr=model.scenario[0].packets, sense=pyo.minimize)
    return model


def add_level_cuts(block: pyo.Block, pairs: np.ndarray, loads: np.ndarray) -> list:
    """n_qi ≥ s F_qi + b y_i at F̂ = ``loads`` (rate unit, < c_i) for pair indices of ``block``."""
    scale = block.layout.flow_scale
    level = block.pairs[1][pairs]
    slope, intercept = tangent_coefficients(np.asarray(loads, float) / scale,
                                            block.levels.capacity[level] / scale)
    add, level_on = block.level_cuts.add, block.model().level_on
    return [add(linear_expression([1.0, -s, -b], [block.pair_packets[p], block.pair_flow[p],
                                                  level_on[i]]) >= 0)
            for p, i, s, b in zip(np.asarray(pairs).tolist(), level.tolist(), slope.tolist(),
                                  intercept.tolist())]


def add_capacity_cover_cut(model: pyo.ConcreteModel, link_capacity: np.ndarray) -> list:
    """Σ_{i: c_i > C_l(i)} y_i ≥ 1: some link must get more capacity than in ``link_capacity``.

    Valid when the capacities ``link_capacity`` are proven unable to meet the delay bound (in
    some scenario): the minimum delay only decreases when capacities grow, so every design with
    capacities ≤ these fails too.
    """
    levels = model.levels
    larger = np.flatnonzero(levels.capacity > link_capacity[levels.link] * (1 + 1e-12))
    if larger.size == 0:
        return []
    return [model.cover_cuts.add(
        linear_expression([1.0] * len(larger), [model.level_on[i] for i in larger.tolist()]) >= 1)]
