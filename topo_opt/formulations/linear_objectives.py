"""Linear routing objectives on the multicommodity flow model (Pyomo builders, never solve).

* Min-hop with capacities:  min Σ_a F_a  s.t.  F_q ≤ C_q.  Σ_a F_a = Σ_k r_k·(mean hops of k),
  so the optimum routes every demand on as few hops as the capacities allow.
* Fortz–Thorup cost (Fortz and Thorup, *Internet traffic engineering by optimizing OSPF
  weights*, INFOCOM 2000): per queue the convex piecewise-linear Φ_q(F_q) with Φ(0) = 0 and
  slopes 1, 3, 10, 70, 500, 5000 between utilisations 0, 1/3, 2/3, 9/10, 1, 11/10, written as the
  max of its affine pieces  φ_q ≥ s_i F_q − b_i C_q  with b_0 = 0 and
  b_i = b_{i−1} + (s_i − s_{i−1}) u_i
  (b = 0, 2/3, 16/3, 178/3, 1468/3, 16318/3).  No capacity rows: the cost penalises overload.
"""
from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

FORTZ_THORUP_SLOPES = np.array([1.0, 3.0, 10.0, 70.0, 500.0, 5000.0])
FORTZ_THORUP_BREAKPOINTS = np.array([1 / 3, 2 / 3, 9 / 10, 1.0, 11 / 10])  # utilisation


def fortz_thorup_intercepts() -> np.ndarray:
    """b_i of the affine pieces s_i·F − b_i·C (continuity at the breakpoints, b_0 = 0)."""
    steps = np.diff(FORTZ_THORUP_SLOPES) * FORTZ_THORUP_BREAKPOINTS
    return np.concatenate([[0.0], np.cumsum(steps)])


def fortz_thorup_cost(load: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Φ(F, C) = max_i (s_i F − b_i C) per queue (rate units), the piecewise-linear cost."""
    load, capacity = np.asarray(load, float), np.asarray(capacity, float)
    pieces = np.multiply.outer(load, FORTZ_THORUP_SLOPES) \
        - np.multiply.outer(capacity, fortz_thorup_intercepts())
    return pieces.max(axis=-1)


def define_capacity_limits(model: pyo.ConcreteModel, queue_capacity: np.ndarray) -> None:
    """Rows ``capacity_limit[q]``: F_q ≤ C_q (``queue_capacity`` indexed by network queue)."""
    capacity = np.asarray(queue_capacity, float) / model.layout.flow_scale
    model.capacity_limit = pyo.Constraint(
        model.QUEUES, rule=lambda m, q: m.queue_load[q] <= float(capacity[q]))


def define_total_arc_flow_objective(model: pyo.ConcreteModel) -> None:
    """min Σ_a F_a (flow units): rate-weighted hop count."""
    model.objective = pyo.Objective(expr=pyo.quicksum(model.arc_flow[a] for a in model.ARCS),
                                    sense=pyo.minimize)


def define_total_arc_flow_limit(model: pyo.ConcreteModel, limit: float) -> None:
    """Row ``total_arc_flow_limit``: Σ_a F_a ≤ ``limit`` (rate units), e.g. the min-hop optimum
    when a second objective picks among the min-hop routings."""
    model.total_arc_flow_limit = pyo.Constraint(
        expr=pyo.quicksum(model.arc_flow[a] for a in model.ARCS) <= float(limit) / model.layout.flow_scale)


def define_fortz_thorup_objective(model: pyo.ConcreteModel, queue_capacity: np.ndarray) -> None:
    """φ_q ≥ 0, rows ``fortz_thorup_piece[q, i]``: φ_q ≥ s_i F_q − b_i C_q; min Σ_q φ_q."""
    capacity = np.asarray(queue_capacity, float) / model.layout.flow_scale
    slopes, intercepts = FORTZ_THORUP_SLOPES.tolist(), fortz_thorup_intercepts().tolist()
    model.PIECES = pyo.Set(initialize=range(len(slopes)), ordered=True)
    model.link_cost = pyo.Var(model.QUEUES, within=pyo.NonNegativeReals)
    model.fortz_thorup_piece = pyo.Constraint(
        model.QUEUES, model.PIECES,
        rule=lambda m, q, i: m.link_cost[q] - slopes[i] * m.queue_load[q]
        >= -intercepts[i] * float(capacity[q]))
    model.objective = pyo.Objective(expr=pyo.quicksum(model.link_cost[q] for q in model.QUEUES),
                                    sense=pyo.minimize)
