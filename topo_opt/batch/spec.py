"""What a batch runs: the batch file (TOML or YAML) merged with command-line flags.

Batch file (every key optional; paths relative to the file's folder)::

    instances = ["../instances/*.json"]     # files, globs (** allowed) and folders
    format = "auto"                         # instance format
    models = [                              # model cards: a path, a bundled name, or a table
        "../models/min-delay.toml",
        {file = "../models/min-delay.toml", set = ["solver.method=\\"flow-deviation\\""], name = "fd"},
    ]
    set = ["solver.gap=1e-5"]               # --set overrides applied to every card
    seeds = [0, 1, 2]                       # one job per seed for cards with a seed parameter
    time_limit_s = 60.0                     # hard wall-clock limit of one job (s)
    out = "batch-out"                       # results folder

    [scenarios]
    demand_scales = "1.0:1.2:0.1"           # or a list of factors
    failures = "each-link"                  # "each-node", "each-link-pair", link ids ("A+B": both), or "none"

A flag given on the command line replaces the file's value of the same key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from topo_opt.errors import InvalidInputError
from topo_opt.io.bundled import bare_name
from topo_opt.io.detect import regular_file
from topo_opt.io.toml_file import read_toml
from topo_opt.io.topohub import is_topohub
from topo_opt.model.scenarios import FAILURE_KEYWORDS, parse_range

_TOP_KEYS = ("instances", "format", "models", "set", "seeds", "time_limit_s", "out", "scenarios")
_SCENARIO_KEYS = ("demand_scales", "failures")


@dataclass(frozen=True)
class ModelEntry:
    """A model card file, the ``--set`` overrides that belong to it and its label in tables."""

    file: str
    overrides: tuple[str, ...] = ()
    name: str | None = None

    @property
    def label(self) -> str:
        """``name``, else the card's file stem followed by its overrides in brackets."""
        if self.name:
            return self.name
        stem = Path(self.file).stem
        return f"{stem}[{';'.join(self.overrides)}]" if self.overrides else stem


@dataclass(frozen=True)
class BatchSpec:
    """The grid of a batch: instances × models × scenarios (scales × failures) × seeds.

    Attributes
    ----------
    instances : tuple of str
        Files, glob patterns and folders.
    models : tuple of ModelEntry
    overrides : tuple of str
        ``KEY=VALUE`` applied to every card before the entry's own overrides.
    demand_scales : tuple of float
        Demand growth factors (1.0 = the instance's demands).
    failures : None, str or tuple of str
        None for no failure scenarios; a keyword of
        :func:`~topo_opt.model.scenarios.failure_scenarios` or failures (link ids, ``"A+B"`` for
        links failing together): the scenarios run in addition to the intact network.
    seeds : tuple of int
        Seeds for cards that have a ``seed`` parameter; other cards run once (seed empty).
    time_limit_s : float or None
        Hard wall-clock limit per job in seconds; an overrunning job is killed.
    out : str
        Results folder (``results.csv``, ``results.parquet``, ``solutions/``).
    format : str
        Instance format (``auto`` detects it).
    """

    instances: tuple[str, ...] = ()
    models: tuple[ModelEntry, ...] = (ModelEntry("min-delay"),)
    overrides: tuple[str, ...] = ()
    demand_scales: tuple[float, ...] = (1.0,)
    failures: str | tuple[str, ...] | None = None
    seeds: tuple[int, ...] = (0,)
    time_limit_s: float | None = None
    out: str = "batch-out"
    format: str = "auto"
    source: str = field(default="command line", compare=False)

    def with_flags(self, **flags: Any) -> "BatchSpec":
        """A copy with every flag that is not None (or an empty tuple) replacing the value."""
        given = {key: value for key, value in flags.items() if value not in (None, ())}
        return replace(self, **given)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{where} must be a string or a list of strings, got {value!r}")
    return tuple(value)


def _relative(path: str, base: Path) -> str:
    return path if Path(path).is_absolute() else os.path.normpath(base / path)


def _instance(spec: str, base: Path) -> str:
    """An instance path relative to the batch file; a topohub key or a bundled instance's name
    (when no such file is next to the batch file) kept as it is."""
    relative = _relative(spec, base)
    keep = is_topohub(spec) or (bare_name(spec, ".json") and not Path(relative).exists())
    return spec if keep else relative


def _card(spec: str, base: Path) -> str:
    """A card path relative to the batch file, or a bundled card's name kept as it is."""
    relative = _relative(spec, base)
    return spec if bare_name(spec, ".toml") and not Path(relative).exists() else relative


