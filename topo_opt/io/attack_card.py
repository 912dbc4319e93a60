"""Reading the attack card of the DDoS what-if (layout in :mod:`topo_opt.model.attack`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.io.toml_file import apply_overrides, read_toml
from topo_opt.model.attack import AttackCard
from topo_opt.model.routing_rules import BASELINE_RULES
from topo_opt.model.network import Network

_SCHEMA: dict[str, dict[str, tuple[type, Any]]] = {
    "detection": {"false_alarm": (float, 0.001), "detection": (float, 0.5), "nodes": (dict, {})},
    "queue": {"buffer_packets": (int, 50)},
    "routing": {"rule": (str, "min-hop")},
    "protect": {"detection_step": (float, 0.1), "top": (int, 10)},
}


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
    apply_overrides(raw, overrides)
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
    if rule not in BASELINE_RULES:
        raise InvalidInputError(f"{source}: routing.rule must be one of {', '.join(BASELINE_RULES)}, got {rule!r}")
    step = _probability(source, "protect.detection_step", values["protect"]["detection_step"])
    return AttackCard(f, d, buffer, rule, step, max(int(values["protect"]["top"]), 1), source)
