"""The M/M/1/B DDoS model: normal and attack traffic thinned by detectors and finite buffers.

models.md §12 (after the Cognitive Packet Network DDoS defence of Gelenbe et al.).  Every link
queue q is an M/M/1/B queue (μ_q = C_q/L̄ packet/s, mean service time s_q = 1/μ_q, buffer B
packets including the one in service); the node i that sends a packet onto a link inspects it
first and drops a normal packet by mistake with probability f_i (false alarm) and an attack
packet with probability d_i (detection).  A flow of class c (normal: δ = f, attack: δ = d)
entering its j-th hop (node i_j, queue q_j) at rate

    λ_j = λ Π_{l<j} (1 − δ_{i_l})(1 − L_{q_l}) · (1 − δ_{i_j})

loads q_j; the queue's blocking is the M/M/1/B (= M/M/1/K) loss probability

    L_q = ρ_q^B (1 − ρ_q)/(1 − ρ_q^{B+1}),   ρ_q = s_q (Σ_normal λ + Σ_attack λ)

(:func:`topo_opt.evaluators.queues.mm1k`).  Losses upstream lower the loads downstream, so the
blocking vector solves L = Φ(L).

**Convergence.**  Φ is antitone: more blocking upstream means less load and (M/M/1/B blocking
increases with ρ) less blocking downstream.  Starting from lo₀ = 0 and hi₀ = 1, the sequences
lo_{k+1} = Φ(hi_k) and hi_{k+1} = Φ(lo_k) are monotone (lo up, hi down) and every fixed point
lies between them (induction with Φ antitone).  When hi − lo closes the fixed point is unique
and known to within the bracket; ``bracket`` and ``residual`` = max |Φ(L) − L| are reported.
When the queue dependencies have no cycle the bracket closes exactly after at most (longest
path) steps.  A bracket that stays open (no unique fixed point) is reported as not converged,
with the midpoint's numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from topo_opt.evaluators.queues import QueueMetrics, mm1k
from topo_opt.model.design import Routing
from topo_opt.model.network import Network

MAX_ITERATIONS = 10_000
TOLERANCE = 1e-13


@dataclass(frozen=True)
class ClassTraffic:
    """One traffic class: demands' paths (``routing``), demand rates (rate unit), per-node drop
    probability (f for normal, d for attack traffic)."""

    routing: Routing
    demand_rate: np.ndarray
    drop: np.ndarray


@dataclass(frozen=True)
class DdosResult:
    """Fixed point of the DDoS model.

    Rates in packet/s unless named; per-class arrays in the order of ``classes``.

    Attributes
    ----------
    blocking : per queue L_q
    queue_load : per class, per queue, offered rate after detection (packet/s)
    queues : QueueMetrics of the M/M/1/B queues at the fixed point
    path_delivered : per class, per path, the fraction of the path's traffic that arrives
    path_delay_s : per class, per path, Σ sojourn + fixed delays (s)
    demand_delivered, demand_delay_s : per class, per demand (fraction-weighted)
    iterations, bracket, residual, converged : the fixed-point iteration (see module docstring)
    """

    blocking: np.ndarray
    queue_load: list[np.ndarray]
    queues: QueueMetrics
    path_delivered: list[np.ndarray]
    path_delay_s: list[np.ndarray]
    demand_delivered: list[np.ndarray]
    demand_delay_s: list[np.ndarray]
    iterations: int
    bracket: float
    residual: float
    converged: bool


def _propagate(network: Network, classes: list[ClassTraffic], blocking: np.ndarray,
               per_unit: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per class: offered load per queue (packet/s) and delivered fraction per path."""
    loads, delivered = [], []
    for c in classes:
        r = c.routing
        lengths = np.diff(r.indptr)
        surviving = r.fraction * c.demand_rate[r.demand] * per_unit
        load = np.zeros(network.n_queues)
        for j in range(int(lengths.max(initial=0))):
            active = np.flatnonzero(lengths > j)
            arcs = r.arcs[r.indptr[active] + j]
            offered = surviving[active] * (1.0 - c.drop[network.arc_tail[arcs]])
            queue = network.arc_queue[arcs]
            load += np.bincount(queue, weights=offered, minlength=network.n_queues)
            surviving[active] = offered * (1.0 - blocking[queue])
        with np.errstate(invalid="ignore", divide="ignore"):
            start = r.fraction * c.demand_rate[r.demand] * per_unit
            delivered.append(np.where(start > 0, surviving / np.where(start > 0, start, 1.0), 1.0))
        loads.append(load)
    return loads, delivered


