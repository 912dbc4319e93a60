"""Evaluation of a design: per queue, arc, path, demand and network (models.md §1).

Each transmission queue q (see :attr:`Network.arc_queue`: the two arcs of an undirected link
share one) is evaluated with a single-queue model from :mod:`topo_opt.evaluators.queues` on
λ_q = κ F_q and μ_q = κ C_q, κ the packets per rate unit (1/L̄ for bit/s).  Then

* arc a (queue q):  delay d_a = T_q + τ_a, with τ_a the fixed delay (processing at the tail
  node + propagation, :attr:`Network.arc_fixed_delay_s`); packets N_q F_a/F_q (Little);
* path P:   delay Σ_{a∈P} d_a,  loss 1 − Π_{a∈P} (1 − P_B,q(a));
* demand k: flow-weighted mean delay and loss over its paths, worst delay of a used path;
* network (Kleinrock 1964, independence assumption, Little's law):

      N = Σ_q N_q,     T = (N + Σ_a λ_a τ_a) / γ,    γ = κ Σ_k r_k  (packet/s)

  For M/M/1 queues T equals :meth:`DelayObjective.value` and the rate-weighted mean of the
  demand delays.  With finite buffers (M/M/1/K) λ_a is the offered rate, so T is the mean
  delay per offered packet under the loss-free approximation of the arc rates.

A link that is off (``Design.link_on``) has capacity 0.  A queue with an infinite buffer and
ρ ≥ 1 (or traffic on a queue with no capacity) is saturated: the design is reported with
``saturated = True`` and NaN network delay, never an infinite or negative number.
"""
from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.power import PowerBreakdown, Profiles, network_power
from topo_opt.evaluators.queues import QueueMetrics, md1, mg1, mm1, mm1k
from topo_opt.evaluators.security import Rejection, path_rejection
from topo_opt.model.design import Design, distinct_indices
from topo_opt.model.network import Network

QUEUE_MODELS = ("mm1", "md1", "mg1", "mm1k")


