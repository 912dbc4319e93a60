"""Min max-utilisation LP (Pyomo builder, never solves).

    min U   s.t.   F_q ≤ U · C_q   for every queue q,   multicommodity flow constraints

U* < 1 means a routing exists with every queue strictly below capacity (M/M/1 delay finite);
U* ≥ 1 proves the instance infeasible for finite delay.  The duals π_q ≥ 0 of the utilisation
rows satisfy Σ_q π_q C_q = 1 and weight the bottleneck queues (LP duality: U* = Σ_k r_k ·
dist_π(s_k, t_k) / Σ_q π_q C_q).
"""
from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from topo_opt.formulations.multicommodity import build_multicommodity_model
from topo_opt.model.network import Network


def define_max_utilization(model: pyo.ConcreteModel, queue_capacity: np.ndarray) -> None:
    """U ≥ 0, rows ``utilization_limit[q]``: F_q − U·C_q ≤ 0, objective min U.

    ``queue_capacity`` is indexed by network queue (rate units).
    """
    capacity = np.asarray(queue_capacity, float) / model.layout.flow_scale
    model.max_utilization = pyo.Var(within=pyo.NonNegativeReals)
    model.utilization_limit = pyo.Constraint(
        model.QUEUES,
        rule=lambda m, q: m.queue_load[q] - float(capacity[q]) * m.max_utilization <= 0)
    model.objective = pyo.Objective(expr=model.max_utilization, sense=pyo.minimize)


def build_max_utilization_model(network: Network, link_capacity: np.ndarray | None = None
                                ) -> pyo.ConcreteModel:
    """The min max-utilisation LP on the arcs of positive capacity."""
    queue_capacity = network.queue_capacity(link_capacity)
    model = build_multicommodity_model(network, arc_mask=queue_capacity[network.arc_queue] > 0,
                                       link_capacity=link_capacity, name="max_utilization")
    define_max_utilization(model, queue_capacity)
    return model