def parse_models(value: Any, where: str, base: Path) -> tuple[ModelEntry, ...]:
    """Model entries from a list of paths and ``{file, set, name}`` tables."""
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, Sequence) or not items:
        raise InvalidInputError(f"{where}: models must be a non-empty list, got {value!r}")
    entries = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            entries.append(ModelEntry(_card(item, base)))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("file"), str):
            raise InvalidInputError(f"{where}: models[{i}] must be a path or a table with a 'file' key, got {item!r}")
        unknown = set(item) - {"file", "set", "name"}
        if unknown:
            raise InvalidInputError(f"{where}: models[{i}]: unknown key {sorted(unknown)[0]!r}")
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            raise InvalidInputError(f"{where}: models[{i}].name must be a string, got {name!r}")
        entries.append(ModelEntry(_card(item["file"], base),
                                  _strings(item.get("set", ()), f"{where}: models[{i}].set"), name))
    return tuple(entries)


def parse_scales(value: Any, where: str) -> tuple[float, ...]:
    """Demand scales from ``"START:STOP:STEP"``, one number or a list of numbers."""
    if isinstance(value, str):
        return tuple(parse_range(value))
    values = [value] if isinstance(value, (int, float)) else value
    if not isinstance(values, Sequence) or not values or \
            not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise InvalidInputError(f"{where}: demand_scales must be START:STOP:STEP or a list of numbers, got {value!r}")
    return tuple(s for v in values for s in parse_range(repr(float(v))))


def parse_failures(value: Any, where: str) -> str | tuple[str, ...] | None:
    """``None``/``"none"`` (no failure scenarios), a failure keyword or failures (link ids, ``A+B``)."""
    if value is None or value == "none":
        return None
    if isinstance(value, str) and value in FAILURE_KEYWORDS:
        return value
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return _strings(value, f"{where}: failures")


def _read_raw(path: Path) -> dict[str, Any]:
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise InvalidInputError(f"{path}: YAML batch files need PyYAML (pip install pyyaml)") from None
        try:
            raw = yaml.safe_load(regular_file(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInputError(f"{path}: batch file not found") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise InvalidInputError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
        if not isinstance(raw, dict):
            raise InvalidInputError(f"{path}: a batch file must be a mapping of keys")
        return raw
    return read_toml(path, "batch file")


def load_batch_file(path: str | Path) -> BatchSpec:
    """Read and check a batch file (``.toml``, or ``.yaml``/``.yml`` with PyYAML).

    Raises
    ------
    InvalidInputError
        Missing file, syntax error (with line), unknown key or a value of the wrong type.
    """
    path = Path(path)
    raw = _read_raw(path)
    where, base = str(path), path.parent
    for key in raw:
        if key not in _TOP_KEYS:
            raise InvalidInputError(f"{where}: unknown key {key!r} (expected one of {', '.join(_TOP_KEYS)})")
    scenarios = raw.get("scenarios", {})
    if not isinstance(scenarios, Mapping):
        raise InvalidInputError(f"{where}: [scenarios] must be a table, got {scenarios!r}")
    for key in scenarios:
        if key not in _SCENARIO_KEYS:
            raise InvalidInputError(f"{where}: unknown key 'scenarios.{key}' (expected {', '.join(_SCENARIO_KEYS)})")
    spec: dict[str, Any] = {"source": where}
    if "instances" in raw:
        spec["instances"] = tuple(_instance(p, base) for p in _strings(raw["instances"], f"{where}: instances"))
    if "models" in raw:
        spec["models"] = parse_models(raw["models"], where, base)
    if "set" in raw:
        spec["overrides"] = _strings(raw["set"], f"{where}: set")
    if "seeds" in raw:
        seeds = raw["seeds"]
        if not isinstance(seeds, list) or not seeds or \
                not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
            raise InvalidInputError(f"{where}: seeds must be a non-empty list of integers >= 0, got {seeds!r}")
        spec["seeds"] = tuple(seeds)
    if "time_limit_s" in raw:
        limit = raw["time_limit_s"]
        if not isinstance(limit, (int, float)) or isinstance(limit, bool) or not limit > 0:
            raise InvalidInputError(f"{where}: time_limit_s must be a number > 0 (s), got {limit!r}")
        spec["time_limit_s"] = float(limit)
    for key in ("out", "format"):
        if key in raw:
            if not isinstance(raw[key], str):
                raise InvalidInputError(f"{where}: {key} must be a string, got {raw[key]!r}")
            spec[key] = _relative(raw[key], base) if key == "out" else raw[key]
    if "demand_scales" in scenarios:
        spec["demand_scales"] = parse_scales(scenarios["demand_scales"], where)
    if "failures" in scenarios:
        spec["failures"] = parse_failures(scenarios["failures"], where)
    return BatchSpec(**spec)
