"""Outer approximation of Kleinrock's delay by tangent cuts (Pyomo builder, never solves).

Epigraph form of T(F) = (1/γ)[Σ_q g_q(F_q) + ρ Σ_a d_a F_a] with g(F) = F/(C − F), the mean
number of packets of an M/M/1 queue (:class:`~topo_opt.evaluators.delay.DelayObjective`):

    min  Σ_q n_q + ρ Σ_a d_a F_a                         (packets; T = LP value / γ)
    s.t. n_q ≥ g(F̂) + g'(F̂)(F_q − F̂) = C F_q/(C − F̂)² − F̂²/(C − F̂)²    (each tangent F̂)
         n_q ≥ 0, multicommodity flow constraints,

with g'(F) = C/(C − F)².  g is convex on [0, C), so every tangent lies below it and the LP's
feasible set contains the epigraph of the true problem: **the LP optimum divided by γ is a valid
lower bound on the minimum delay**, whatever set of tangents is present.  F_q ≤ (1 − ε)C_q is
deliberately not imposed (it could cut off the optimum).  The LP is bounded (n_q ≥ 0), but with
few tangents it would happily overload queues; the initial tangents up to utilisation 0.999
make overload expensive from the first solve, and further cuts at the flows the LP returns
tighten it (Kelley's cutting-plane method, Kelley 1960).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pyomo.environ as pyo

from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.multicommodity import linear_expression

#: Utilisations of the tangents every queue gets before the first solve.
INITIAL_TANGENT_UTILIZATIONS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999)


def tangent_coefficients(load: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope g'(F̂) = C/(C − F̂)² and intercept g(F̂) − g'(F̂)F̂ = −F̂²/(C − F̂)² of the tangents.

    ``load`` and ``capacity`` in the same unit, with ``load < capacity``; the intercept is
    dimensionless (packets), the slope per unit of load.
    """
    load, capacity = np.asarray(load, float), np.asarray(capacity, float)
    slack = capacity - load
    return capacity / slack ** 2, -(load / slack) ** 2


def define_delay_epigraph(model: pyo.ConcreteModel, objective: DelayObjective) -> None:
    """Variables ``queue_packets[q]`` (n_q ≥ 0), the cut list ``tangent_cuts`` and the objective.

    The objective is in packets, Σ_q n_q + ρ Σ_a d_a F_a; multiply by ``objective.scale`` (1/γ)
    for seconds.  ``model.delay_objective`` keeps ``objective`` for :func:`add_tangent_cuts`.
    """
    scale = model.layout.flow_scale
    linear = objective.arc_linear_cost * scale
    model.delay_objective = objective
    model.queue_packets = pyo.Var(model.QUEUES, within=pyo.NonNegativeReals)
    model.tangent_cuts = pyo.ConstraintList()
    model.objective = pyo.Objective(
        expr=pyo.quicksum(model.queue_packets[q] for q in model.QUEUES)
        + pyo.quicksum(float(linear[a]) * model.arc_flow[a] for a in model.ARCS if linear[a]),
        sense=pyo.minimize)


def add_tangent_rows(cuts: pyo.ConstraintList, packets, load_terms: Mapping[int, Sequence[tuple[float, Any]]],
                     queue_capacity: np.ndarray, flow_scale: float, queues: np.ndarray,
                     loads: np.ndarray) -> list:
    """Add n_q ≥ g(F̂) + g'(F̂)(F_q − F̂) to ``cuts`` for each of ``queues`` at F̂ = ``loads``.

    The one tangent-row writer of every delay outer approximation.  ``packets[q]`` is n_q;
    ``load_terms[q]`` the (coefficient, variable) terms of F_q / ``flow_scale`` (arc flows with
    coefficient 1, or rate × binary path/arc choices); ``queue_capacity`` and ``loads`` in rate
    units, loads < capacity.  A queue without terms (no flow can reach it) gets no row.  Returns
    the new constraint data, to pass to a persistent solver.
    """
    queues = np.asarray(queues)
    slope, intercept = tangent_coefficients(np.asarray(loads, float) / flow_scale,
                                            queue_capacity[queues] / flow_scale)
    rows = []
    for q, s, b in zip(queues.tolist(), slope.tolist(), intercept.tolist()):
        terms = load_terms.get(q)
        if terms:
            rows.append(cuts.add(linear_expression([1.0] + [-s * c for c, _ in terms],
                                                   [packets[q]] + [v for _, v in terms]) >= b))
    return rows


def add_tangent_cuts(model: pyo.ConcreteModel, queues: np.ndarray, loads: np.ndarray) -> list:
    """Add n_q ≥ tangent of g at F̂ = ``loads`` (rate units, < C_q) for each of ``queues`` of a
    multicommodity model (:func:`add_tangent_rows` over its arc flows)."""
    arcs_of = model.queue_arc_flows
    terms = {q: [(1.0, v) for v in arcs_of[q]] for q in np.asarray(queues).tolist()}
    return add_tangent_rows(model.tangent_cuts, model.queue_packets, terms,
                            model.delay_objective.queue_capacity, model.layout.flow_scale, queues, loads)


def add_initial_tangent_cuts(model: pyo.ConcreteModel,
                             utilizations=INITIAL_TANGENT_UTILIZATIONS) -> list:
    """Tangents at the given utilisations F̂ = u·C_q on every queue of the model."""
    queues = model.layout.queues
    capacity = model.delay_objective.queue_capacity[queues]
    u = np.asarray(utilizations, float)
    return add_tangent_cuts(model, np.tile(queues, len(u)), np.outer(u, capacity).ravel())
