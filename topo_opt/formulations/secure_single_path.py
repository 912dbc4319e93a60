"""Security-constrained single-path min-delay routing (Pyomo MILP builder, models.md §5).

One path per demand k as binary arc variables u[k, a] over the arcs k may use:

    min  Σ_q n_q + ρ Σ_a d_a F_a                            (packets; T = value / γ)
    s.t. Σ_a u[k, a] out of v − Σ_a u[k, a] into v = [v = s_k] − [v = t_k]   (conservation)
         Σ_a r(k, a) u[k, a] + r(k, t_k) ≤ R                 (rejection: each arc charged with
                                                              its tail node and its link)
         F_a = Σ_k r_k u[k, a],  n_q ≥ g(F̂) + g'(F̂)(F_q − F̂)  (tangent cuts, g(F) = F/(C − F))

Tangents underestimate g, so the optimum is a lower bound; the rows are written by
:func:`topo_opt.formulations.delay_cuts.add_tangent_rows`.
"""
from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from topo_opt.errors import InfeasibleError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.delay_cuts import add_tangent_rows
from topo_opt.formulations.multicommodity import linear_expression
from topo_opt.model.network import Network


def build_secure_single_path_model(network: Network, objective: DelayObjective, allowed: np.ndarray,
                       arc_r: np.ndarray, target_r: np.ndarray, bound: float) -> pyo.ConcreteModel:
    """The MILP of the module docstring (flows in units of the largest capacity).

    ``allowed`` (n_demands, n_arcs) the arcs each demand may use; ``arc_r`` and ``target_r`` the
    rejection charged per arc and per target (:func:`~topo_opt.evaluators.security.arc_rejection`);
    ``bound`` R.  Tangent cuts go to ``m.cuts`` (:func:`add_secure_tangent_cuts`).

    Raises
    ------
    InfeasibleError
        A demand with no allowed arc at its source or target.
    """
    scale = float(objective.queue_capacity.max())
    rate = network.demand_rate / scale
    m = pyo.ConcreteModel(name="secure_single_path")
    pairs = [(k, a) for k, a in zip(*np.nonzero(allowed))]
    m.PAIRS = pyo.Set(initialize=[(int(k), int(a)) for k, a in pairs], dimen=2, ordered=True)
    m.use = pyo.Var(m.PAIRS, within=pyo.Binary)
    m.QUEUES = pyo.Set(initialize=range(network.n_queues), ordered=True)
    m.queue_packets = pyo.Var(m.QUEUES, within=pyo.NonNegativeReals)
    out_of = {}
    for k, a in m.PAIRS:
        out_of.setdefault((k, int(network.arc_tail[a])), []).append((1.0, m.use[k, a]))
        out_of.setdefault((k, int(network.arc_head[a])), []).append((-1.0, m.use[k, a]))
    supply = {(k, int(network.demand_source[k])): 1.0 for k in range(network.n_demands)}
    supply.update({(k, int(network.demand_target[k])): -1.0 for k in range(network.n_demands)})
    m.conservation = pyo.Constraint(list(out_of), rule=lambda m, k, n: linear_expression(
        *zip(*out_of[(k, n)])) == supply.get((k, n), 0.0))
    missing = [key for key in supply if key not in out_of]
    if missing:
        raise InfeasibleError(f"demand {network.demands[missing[0][0]].id!r} has no allowed arc at "
                              f"node {network.nodes[missing[0][1]].id!r}")
    by_demand: dict[int, list] = {}
    for k, a in m.PAIRS:
        by_demand.setdefault(k, []).append((float(arc_r[k, a]), m.use[k, a]))
    m.rejection_bound = pyo.Constraint(
        [k for k in by_demand if any(c for c, _ in by_demand[k])],
        rule=lambda m, k: linear_expression(*zip(*[(c, v) for c, v in by_demand[k] if c]))
        <= bound - float(target_r[k]))
    by_queue: dict[int, list] = {}
    for k, a in m.PAIRS:
        by_queue.setdefault(int(network.arc_queue[a]), []).append((float(rate[k]), m.use[k, a]))
    m.queue_terms = by_queue
    m.flow_scale = scale
    linear = objective.arc_linear_cost * scale
    m.cuts = pyo.ConstraintList()
    m.objective = pyo.Objective(expr=linear_expression(
        [1.0] * network.n_queues + [float(rate[k] * linear[a]) for k, a in m.PAIRS],
        [m.queue_packets[q] for q in m.QUEUES] + [m.use[k, a] for k, a in m.PAIRS]))
    return m


def add_secure_tangent_cuts(m: pyo.ConcreteModel, objective: DelayObjective, queues: np.ndarray,
                            loads: np.ndarray) -> list:
    """Tangents n_q ≥ g(F̂) + g'(F̂)(F_q − F̂) at ``loads`` (rate units) of ``queues``; the new rows."""
    return add_tangent_rows(m.cuts, m.queue_packets, m.queue_terms, objective.queue_capacity, m.flow_scale,
                            queues, loads)
