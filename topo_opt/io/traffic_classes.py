"""Per-class token-bucket descriptors for the worst-case evaluation: command-line specs and files.

A class gives every demand it holds the same shaper (:class:`topo_opt.model.traffic.TrafficClass`).

Command line (``evaluate --worst-case --traffic-class SPEC``, repeatable)::

    NAME:burst=B[,rate=R][,peak=P][,demands=PATTERN|PATTERN...]

Descriptor file (``--traffic FILE``), TOML or JSON (detected from the content)::

    [classes.voice]            # {"classes": {"voice": {"burst": 24000, ...}, ...}}
    burst = 24000              # bits (packets for packet/s instances)
    rate = 2e6                 # token rate per demand, rate unit (default: the demand's rate)
    peak = 1e8                 # peak rate per demand (default: none)
    demands = ["ATLA*", "*_WASHng"]   # glob patterns on demand ids (default: the demands whose class is "voice")

Every key is optional except that a class must set at least one number.  Numbers are finite and
> 0, in the instance's units; whether they suit the demands (burst ≥ one packet, rates ≥ the
demand's rate, every pattern matching a demand) is checked by
:func:`topo_opt.model.traffic.traffic_descriptors`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import parse_number, read_text
from topo_opt.io.toml_file import TOMLDecodeError, loads_toml
from topo_opt.model.traffic import TrafficClass

# descriptor key -> TrafficClass field
NUMBERS = {"burst": "burst", "rate": "token_rate", "peak": "peak_rate"}
SPEC_FORM = "NAME:burst=B[,rate=R][,peak=P][,demands=PATTERN|PATTERN...]"


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, str):
        value = parse_number(value, where, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{where}: {key} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidInputError(f"{where}: {key} must be a finite number > 0, got {value!r}")
    return float(value)


def _traffic_class(name: str, fields: dict[str, Any], where: str) -> TrafficClass:
    if not name or not name.strip():
        raise InvalidInputError(f"{where}: the class needs a name")
    unknown = sorted(set(fields) - set(NUMBERS) - {"demands"})
    if unknown:
        raise InvalidInputError(f"{where}: unknown key {unknown[0]!r}; expected burst, rate, peak, demands")
    if not set(fields) & set(NUMBERS):
        raise InvalidInputError(f"{where}: class {name!r} sets none of burst, rate, peak")
    patterns = fields.get("demands", ())
    if isinstance(patterns, str):
        patterns = (patterns,)
    if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) and p for p in patterns):
        raise InvalidInputError(f"{where}: demands must be a list of demand id patterns, got {patterns!r}")
    numbers = {NUMBERS[key]: _number(value, where, key) for key, value in fields.items() if key in NUMBERS}
    return TrafficClass(name.strip(), demands=tuple(patterns), **numbers)


def parse_traffic_class(spec: str) -> TrafficClass:
    """One ``--traffic-class`` SPEC (see the module docstring).

    Raises
    ------
    InvalidInputError
        ``--traffic-class 'voice:burst=x': malformed number 'x' in burst`` and the like.
    """
    where = f"--traffic-class {spec!r}"
    name, colon, rest = spec.partition(":")
    if not colon or not rest.strip():
        raise InvalidInputError(f"{where}: expected {SPEC_FORM}")
    fields: dict[str, Any] = {}
    for item in rest.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or not value:
            raise InvalidInputError(f"{where}: {item.strip()!r} is not KEY=VALUE; expected {SPEC_FORM}")
        if key in fields:
            raise InvalidInputError(f"{where}: {key} is given twice")
        fields[key] = value.split("|") if key == "demands" else value
    return _traffic_class(name, fields, where)


def read_traffic_classes(path: str | Path) -> list[TrafficClass]:
    """The classes of a descriptor file, in file order (TOML, or JSON when it starts with ``{``).

    Raises
    ------
    InvalidInputError
        Unreadable file, a syntax error (with the line), or a bad class (named).
    """
    path = Path(path)
    text = read_text(path)
    try:
        doc = json.loads(text) if text.lstrip().startswith("{") else loads_toml(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path.name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except TOMLDecodeError as exc:
        raise InvalidInputError(f"{path.name}: invalid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"classes"})
    if unknown:
        raise InvalidInputError(f"{path.name}: unknown key {unknown[0]!r}; expected 'classes'")
    classes = doc.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise InvalidInputError(f"{path.name}: no traffic classes (a 'classes' table of NAME = {{burst, rate, "
                                "peak, demands}})")
    out = []
    for name, fields in classes.items():
        where = f"{path.name}: classes.{name}"
        if not isinstance(fields, dict):
            raise InvalidInputError(f"{where}: expected a table of burst, rate, peak, demands")
        out.append(_traffic_class(name, fields, where))
    return out