@dataclass(frozen=True)
class DesignMetrics:
    """Everything :func:`evaluate_design` computes, as arrays (``to_dict()`` for JSON).

    Rates are in the network's rate unit, delays in seconds, power in watts.  Arc arrays follow
    the network's arc order, path arrays the routing's path order, demand arrays the network's
    demand order.  NaN means undefined (a saturated queue, a link without capacity, a demand
    without a used path).
    """

    network: Network
    design: Design
    queue_model: str
    queues: QueueMetrics
    arc_flow: np.ndarray
    arc_capacity: np.ndarray
    arc_packets: np.ndarray
    arc_queue_delay_s: np.ndarray
    arc_fixed_delay_s: np.ndarray
    path_delay_s: np.ndarray
    path_loss: np.ndarray
    demand_delay_s: np.ndarray
    demand_worst_delay_s: np.ndarray
    demand_loss: np.ndarray
    average_packets_in_network: float
    average_delay_s: float
    max_utilization: float
    mean_utilization: float
    power: PowerBreakdown | None = None
    rejection: Rejection | None = None

    @property
    def arc_utilization(self) -> np.ndarray:
        """ρ of each arc's queue."""
        return self.queues.utilization[self.network.arc_queue]

    @property
    def arc_blocking(self) -> np.ndarray:
        """Blocking probability of each arc's queue."""
        return self.queues.blocking[self.network.arc_queue]

    @property
    def arc_delay_s(self) -> np.ndarray:
        """d_a = queue sojourn + fixed delay (s)."""
        return self.arc_queue_delay_s + self.arc_fixed_delay_s

    @property
    def saturated(self) -> bool:
        return bool(self.queues.saturated.any())

    @property
    def n_saturated(self) -> int:
        """Number of saturated queues."""
        return int(self.queues.saturated.sum())

    @property
    def saturated_links(self) -> tuple[str, ...]:
        """Ids of the links with a saturated queue, in link order."""
        return tuple(self.network.links[i].id for i in distinct_indices(self.network.queue_link[self.queues.saturated]))

    @property
    def total_power_w(self) -> float | None:
        return None if self.power is None else self.power.total_w

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: ``metrics``, ``arcs``, ``demands`` (and ``nodes`` with power).

        Ids, not indices; NaN becomes None (each array turned into a list once, so writers need
        not walk the millions of values again); keys carry their unit (``_s``, ``_w``).  Each
        demand lists its ``paths`` with ``nodes``, ``links``, ``fraction``, ``delay_s`` and
        ``loss`` (and ``rejection_sum``/``rejection_max`` with a security model).
        """
        with _cyclic_gc_paused():
            return {"metrics": self._network_dict(), "arcs": self._arc_dicts(),
                    "demands": self._demand_dicts(), **self._node_dict()}

    # -------------------------------------------------------------- to_dict parts
    def _network_dict(self) -> dict[str, Any]:
        net = self.network
        rate = net.demand_rate
        delivered = rate * (1.0 - self.demand_loss)
        out: dict[str, Any] = {
            "queue_model": self.queue_model,
            "average_delay_s": _number(self.average_delay_s),
            "average_packets_in_network": _number(self.average_packets_in_network),
            "max_utilization": _number(self.max_utilization),
            "mean_utilization": _number(self.mean_utilization),
            "max_demand_delay_s": _number(_nanmax(self.demand_worst_delay_s, self.saturated)),
            "loss": _number(1.0 - delivered.sum() / rate.sum()) if rate.size else 0.0,
            "saturated": self.saturated,
            "n_saturated": self.n_saturated,
            "saturated_links": list(self.saturated_links),
        }
        if self.power is not None:
            out.update(total_power_w=_number(self.power.total_w),
                       chassis_power_w=_number(self.power.chassis_w.sum()),
                       port_power_w=_number(self.power.port_w.sum()),
                       load_power_w=_number(self.power.load_w.sum()))
        if self.rejection is not None:
            share = rate / rate.sum() if rate.size else rate
            out.update(mean_rejection_sum=_number(float(share @ self.rejection.demand_sum)),
                       mean_rejection_max=_number(float(share @ self.rejection.demand_max)),
                       max_rejection_max=_number(float(
                           self.rejection.path_max[self.design.routing.fraction > 0].max(initial=0.0))))
        return out

    def _arc_dicts(self) -> list[dict[str, Any]]:
        net = self.network
        columns = {
            "link": _ids(net.links)[net.arc_link].tolist(),
            "from": _ids(net.nodes)[net.arc_tail].tolist(),
            "to": _ids(net.nodes)[net.arc_head].tolist(),
            "capacity": _floats(self.arc_capacity),
            "flow": _floats(self.arc_flow),
            "utilization": _floats(self.arc_utilization),
            "packets": _floats(self.arc_packets),
            "queue_delay_s": _floats(self.arc_queue_delay_s),
            "fixed_delay_s": _floats(self.arc_fixed_delay_s),
            "delay_s": _floats(self.arc_delay_s),
            "blocking": _floats(self.arc_blocking),
            "saturated": self.queues.saturated[net.arc_queue].tolist(),
        }
        return _records(columns)

    def _demand_dicts(self) -> list[dict[str, Any]]:
        net, routing = self.network, self.design.routing
        node_ids, link_ids = _ids(net.nodes), _ids(net.links)
        node_ptr, nodes = routing.path_nodes(net.arc_tail, net.arc_head)
        node_names = node_ids[nodes].tolist()
        link_names = link_ids[net.arc_link[routing.arcs]].tolist()
        order = np.argsort(routing.demand, kind="stable")  # paths grouped by demand
        path_columns = {
            "nodes": [node_names[a:b] for a, b in zip(node_ptr[order].tolist(), node_ptr[order + 1].tolist())],
            "links": [link_names[a:b] for a, b in zip(routing.indptr[order].tolist(),
                                                      routing.indptr[order + 1].tolist())],
            "fraction": _floats(routing.fraction[order]),
            "delay_s": _floats(self.path_delay_s[order]),
            "loss": _floats(self.path_loss[order]),
        }
        demand_columns = {
            "id": _ids(net.demands).tolist(),
            "source": node_ids[net.demand_source].tolist(),
            "target": node_ids[net.demand_target].tolist(),
            "rate": _floats(net.demand_rate),
            "delay_s": _floats(self.demand_delay_s),
            "worst_delay_s": _floats(self.demand_worst_delay_s),
            "loss": _floats(self.demand_loss),
        }
        if self.rejection is not None:
            path_columns.update(rejection_sum=_floats(self.rejection.path_sum[order]),
                                rejection_max=_floats(self.rejection.path_max[order]))
            demand_columns.update(rejection_sum=_floats(self.rejection.demand_sum),
                                  rejection_max=_floats(self.rejection.demand_max))
        paths = _records(path_columns)
        bounds = np.cumsum(np.bincount(routing.demand, minlength=net.n_demands)).tolist()
        demands = _records(demand_columns)
        for demand, a, b in zip(demands, [0, *bounds[:-1]], bounds):
            demand["paths"] = paths[a:b]
        return demands

    def _node_dict(self) -> dict[str, Any]:
        if self.power is None:
            return {}
        columns = {"id": _ids(self.network.nodes).tolist(),
                   "on": np.asarray(self.design.node_on, dtype=bool).tolist(),
                   "power_w": _floats(self.power.node_w),
                   "chassis_power_w": _floats(self.power.chassis_w),
                   "port_power_w": _floats(self.power.port_w),
                   "load_power_w": _floats(self.power.load_w)}
        return {"nodes": _records(columns)}


@contextmanager
def _cyclic_gc_paused():
    """Pause the cyclic garbage collector while building millions of small lists and dicts.

    They hold no reference cycles, but their allocation triggers repeated full collections
    that cost ~3/4 of the time of ``to_dict`` on 300 000 paths.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ids(records) -> np.ndarray:
    return np.array([r.id for r in records], dtype=object)