def ddos_fixed_point(network: Network, link_capacity: np.ndarray, classes: list[ClassTraffic],
                     buffer_packets: int | np.ndarray, include_fixed_delay: bool = True,
                     max_iterations: int = MAX_ITERATIONS, tolerance: float = TOLERANCE) -> DdosResult:
    """Blocking, loads, losses and delays at the fixed point of the DDoS model.

    Parameters
    ----------
    network : Network
    link_capacity : ndarray
        Per-link capacities (rate unit); 0 for a link that is off.
    classes : list of ClassTraffic
        E.g. ``[normal, attack]``.
    buffer_packets : int or ndarray of int
        B of every queue, or one per queue (packets, the one in service included).
    include_fixed_delay : bool
        Add processing and propagation to the path delays.

    Returns
    -------
    DdosResult
    """
    per_unit = network.packets_per_rate_unit
    mu = network.queue_capacity(np.asarray(link_capacity, float)) * per_unit

    def phi(blocking: np.ndarray) -> np.ndarray:
        loads, _ = _propagate(network, classes, blocking, per_unit)
        return mm1k(sum(loads), mu, buffer_packets).blocking

    lo, hi = np.zeros(network.n_queues), np.ones(network.n_queues)
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        lo, hi = phi(hi), phi(lo)
        if float(np.max(hi - lo, initial=0.0)) <= tolerance:
            break
    bracket = float(np.max(hi - lo, initial=0.0))
    blocking = 0.5 * (lo + hi)
    residual = float(np.max(np.abs(phi(blocking) - blocking), initial=0.0))
    loads, delivered = _propagate(network, classes, blocking, per_unit)
    queues = mm1k(sum(loads), mu, buffer_packets)
    fixed = network.arc_fixed_delay_s if include_fixed_delay else np.zeros(network.n_arcs)
    sojourn = np.nan_to_num(queues.sojourn_s, nan=math.inf)[network.arc_queue] + fixed
    delays, demand_delivered, demand_delay = [], [], []
    for c, fraction_through in zip(classes, delivered):
        r = c.routing
        path_delay = r.path_sums(sojourn)
        demand_delivered.append(r.demand_average(fraction_through, len(c.demand_rate)))
        demand_delay.append(r.demand_average(path_delay, len(c.demand_rate)))
        delays.append(path_delay)
    return DdosResult(blocking, loads, queues, delivered, delays, demand_delivered, demand_delay,
                      iterations, bracket, residual, bracket <= tolerance)


def detection_gains(network: Network, link_capacity: np.ndarray, normal: ClassTraffic,
                    attack: ClassTraffic, buffer_packets: int, step: float,
                    base: DdosResult | None = None) -> np.ndarray:
    """Legitimate traffic saved (rate unit) by raising d_i by ``step`` (capped at 1) at each node i.

    Nodes that forward no attack traffic gain exactly 0 and are not re-solved.  The gain is
    Σ_k r_k (delivered_k(d + step·e_i) − delivered_k(d)), a finite-difference marginal value
    of detection at node i.
    """
    if base is None:
        base = ddos_fixed_point(network, link_capacity, [normal, attack], buffer_packets)
    legit = float(normal.demand_rate @ np.nan_to_num(base.demand_delivered[0]))
    attacked = np.zeros(network.n_nodes, bool)
    r = attack.routing
    carried = np.repeat(r.fraction * attack.demand_rate[r.demand], np.diff(r.indptr)) > 0
    attacked[network.arc_tail[r.arcs[carried]]] = True
    gains = np.zeros(network.n_nodes)
    for i in np.flatnonzero(attacked & (attack.drop < 1.0)).tolist():
        drop = attack.drop.copy()
        drop[i] = min(1.0, drop[i] + step)
        raised = ClassTraffic(attack.routing, attack.demand_rate, drop)
        result = ddos_fixed_point(network, link_capacity, [normal, raised], buffer_packets)
        gains[i] = float(normal.demand_rate @ np.nan_to_num(result.demand_delivered[0])) - legit
    return gains
