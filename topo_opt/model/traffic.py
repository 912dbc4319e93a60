"""Traffic descriptors of the worst-case (network calculus) model: one shaper per demand.

Demand k is shaped by a token bucket of burst β_k and token rate ρ_k, optionally followed by a
peak-rate (leaky-bucket) shaper of rate p_k and packet size M; its arrival curve is the
dual-bucket curve (models.md §11; Le Boudec and Thiran, *Network Calculus*, 2001, §1.2)

    α_k(t) = min(p_k t + M, β_k + ρ_k t)   for t > 0,   α_k(0) = 0.

Where each number comes from, first match wins:

* the demand's own ``burst``, ``token_rate``, ``peak_rate`` (native JSON, optional fields);
* ``class_burst[demand class]`` (a card's ``traffic.class_burst``), else ``burst``;
* defaults: ρ_k = the demand's rate, no peak rate (p = ∞), β_k = ``DEFAULT_BURST_PACKETS`` maximum
  packets.  ``max_packet`` M (bits for bit/s instances, 1 packet for packet/s) is also the
  transmission unit of the links' rate-latency servers.

Units follow the instance: rates in its rate unit, bursts in rate unit × s (bits or packets).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.network import Network

MAX_PACKET_BITS = 12_000.0   # 1500-byte Ethernet MTU
DEFAULT_BURST_PACKETS = 10.0


@dataclass(frozen=True)
class TrafficDescriptors:
    """Per-demand shapers (arrays in the network's demand order) and the maximum packet size.

    Attributes
    ----------
    burst : ndarray
        β_k (rate unit × s).
    token_rate : ndarray
        ρ_k (rate unit), ≥ the demand's rate.
    peak_rate : ndarray
        p_k (rate unit), ``inf`` without a peak-rate shaper.
    max_packet : float
        M (rate unit × s): the largest packet.
    """

    burst: np.ndarray
    token_rate: np.ndarray
    peak_rate: np.ndarray
    max_packet: float


def default_max_packet(network: Network) -> float:
    """1500 bytes (12 000 bit) for bit/s instances, one packet for packet/s ones."""
    return MAX_PACKET_BITS if network.rate_unit == "bit/s" else 1.0


def traffic_descriptors(network: Network, *, burst: float | None = None,
                        class_burst: Mapping[str, float] | None = None,
                        max_packet: float | None = None) -> TrafficDescriptors:
    """The shaper of every demand (see the module docstring for the order of precedence).

    Raises
    ------
    InvalidInputError
        A negative or non-finite burst or maximum packet, or a burst smaller than one packet.
    """
    packet = default_max_packet(network) if max_packet is None else max_packet
    if not (math.isfinite(packet) and packet > 0):
        raise InvalidInputError(f"max packet must be a finite number > 0, got {packet!r}")
    fallback = DEFAULT_BURST_PACKETS * packet if burst is None else burst
    by_class = dict(class_burst or {})
    bursts, token, peak = [], [], []
    for d in network.demands:
        b = d.burst if d.burst is not None else float(by_class.get(d.demand_class, fallback))
        if not (math.isfinite(b) and b >= packet):
            raise InvalidInputError(f"demand {d.id!r}: burst must be a finite number >= the max packet "
                                    f"{packet:g}, got {b!r} ({network.rate_unit}·s)")
        bursts.append(b)
        token.append(d.rate if d.token_rate is None else d.token_rate)
        peak.append(math.inf if d.peak_rate is None else d.peak_rate)
    return TrafficDescriptors(np.asarray(bursts, float), np.asarray(token, float),
                              np.asarray(peak, float), float(packet))