def _floats(values: np.ndarray) -> list[float | None]:
    """Python floats, None where not finite."""
    values = np.asarray(values, dtype=float)
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _nanmax(values: np.ndarray, saturated: bool) -> float:
    """Largest finite value; NaN for a saturated design or when there is none."""
    finite = values[np.isfinite(values)]
    return math.nan if saturated or not finite.size else float(finite.max())


def _records(columns: Mapping[str, list]) -> list[dict[str, Any]]:
    """Column lists -> list of row dicts."""
    keys = list(columns)
    return [dict(zip(keys, row)) for row in zip(*columns.values())]


def _queue_metrics(queue: str, lam: np.ndarray, mu: np.ndarray, cs2: float,
                   buffer_packets: int | None) -> QueueMetrics:
    if queue == "mm1":
        return mm1(lam, mu)
    if queue == "md1":
        return md1(lam, mu)
    if queue == "mg1":
        return mg1(lam, mu, cs2)
    if buffer_packets is None:
        raise InvalidInputError("queue model 'mm1k' needs buffer_packets K (packets, >= 1)")
    return mm1k(lam, mu, buffer_packets)


def evaluate_design(network: Network, design: Design, queue: str = "mm1", cs2: float = 1.0,
                    buffer_packets: int | None = None, include_fixed_delay: bool = True,
                    power: Profiles | None = None,
                    security: Mapping[str, float] | None = None) -> DesignMetrics:
    """Delays, utilisation, loss (and power, security rejection) of a design.

    Parameters
    ----------
    network : Network
    design : Design
        Capacities, on/off states and routing; a link that is off has capacity 0.
    queue : {"mm1", "md1", "mg1", "mm1k"}
        Queue model of every link (see :mod:`topo_opt.evaluators.queues`).
    cs2 : float
        Squared coefficient of variation of the packet length (``mg1``).
    buffer_packets : int, optional
        Buffer K in packets including the one in service (``mm1k``, required there).
    include_fixed_delay : bool
        Add processing and propagation delays τ_a (as the min-delay objective does).
    power : PowerProfile, mapping node id -> PowerProfile or NodePowerModel, optional
        Device profiles: adds :func:`~topo_opt.evaluators.power.network_power`.
    security : mapping demand class -> tolerance, optional
        Adds :func:`~topo_opt.evaluators.security.path_rejection` (``{}``: all tolerances 0).

    Returns
    -------
    DesignMetrics

    Raises
    ------
    InvalidInputError
        Unknown queue model, ``mm1k`` without a buffer, routing or capacity arrays that do not
        fit the network, bad power profiles or tolerances.

    Notes
    -----
    N = Σ_q N_q and T = (N + Σ_a λ_a τ_a)/γ (Kleinrock 1964; Little's law).  Saturated queues
    (ρ ≥ 1 with an infinite buffer) make N and T NaN and set ``saturated``.
    """
    if queue not in QUEUE_MODELS:
        raise InvalidInputError(f"queue model must be one of {', '.join(QUEUE_MODELS)}, got {queue!r}")
    routing = design.routing
    if len(design.link_capacity) != network.n_links or len(design.link_on) != network.n_links \
            or len(design.node_on) != network.n_nodes:
        raise InvalidInputError(f"design does not fit network {network.name!r}: "
                                f"{len(design.link_capacity)} capacities for {network.n_links} links")
    if np.any((routing.demand < 0) | (routing.demand >= network.n_demands)) \
            or np.any((routing.arcs < 0) | (routing.arcs >= network.n_arcs)):
        raise InvalidInputError(f"routing refers to demands or arcs that are not in network {network.name!r}")

    per_unit = network.packets_per_rate_unit
    capacity = np.where(np.asarray(design.link_on, dtype=bool), design.link_capacity, 0.0)
    queue_capacity = network.queue_capacity(capacity)
    arc_flow = design.arc_flow(network)
    queue_flow = network.queue_load(arc_flow)
    q = _queue_metrics(queue, queue_flow * per_unit, queue_capacity * per_unit, cs2, buffer_packets)

    arc_q = network.arc_queue
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(queue_flow[arc_q] > 0, arc_flow / queue_flow[arc_q], 0.0)
    fixed = network.arc_fixed_delay_s if include_fixed_delay else np.zeros(network.n_arcs)
    queue_delay = q.sojourn_s[arc_q]

    # paths: sums over their arcs (NaN propagates only along used arcs)
    path_delay = routing.path_sums(queue_delay + fixed)
    with np.errstate(divide="ignore"):
        path_loss = 0.0 - np.expm1(routing.path_sums(np.log1p(-q.blocking[arc_q])))  # 0.0 - : no -0.0

    # demands: flow-weighted over used paths (a zero-fraction path does not count)
    demand_delay = routing.demand_average(path_delay, network.n_demands)
    demand_loss = routing.demand_average(path_loss, network.n_demands)
    used = routing.fraction > 0
    worst = np.full(network.n_demands, -np.inf)
    with np.errstate(invalid="ignore"):  # NaN (saturated) path delays propagate on purpose
        np.maximum.at(worst, routing.demand[used], path_delay[used])
    worst[np.isinf(worst)] = np.nan

    saturated = bool(q.saturated.any())
    n_network = math.nan if saturated else float(q.packets_in_system.sum())
    gamma = network.total_packet_rate
    average_delay = (n_network + per_unit * float(arc_flow @ fixed)) / gamma if gamma > 0 else math.nan
    carrying = queue_capacity > 0
    utilization = q.utilization[carrying]

    return DesignMetrics(
        network=network, design=design, queue_model=queue, queues=q,
        arc_flow=arc_flow, arc_capacity=queue_capacity[arc_q],
        arc_packets=q.packets_in_system[arc_q] * share,
        arc_queue_delay_s=queue_delay, arc_fixed_delay_s=fixed,
        path_delay_s=path_delay, path_loss=path_loss,
        demand_delay_s=demand_delay, demand_worst_delay_s=worst, demand_loss=demand_loss,
        average_packets_in_network=n_network, average_delay_s=average_delay,
        max_utilization=float(utilization.max()) if utilization.size else math.nan,
        mean_utilization=float(utilization.mean()) if utilization.size else math.nan,
        power=None if power is None else network_power(network, design, power),
        rejection=None if security is None else path_rejection(network, routing, security),
    )
