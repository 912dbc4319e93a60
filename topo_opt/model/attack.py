"""An attack scenario for the DDoS model: who attacks whom at what rate, and each node's detector.

``--attack SPEC`` (``topo-opt whatif``): ``SRC[,SRC...]>TARGET@RATE`` -- every source node sends
RATE (the instance's rate unit, per source) to TARGET; several scenarios' flows can be joined
with ``;`` (``A,B>C@1e9;D>C@5e8``).

The attack card (TOML, default ``models/attack/ddos.toml``) holds the detectors and the queues::

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
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.io.toml_file import TOMLDecodeError, loads_toml, read_toml
from topo_opt.model.network import Network

DEFAULT_CARD = "models/attack/ddos.toml"
ROUTING_RULES = ("min-hop", "shortest-length", "ecmp")
_SCHEMA: dict[str, dict[str, tuple[type, Any]]] = {
    "detection": {"false_alarm": (float, 0.001), "detection": (float, 0.5), "nodes": (dict, {})},
    "queue": {"buffer_packets": (int, 50)},
    "routing": {"rule": (str, "min-hop")},
    "protect": {"detection_step": (float, 0.1), "top": (int, 10)},
}


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


def _probability(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidInputError(f"{source}: {key} must be a probability in [0, 1], got {value!r}")
    return float(value)


def load_attack_card(path: str | Path, network: Network, overrides: tuple[str, ...] = ()) -> AttackCard:
    """Read and check an attack card; ``overrides`` are ``KEY=VALUE`` with dotted keys.

    Raises
    ------
    InvalidInputError
        Unknown keys or nodes, probabilities outside [0, 1], a buffer < 1, an unknown rule.
    """
    raw = read_toml(path, "attack card")
    source = str(path) + (" with --set" if overrides else "")
    for text in overrides:
        if "=" not in text:
            raise InvalidInputError(f"--set {text!r}: expected KEY=VALUE with a dotted key")
        key, value = (part.strip() for part in text.split("=", 1))
        try:
            parsed = loads_toml(f"v = {value}")["v"]
        except TOMLDecodeError:
            parsed = value
        *parents, leaf = key.split(".")
        table = raw
        for part in parents:
            table = table.setdefault(part, {})
        table[leaf] = parsed
    values = {section: {key: default for key, (_, default) in keys.items()} for section, keys in _SCHEMA.items()}
    for section, content in raw.items():
        if section in ("name", "description", "source"):
            continue
        if section not in _SCHEMA or not isinstance(content, Mapping):
            raise InvalidInputError(f"{source}: unknown section {section!r} (expected {', '.join(_SCHEMA)})")
        for key, value in content.items():
            if key not in _SCHEMA[section]:
                raise InvalidInputError(f"{source}: unknown key '{section}.{key}'")
            kind = _SCHEMA[section][key][0]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InvalidInputError(f"{source}: {section}.{key} must be of type {kind.__name__}, got {value!r}")
            values[section][key] = value
    det = values["detection"]
    f = np.full(network.n_nodes, _probability(source, "detection.false_alarm", det["false_alarm"]))
    d = np.full(network.n_nodes, _probability(source, "detection.detection", det["detection"]))
    for node, settings in det["nodes"].items():
        if node not in network.node_index or not isinstance(settings, Mapping):
            raise InvalidInputError(f"{source}: detection.nodes: unknown node {node!r} in network {network.name!r}")
        for key, value in settings.items():
            if key not in ("false_alarm", "detection"):
                raise InvalidInputError(f"{source}: detection.nodes.{node}: unknown key {key!r}")
            (f if key == "false_alarm" else d)[network.node_index[node]] = \
                _probability(source, f"detection.nodes.{node}.{key}", value)
    buffer = values["queue"]["buffer_packets"]
    if buffer < 1:
        raise InvalidInputError(f"{source}: queue.buffer_packets must be >= 1, got {buffer!r}")
    rule = values["routing"]["rule"]
    if rule not in ROUTING_RULES:
        raise InvalidInputError(f"{source}: routing.rule must be one of {', '.join(ROUTING_RULES)}, got {rule!r}")
    step = _probability(source, "protect.detection_step", values["protect"]["detection_step"])
    return AttackCard(f, d, buffer, rule, step, max(int(values["protect"]["top"]), 1), source)
