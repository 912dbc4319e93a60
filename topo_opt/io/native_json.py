"""The native JSON format ``topo-opt/network`` version 1: reader and writer.

Layout (documented field by field, with units and defaults, in the formats documentation)::

    {"format": "topo-opt/network", "version": 1, "name": "abilene",
     "units": {"rate": "bit/s"}, "packet_length_bits": 8000, "link_model": "duplex",
     "propagation_speed_mps": 2e8, "metadata": {...},
     "nodes":   [{"id": "A", "longitude": -84.4, "latitude": 33.7}, ...],
     "links":   [{"id": "A_B", "source": "A", "target": "B", "capacity": 1e10}, ...],
     "demands": [{"id": "A_B", "source": "A", "target": "B", "rate": 2.5e8}, ...]}

On reading, ``units.rate`` may be ``bit/s``, ``kbit/s``, ``Mbit/s``, ``Gbit/s`` (scaled to bit/s:
capacities and rates are multiplied by the unit, costs per rate unit divided by it) or
``packet/s`` (kept, ``rate_unit = "packet/s"``).  The writer always writes ``bit/s`` or
``packet/s`` with Python's shortest round-trip float repr, so write-then-read gives an equal
:class:`Network`.  Unknown keys, missing required fields and wrong types are errors that name the
file, the line of the element and the element.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import line_numbers, read_text
from topo_opt.model.network import Demand, Link, Module, Network, Node
from topo_opt.model.validation import build_network

FORMAT_TAG = "topo-opt/network"
FORMAT_VERSION = 1
# unit name on file -> (rate unit of the Network, factor to that unit)
RATE_UNITS = {
    "bit/s": ("bit/s", 1.0),
    "kbit/s": ("bit/s", 1e3),
    "Mbit/s": ("bit/s", 1e6),
    "Gbit/s": ("bit/s", 1e9),
    "packet/s": ("packet/s", 1.0),
}

# Field tables: JSON key -> (attribute, type, required, scaling).  Types: "str", "number",
# "int", "bool", "modules"; an optional field whose default is None also accepts null.
# Scaling: "rate" fields are multiplied by the unit factor, "per_rate" fields divided by it.
_NODE_FIELDS = {
    "id": ("id", "str", True, None),
    "longitude": ("longitude", "number", False, None),
    "latitude": ("latitude", "number", False, None),
    "processing_delay_s": ("processing_delay_s", "number", False, None),
    "power_profile": ("power_profile", "str", False, None),
    "insecurity": ("insecurity", "number", False, None),
}
_LINK_FIELDS = {
    "id": ("id", "str", True, None),
    "source": ("source", "str", True, None),
    "target": ("target", "str", True, None),
    "capacity": ("capacity", "number", True, "rate"),
    "length_m": ("length_m", "number", False, None),
    "capacity_cost": ("capacity_cost", "number", False, "per_rate"),
    "preinstalled_cost": ("preinstalled_cost", "number", False, None),
    "fixed_cost": ("fixed_cost", "number", False, None),
    "routing_cost": ("routing_cost", "number", False, "per_rate"),
    "modules": ("modules", "modules", False, None),
    "installed": ("installed", "bool", False, None),
    "insecurity": ("insecurity", "number", False, None),
}
_DEMAND_FIELDS = {
    "id": ("id", "str", True, None),
    "source": ("source", "str", True, None),
    "target": ("target", "str", True, None),
    "rate": ("rate", "number", True, "rate"),
    "class": ("demand_class", "str", False, None),
    "max_path_length": ("max_path_length", "int", False, None),
    "burst": ("burst", "number", False, "rate"),
    "token_rate": ("token_rate", "number", False, "rate"),
    "peak_rate": ("peak_rate", "number", False, "rate"),
}
_SECTIONS = {"nodes": ("node", Node, _NODE_FIELDS),
             "links": ("link", Link, _LINK_FIELDS),
             "demands": ("demand", Demand, _DEMAND_FIELDS)}
_TOP_KEYS = ("format", "version", "name", "units", "packet_length_bits", "link_model",
             "propagation_speed_mps", "metadata", "nodes", "links", "demands")
_NULLABLE = {"longitude", "latitude", "power_profile", "insecurity", "length_m", "max_path_length",
             "burst", "token_rate", "peak_rate"}
_WS = re.compile(r"[ \t\n\r]*")


# --------------------------------------------------------------------------- reading
def read_json(path: str | os.PathLike) -> Network:
    """Read a native JSON instance file (see the module docstring for the layout)."""
    return loads_json(read_text(path), Path(path).name, default_name=Path(path).stem)


def loads_json(text: str, source: str = "<json>", default_name: str = "network") -> Network:
    """Parse native JSON text; ``source`` names the file in messages.

    Raises
    ------
    InvalidInputError
        JSON syntax errors (with JSONDecodeError's line), wrong file type or version, unknown
        keys, missing required fields, wrong types, and every check of
        :func:`topo_opt.model.build_network`.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{source}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    except (RecursionError, ValueError) as exc:  # nesting too deep, integer with too many digits
        raise InvalidInputError(f"{source}: invalid JSON: {exc or 'nesting too deep'}") from None
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{source}:1: not a topo-opt network file: top level is a JSON "
                                f"{type(doc).__name__}, expected an object")

    def key_line(key: str) -> int:
        match = re.search(r'"' + re.escape(key) + r'"\s*:', text)
        return int(line_numbers(text, [match.start()])[0]) if match else 1

    tag = doc.get("format")
    if tag != FORMAT_TAG:
        raise InvalidInputError(f"{source}:{key_line('format')}: not a topo-opt network file: "
                                f"'format' must be {FORMAT_TAG!r}, got {tag!r}")
    version = doc.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise InvalidInputError(f"{source}:{key_line('version')}: unsupported version {version!r}; "
                                f"this reader understands version {FORMAT_VERSION}")
    for key in doc:
        if key not in _TOP_KEYS:
            raise InvalidInputError(f"{source}:{key_line(key)}: unknown top-level key {key!r}")
    for key in ("nodes", "links"):
        if key not in doc:
            raise InvalidInputError(f"{source}: missing required top-level key {key!r}")

    rate_unit, factor = _rate_unit(doc.get("units", {"rate": "bit/s"}), source, key_line("units"))
    offsets = _element_offsets(text)
    elements: dict[str, list] = {}
    lines: dict[tuple[str, str], int] = {}
    for section, (kind, record, fields) in _SECTIONS.items():
        items = doc.get(section, [])
        if not isinstance(items, list):
            raise InvalidInputError(f"{source}:{key_line(section)}: {section!r} must be a list, "
                                    f"got {type(items).__name__}")
        item_lines = line_numbers(text, offsets.get(section, [])).tolist()
        if len(item_lines) != len(items):  # a duplicated top-level key: fall back to its line
            item_lines = [key_line(section)] * len(items)
        built = []
        for index, (item, line) in enumerate(zip(items, item_lines)):
            values = _element(item, fields, kind, index, f"{source}:{line}", factor)
            lines[(kind, values["id"])] = line  # the last one: a duplicate id points at itself
            built.append(record(**values))
        elements[section] = built

    top_numbers = {}
    for key in ("packet_length_bits", "propagation_speed_mps"):
        if key in doc:
            top_numbers[key] = _top_number(doc[key], key, source, key_line(key))
    for key in ("name", "link_model"):
        if key in doc and not isinstance(doc[key], str):
            raise InvalidInputError(f"{source}:{key_line(key)}: {key!r} must be a string, got {doc[key]!r}")
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"{source}:{key_line('metadata')}: 'metadata' must be an object, "
                                f"got {type(metadata).__name__}")
    return build_network(
        name=doc.get("name", default_name), nodes=elements["nodes"], links=elements["links"],
        demands=elements["demands"], packet_length_bits=top_numbers.get("packet_length_bits"),
        rate_unit=rate_unit, link_model=doc.get("link_model", "duplex"),
        propagation_speed_mps=top_numbers.get("propagation_speed_mps"), metadata=metadata,
        source=source, lines=lines)


