"""Single-path (unsplittable) min-delay routing over candidate paths (Pyomo MILP builder).

With candidate paths P_k per demand k and a binary x_p per path:

    min  Σ_q n_q + ρ Σ_a d_a F_a                        (packets; T = value / γ)
    s.t. Σ_{p ∈ P_k} x_p = 1                            (each demand on exactly one path)
         F_a = Σ_p r_{k(p)} [a ∈ p] x_p                 (arc flows)
         F_q = Σ_{a ∈ q} F_a ≤ C_q                      (capacity)
         n_q ≥ g(F̂) + g'(F̂)(F_q − F̂)  for tangent points F̂,  g(F) = F/(C − F)
         x_p ∈ {0, 1}

Tangents underestimate the convex g, so the MILP optimum (and HiGHS's dual bound) divided by γ
is a lower bound on the least delay **over the candidate paths**; it is a bound over all
single-path routings only when every loop-free path of every demand is a candidate.  The delay
epigraph and the tangents are those of :mod:`topo_opt.formulations.delay_cuts`.
"""
from __future__ import annotations

import pyomo.environ as pyo

from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.delay_cuts import add_initial_tangent_cuts, define_delay_epigraph
from topo_opt.formulations.linear_objectives import define_capacity_limits
from topo_opt.formulations.multicommodity import (
    define_index_sets, define_queue_loads, flow_layout, linear_expression,
)
from topo_opt.model.design import Routing
from topo_opt.model.network import Network


def define_path_choice(model: pyo.ConcreteModel, network: Network, paths: Routing) -> None:
    """Binaries ``path_chosen[p]`` and rows ``one_path[k]``: Σ_{p ∈ P_k} x_p = 1 (``paths``
    grouped by demand)."""
    model.PATHS = pyo.Set(initialize=range(paths.n_paths), ordered=True)
    model.DEMANDS = pyo.Set(initialize=range(network.n_demands), ordered=True)
    model.path_chosen = pyo.Var(model.PATHS, within=pyo.Binary)
    ptr = paths.demand_ptr(network.n_demands)
    chosen = list(model.path_chosen.values())
    model.one_path = pyo.Constraint(model.DEMANDS, rule=lambda m, k: linear_expression(
        [1.0] * int(ptr[k + 1] - ptr[k]), chosen[ptr[k]:ptr[k + 1]]) == 1.0)


def define_path_arc_flows(model: pyo.ConcreteModel, network: Network, paths: Routing) -> None:
    """F_a ≥ 0 with F_a − Σ_p (r_{k(p)}/scale)[a ∈ p] x_p = 0 (flow units)."""
    model.arc_flow = pyo.Var(model.ARCS, within=pyo.NonNegativeReals)
    by_arc = paths.incidence(network.n_arcs).T.tocsr()  # arcs × paths
    rate = network.demand_rate[paths.demand] / model.layout.flow_scale
    chosen = list(model.path_chosen.values())

    def rule(m, a):
        users = by_arc.indices[by_arc.indptr[a]:by_arc.indptr[a + 1]].tolist()
        return linear_expression([1.0] + (-rate[users]).tolist(),
                                 [m.arc_flow[a]] + [chosen[p] for p in users]) == 0.0

    model.arc_flow_definition = pyo.Constraint(model.ARCS, rule=rule)


def build_single_path_model(network: Network, paths: Routing,
                            objective: DelayObjective) -> pyo.ConcreteModel:
    """The MILP of the module docstring with the initial tangents of every queue.

    Parameters
    ----------
    network : Network
    paths : Routing
        Candidate paths grouped by demand, every demand with at least one.
    objective : DelayObjective
        Capacities and fixed delays (its ``queue_capacity`` is the capacity row's right side).

    Returns
    -------
    pyomo.environ.ConcreteModel
        Components ``PATHS, DEMANDS, path_chosen, one_path, arc_flow, arc_flow_definition,
        queue_load, capacity_limit, queue_packets, tangent_cuts, objective``.
    """
    model = pyo.ConcreteModel(name="single_path_min_delay")
    define_index_sets(model, network, flow_layout(network, link_capacity=None))
    define_path_choice(model, network, paths)
    define_path_arc_flows(model, network, paths)
    define_queue_loads(model, network)
    define_capacity_limits(model, objective.queue_capacity)
    define_delay_epigraph(model, objective)
    add_initial_tangent_cuts(model)
    return model
