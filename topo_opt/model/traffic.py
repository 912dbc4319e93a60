"""Traffic descriptors of the worst-case (network calculus) model: one shaper per demand.

Demand k is shaped by a token bucket of burst β_k and token rate ρ_k, optionally followed by a
peak-rate (leaky-bucket) shaper of rate p_k and packet size M; its arrival curve is the
dual-bucket curve (models.md §11; Le Boudec and Thiran, *Network Calculus*, 2001, §1.2)

    α_k(t) = min(p_k t + M, β_k + ρ_k t)   for t > 0,   α_k(0) = 0.

Where each number comes from, first match wins (field by field):

* the :class:`TrafficClass` the demand belongs to, when it sets the field (``evaluate
  --worst-case --traffic-class`` or a ``--traffic`` descriptor file): a class names its demands
  by glob patterns on their ids, else it takes the demands whose ``class`` is its name;
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
from fnmatch import fnmatchcase
from typing import Mapping, Sequence

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


@dataclass(frozen=True)
class TrafficClass:
    """The shaper of every demand of one class: each member gets this token bucket.

    Attributes
    ----------
    name : str
    burst : float, optional
        β (rate unit × s: bits for bit/s instances, packets for packet/s).
    token_rate : float, optional
        ρ (rate unit), per demand; at least each member's rate.  None: the member's own.
    peak_rate : float, optional
        p (rate unit), per demand; None: the member's own, else no peak-rate shaper.
    demands : tuple of str
        Glob patterns (``fnmatch``, case-sensitive) on demand ids; empty: the demands whose
        ``class`` is ``name``.
    """

    name: str
    burst: float | None = None
    token_rate: float | None = None
    peak_rate: float | None = None
    demands: tuple[str, ...] = ()


def class_members(network: Network, classes: Sequence[TrafficClass]) -> list[TrafficClass | None]:
    """The class of every demand (None for demands in none).

    Raises
    ------
    InvalidInputError
        Two classes with one name, a class or pattern that matches no demand, or a demand that
        two classes claim.
    """
    owner: list[TrafficClass | None] = [None] * network.n_demands
    names = [c.name for c in classes]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise InvalidInputError(f"traffic class {twice!r} is given twice")
    for cls in classes:
        if cls.demands:
            members = set()
            for pattern in cls.demands:
                matched = {k for k, d in enumerate(network.demands) if fnmatchcase(d.id, pattern)}
                if not matched:
                    example = f" (e.g. {network.demands[0].id!r})" if network.demands else " (it has none)"
                    raise InvalidInputError(f"traffic class {cls.name!r}: pattern {pattern!r} matches no demand "
                                            f"of {network.name!r}{example}")
                members |= matched
        else:
            members = {k for k, d in enumerate(network.demands) if d.demand_class == cls.name}
            if not members:
                raise InvalidInputError(f"traffic class {cls.name!r}: no demand has class {cls.name!r}; "
                                        "give demand id patterns")
        for k in sorted(members):
            if owner[k] is not None:
                raise InvalidInputError(f"demand {network.demands[k].id!r} is in traffic classes "
                                        f"{owner[k].name!r} and {cls.name!r}")
            owner[k] = cls
    return owner


def default_max_packet(network: Network) -> float:
    """1500 bytes (12 000 bit) for bit/s instances, one packet for packet/s ones."""
    return MAX_PACKET_BITS if network.rate_unit == "bit/s" else 1.0


def traffic_descriptors(network: Network, *, burst: float | None = None,
                        class_burst: Mapping[str, float] | None = None,
                        max_packet: float | None = None,
                        classes: Sequence[TrafficClass] = ()) -> TrafficDescriptors:
    """The shaper of every demand (see the module docstring for the order of precedence).

    Raises
    ------
    InvalidInputError
        A negative or non-finite burst or maximum packet, a burst smaller than one packet, a
        class's token or peak rate below a member's rate (its bucket would never empty), or a
        class assignment :func:`class_members` refuses.
    """
    packet = default_max_packet(network) if max_packet is None else max_packet
    if not (math.isfinite(packet) and packet > 0):
        raise InvalidInputError(f"max packet must be a finite number > 0, got {packet!r}")
    fallback = DEFAULT_BURST_PACKETS * packet if burst is None else burst
    by_class = dict(class_burst or {})
    bursts, token, peak = [], [], []
    for d, cls in zip(network.demands, class_members(network, classes)):
        own = cls or TrafficClass("")
        b = _first(own.burst, d.burst, by_class.get(d.demand_class), fallback)
        where = f"demand {d.id!r}" + (f" (traffic class {cls.name!r})" if cls else "")
        if not (math.isfinite(b) and b >= packet):
            raise InvalidInputError(f"{where}: burst must be a finite number >= the max packet "
                                    f"{packet:g}, got {b!r} ({network.rate_unit}·s)")
        rho, p = _first(own.token_rate, d.token_rate, d.rate), _first(own.peak_rate, d.peak_rate, math.inf)
        for name, value in (("token rate", rho), ("peak rate", p)):
            if not value >= d.rate:  # a shaper slower than the demand never empties
                raise InvalidInputError(f"{where}: {name} {value:g} {network.rate_unit} is below the "
                                        f"demand's rate {d.rate:g} {network.rate_unit}")
        bursts.append(float(b))
        token.append(float(rho))
        peak.append(float(p))
    return TrafficDescriptors(np.asarray(bursts, float), np.asarray(token, float),
                              np.asarray(peak, float), float(packet))


def _first(*values):
    """The first value that is not None."""
    return next(v for v in values if v is not None)
