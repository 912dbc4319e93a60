"""An attack scenario for the DDoS model: who attacks whom at what rate, and each node's detector.

``--attack SPEC`` (``topo-opt whatif``): ``SRC[,SRC...]>TARGET@RATE`` -- every source node sends
RATE (the instance's rate unit, per source) to TARGET; several scenarios' flows can be joined
with ``;`` (``A,B>C@1e9;D>C@5e8``).

The attack card (TOML, default ``models/attack/ddos.toml``, read by
:func:`topo_opt.io.attack_card.load_attack_card`) holds the detectors and the queues::

    [detection]
    false_alarm = 0.001         # f_i: a normal packet is dropped by mistake at each node
    detection = 0.5             # d_i: an attack packet is dropped at each node
    nodes = {ATLAng = {detection = 0.9}}   # per-node overrides
    [queue]
    buffer_packets = 50         # B: M/M/1/B buffer of every link queue (packets, in service included)
    [routing]
    rule = "min-hop"            # min-hop | shortest-length | ecmp, for normal and attack traffic
    [protect]
    detection_step = 0.1        # Δd of the "where detection helps most" ranking
    top = 10
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.network import Network


@dataclass(frozen=True)
class AttackFlow:
    """``rate`` (rate unit) of attack traffic from node ``source`` to node ``target``."""

    source: str
    target: str
    rate: float


@dataclass(frozen=True)
class AttackCard:
    """The validated attack card: per-node f and d arrays (network node order) and the rest."""

    false_alarm: np.ndarray
    detection: np.ndarray
    buffer_packets: int
    routing_rule: str
    detection_step: float
    top: int
    source: str


def parse_attack(spec: str, network: Network) -> tuple[AttackFlow, ...]:
    """``SRC[,SRC...]>TARGET@RATE[;...]`` -> attack flows (see the module docstring).

    Raises
    ------
    InvalidInputError
        Bad syntax, an unknown node, a source equal to the target, a rate that is not > 0.
    """
    flows = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        try:
            sources, rest = part.split(">", 1)
            target, rate_text = rest.split("@", 1)
            rate = float(rate_text)
        except ValueError:
            raise InvalidInputError(f"--attack {part!r}: expected SRC[,SRC...]>TARGET@RATE, "
                                    f"e.g. ATLAng,CHINng>STTLng@5e9") from None
        if not (math.isfinite(rate) and rate > 0):
            raise InvalidInputError(f"--attack {part!r}: rate must be > 0 ({network.rate_unit}), got {rate_text!r}")
        target = target.strip()
        for node in [target, *(s.strip() for s in sources.split(","))]:
            if node not in network.node_index:
                raise InvalidInputError(f"--attack {part!r}: unknown node {node!r} in network {network.name!r}")
        for s in (s.strip() for s in sources.split(",")):
            if s == target:
                raise InvalidInputError(f"--attack {part!r}: source {s!r} is the target")
            flows.append(AttackFlow(s, target, rate))
    if not flows:
        raise InvalidInputError("--attack: no attack flow given (SRC[,SRC...]>TARGET@RATE)")
    return tuple(flows)