def _rate_unit(units: Any, source: str, line: int) -> tuple[str, float]:
    if not isinstance(units, dict):
        raise InvalidInputError(f"{source}:{line}: 'units' must be an object like "
                                f'{{"rate": "bit/s"}}, got {units!r}')
    for key in units:
        if key != "rate":
            raise InvalidInputError(f"{source}:{line}: unknown key {key!r} in 'units'")
    unit = units.get("rate", "bit/s")
    if not isinstance(unit, str) or unit not in RATE_UNITS:
        raise InvalidInputError(f"{source}:{line}: unknown rate unit {unit!r}; expected one of "
                                f"{', '.join(RATE_UNITS)}")
    return RATE_UNITS[unit]


def _top_number(value: Any, key: str, source: str, line: int) -> float:
    return _float(value, f"{source}:{line}: {key!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: Any, what: str) -> float:
    """A JSON number as float; ``what`` prefixes the message (``"file:line: element: 'key'"``)."""
    if not _is_number(value):
        raise InvalidInputError(f"{what} must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise InvalidInputError(f"{what} is out of the float range, got {value}") from None


def _element(item: Any, fields: dict, kind: str, index: int, where: str,
             factor: float) -> dict[str, Any]:
    """Check one JSON object against its field table and return the record's keyword arguments."""
    if not isinstance(item, dict):
        raise InvalidInputError(f"{where}: {kind} #{index + 1} must be an object, got {item!r}")
    element_id = item.get("id")
    label = f"{kind} {element_id!r}" if isinstance(element_id, str) else f"{kind} #{index + 1}"
    for key in item:
        if key not in fields:
            raise InvalidInputError(f"{where}: {label}: unknown key {key!r} "
                                    f"(expected {', '.join(fields)})")
    values: dict[str, Any] = {}
    for key, (attribute, kind_of_value, required, scaling) in fields.items():
        if key not in item:
            if required:
                raise InvalidInputError(f"{where}: {label}: missing required field {key!r}")
            continue
        value = item[key]
        if value is None and key in _NULLABLE:
            values[attribute] = None
            continue
        values[attribute] = _typed(value, kind_of_value, key, f"{where}: {label}", factor)
        if scaling == "rate":
            values[attribute] *= factor
        elif scaling == "per_rate":
            values[attribute] /= factor
    return values


def _typed(value: Any, kind_of_value: str, key: str, where: str, factor: float) -> Any:
    if kind_of_value == "str":
        if not isinstance(value, str):
            raise InvalidInputError(f"{where}: {key!r} must be a string, got {value!r}")
        return value
    if kind_of_value == "number":
        return _float(value, f"{where}: {key!r}")
    if kind_of_value == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInputError(f"{where}: {key!r} must be an integer or null, got {value!r}")
        return value
    if kind_of_value == "bool":
        if not isinstance(value, bool):
            raise InvalidInputError(f"{where}: {key!r} must be true or false, got {value!r}")
        return value
    # modules: a list of {"capacity", "cost"} objects
    if not isinstance(value, list):
        raise InvalidInputError(f"{where}: 'modules' must be a list, got {value!r}")
    modules = []
    for i, module in enumerate(value):
        if not isinstance(module, dict) or set(module) != {"capacity", "cost"}:
            raise InvalidInputError(f"{where}: module #{i + 1} must be an object with exactly "
                                    f"'capacity' and 'cost', got {module!r}")
        capacity, cost = (_float(module[field], f"{where}: module #{i + 1} {field!r}")
                          for field in ("capacity", "cost"))
        modules.append(Module(capacity=capacity * factor, cost=cost))
    return tuple(modules)


def _element_offsets(text: str) -> dict[str, list[int]]:
    """Character offset of each element of the top-level ``nodes``/``links``/``demands`` arrays.

    Walks the (already validated) JSON text with the C scanner of :mod:`json`: element values
    are skipped with ``raw_decode``, so the cost stays linear in the file size.
    """
    decoder = json.JSONDecoder()
    offsets: dict[str, list[int]] = {}
    i = _WS.match(text, 0).end() + 1  # past "{"
    while True:
        i = _WS.match(text, i).end()
        if text[i] == "}":
            return offsets
        if text[i] == ",":
            i = _WS.match(text, i + 1).end()
        key, i = json.decoder.scanstring(text, i + 1)
        i = _WS.match(text, _WS.match(text, i).end() + 1).end()  # past ":"
        if key in _SECTIONS and text[i] == "[":
            starts = []
            i += 1
            while True:
                i = _WS.match(text, i).end()
                if text[i] == "]":
                    i += 1
                    break
                if text[i] == ",":
                    i = _WS.match(text, i + 1).end()
                starts.append(i)
                i = decoder.raw_decode(text, i)[1]
            offsets[key] = starts
        else:
            i = decoder.raw_decode(text, i)[1]


# --------------------------------------------------------------------------- writing
def dumps_json(network: Network) -> str:
    """The native JSON text of ``network``: one element per line, rates in bit/s or packet/s.

    Fields equal to their default are left out; numbers use the shortest repr that reads back
    to the same float, so :func:`loads_json` of the result equals ``network``.
    """
    try:
        head = {
            "format": FORMAT_TAG,
            "version": FORMAT_VERSION,
            "name": network.name,
            "units": {"rate": network.rate_unit},
            "packet_length_bits": network.packet_length_bits,
            "link_model": network.link_model,
            "propagation_speed_mps": network.propagation_speed_mps,
        }
        parts = [f"  {json.dumps(key)}: {_dumps(value)}" for key, value in head.items()]
        metadata = json.dumps(dict(network.metadata), indent=2, allow_nan=False).replace("\n", "\n  ")
        parts.append(f'  "metadata": {metadata}')
        for section, records in (("nodes", map(_node_dict, network.nodes)),
                                 ("links", map(_link_dict, network.links)),
                                 ("demands", map(_demand_dict, network.demands))):
            body = ",\n".join(f"    {_dumps(record)}" for record in records)
            parts.append(f'  "{section}": [\n{body}\n  ]' if body else f'  "{section}": []')
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{network.name}: cannot write as JSON: {exc}") from None
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _non_default(record: Any, fields: dict, defaults: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, (attribute, _, required, _) in fields.items():
        value = getattr(record, attribute)
        if required or value != defaults.get(attribute):
            out[key] = value
    return out


_NODE_DEFAULTS = {"longitude": None, "latitude": None, "processing_delay_s": 0.0,
                  "power_profile": None, "insecurity": None}
_LINK_DEFAULTS = {"length_m": None, "capacity_cost": 0.0, "preinstalled_cost": 0.0,
                  "fixed_cost": 0.0, "routing_cost": 0.0, "modules": (), "installed": True,
                  "insecurity": None}
_DEMAND_DEFAULTS = {"demand_class": "default", "max_path_length": None, "burst": None,
                    "token_rate": None, "peak_rate": None}


def _node_dict(node: Node) -> dict[str, Any]:
    return _non_default(node, _NODE_FIELDS, _NODE_DEFAULTS)


def _link_dict(link: Link) -> dict[str, Any]:
    out = _non_default(link, _LINK_FIELDS, _LINK_DEFAULTS)
    if "modules" in out:
        out["modules"] = [{"capacity": m.capacity, "cost": m.cost} for m in link.modules]
    return out


def _demand_dict(demand: Demand) -> dict[str, Any]:
    return _non_default(demand, _DEMAND_FIELDS, _DEMAND_DEFAULTS)

