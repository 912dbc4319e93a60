"""The min-delay objective on arc flows, with first and second derivatives.

Kleinrock's average network delay (independence assumption, M/M/1 queues, Little's law):

    T(F) = (1/γ) [ Σ_q F_q/(C_q − F_q) + ρ Σ_a F_a d_a ]

with F_q the load of queue q (sum of its arcs' flows), C_q its capacity, d_a the arc's fixed
delay (tail-node processing + propagation, seconds), ρ the packets per rate unit and γ = ρ Σ_k r_k
the total packet rate.  F/(C − F) is the mean number of packets in an M/M/1 queue, so the first
sum is N, the average number of packets in the network (Kleinrock 1964; Fratta, Gerla and
Kleinrock 1973).  Used by every optimiser so that all methods minimise the same function.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.network import Network


@dataclass(frozen=True)
class DelayObjective:
    """T(F) for fixed capacities, evaluated on arc flows (rate unit)."""

    network: Network
    queue_capacity: np.ndarray
    include_fixed_delay: bool = True

    @classmethod
    def for_network(cls, network: Network, link_capacity: np.ndarray | None = None,
                    include_fixed_delay: bool = True) -> "DelayObjective":
        return cls(network, network.queue_capacity(link_capacity), include_fixed_delay)

    def require_positive_capacity(self) -> None:
        """Raise InvalidInputError for a queue of zero capacity: F/(C − F) is undefined there."""
        empty = np.flatnonzero(self.queue_capacity <= 0)
        if empty.size:
            link = self.network.links[self.network.queue_link[empty[0]]]
            buy = (" (no installed capacity: its modules can be bought with a modular-capacity card)"
                   if link.capacity == 0 and link.modules else "")
            raise InvalidInputError(f"link {link.id!r}: capacity must be > 0 for min-delay routing, "
                                    f"got {self.queue_capacity[empty[0]]:g} {self.network.rate_unit}{buy}")

    @property
    def scale(self) -> float:
        """1/γ in seconds per packet: converts N into T."""
        return 1.0 / self.network.total_packet_rate

    @property
    def arc_linear_cost(self) -> np.ndarray:
        """ρ d_a: the load-independent part of the arc cost derivative (packets·s per rate unit)."""
        if not self.include_fixed_delay:
            return np.zeros(self.network.n_arcs)
        return self.network.packets_per_rate_unit * self.network.arc_fixed_delay_s

    def packets_in_network(self, arc_flow: np.ndarray) -> float:
        """N = Σ_q F_q/(C_q − F_q); +inf when a queue with load is saturated (F_q ≥ C_q).

        A queue without load counts 0, also without capacity (a link a design leaves unused).
        """
        load = self.network.queue_load(arc_flow)
        slack = self.queue_capacity - load
        loaded = load > 0
        if np.any(slack[loaded] <= 0):
            return float("inf")
        return float(np.sum(load[loaded] / slack[loaded]))

    def value(self, arc_flow: np.ndarray) -> float:
        """T(F) in seconds (+inf if saturated)."""
        n = self.packets_in_network(arc_flow)
        return self.scale * (n + float(self.arc_linear_cost @ arc_flow))

    def arc_gradient(self, arc_flow: np.ndarray) -> np.ndarray:
        """∂T/∂F_a = (1/γ)[C_q/(C_q − F_q)² + ρ d_a], q the queue of arc a."""
        load = self.network.queue_load(arc_flow)
        dq = self.queue_capacity / (self.queue_capacity - load) ** 2
        return self.scale * (dq[self.network.arc_queue] + self.arc_linear_cost)

    def queue_second_derivative(self, arc_flow: np.ndarray) -> np.ndarray:
        """∂²T/∂F_q² = (1/γ) 2C_q/(C_q − F_q)³ per queue."""
        load = self.network.queue_load(arc_flow)
        return self.scale * 2.0 * self.queue_capacity / (self.queue_capacity - load) ** 3


def arc_delay_s(network: Network, arc_flow: np.ndarray | None = None,
                queue_capacity: np.ndarray | None = None) -> np.ndarray:
    """Per arc: the M/M/1 sojourn of its queue plus its fixed delay (s),

        h_a(F) = 1/(ρ (C_q − F_q)) + d_a        (q the arc's queue, ρ packets per rate unit),

    inf through a saturated queue (F_q ≥ C_q).  A path's end-to-end delay is the sum over its
    arcs (Kleinrock 1964).  ``arc_flow`` None: zero load; ``queue_capacity`` None: installed.
    """
    capacity = network.queue_capacity() if queue_capacity is None else queue_capacity
    slack = capacity if arc_flow is None else capacity - network.queue_load(arc_flow)
    with np.errstate(divide="ignore"):
        sojourn = np.where(slack > 0, 1.0 / (network.packets_per_rate_unit * slack), np.inf)
    return sojourn[network.arc_queue] + network.arc_fixed_delay_s


def zero_load_delay_s(network: Network) -> np.ndarray:
    """Per arc: transmission time L̄/C (the M/M/1 sojourn at zero load) + fixed delay (s)."""
    return arc_delay_s(network)


def capacity_per_load(max_utilization: float = 1.0, max_queue_packets: float = float("inf")) -> float:
    """m = max(1/u, 1 + 1/N_max): every queue of a design that meets the utilisation cap u and
    has at most N_max packets queued in the whole network has capacity C ≥ m·F at load F (from
    F ≤ u C, and F/(C − F) ≤ N_max).  The same holds for the load F_S across a cut and the
    capacity C_S across it (:mod:`topo_opt.formulations.cut_sets`).  N_max = inf without a
    delay bound."""
    return max(1.0 / max_utilization, 1.0 + 1.0 / max_queue_packets)
