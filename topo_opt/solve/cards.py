"""Model cards: declarative TOML files naming the problem, its objective and solver settings.

A card is validated against the schema of its problem: every key must be known, every value of
the declared type.  ``--set KEY=VALUE`` overrides use dotted keys (``solver.gap=1e-5``) and go
through the same checks, so a typo is an error naming the key, never a silently ignored setting.

Example (``models/min-delay.toml``)::

    problem = "min-delay"
    description = "Splittable routing minimising the Kleinrock average delay"

    [objective]
    include_fixed_delay = true

    [solver]
    method = "auto"
    gap = 1e-6
    time_limit_s = 600.0
"""
from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Mapping

from topo_opt.errors import InvalidInputError
from topo_opt.io.bundled import resolve
from topo_opt.io.toml_file import apply_overrides, read_toml
from topo_opt.model.validation import replace_network
from topo_opt.solve.problems import PROBLEMS, RENAMED_KEYS, RENAMED_PROBLEMS, RENAMED_VALUES

TOP_LEVEL_KEYS = ("problem", "description")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelCard:
    """A validated card: the problem name and its sections with every default filled in."""

    problem: str
    description: str
    sections: Mapping[str, Mapping[str, Any]]
    source: str

    def get(self, dotted_key: str) -> Any:
        section, key = dotted_key.split(".", 1)
        return self.sections[section][key]

    def to_dict(self) -> dict[str, Any]:
        return {"problem": self.problem, "description": self.description,
                **{name: dict(values) for name, values in self.sections.items()}}


def _coerce(source: str, dotted: str, value: Any, kind: type | tuple, allowed: tuple | None) -> Any:
    if isinstance(kind, tuple):  # (float, str): a number, or one of the keywords in ``allowed``
        if isinstance(value, str):
            return _coerce(source, dotted, value, str, allowed)
        try:
            return _coerce(source, dotted, value, float, None)
        except InvalidInputError:
            raise InvalidInputError(f"{source}: {dotted} must be a number >= 0 or one of "
                                    f"{', '.join(map(str, allowed))}, got {value!r}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidInputError(
            f"{source}: {dotted} must be of type {kind.__name__}, got {value!r}")
    if kind is float and (math.isnan(value) or value < 0):
        raise InvalidInputError(f"{source}: {dotted} must be a number >= 0, got {value!r}")
    if kind is float and math.isinf(value):  # no card setting means "infinite" (1e400 reads as inf)
        raise InvalidInputError(f"{source}: {dotted} must be a finite number, got {value!r}")
    if kind is int and value < 0:
        raise InvalidInputError(f"{source}: {dotted} must be >= 0, got {value!r}")
    if allowed is not None and value not in allowed:
        raise InvalidInputError(
            f"{source}: {dotted} must be one of {', '.join(map(str, allowed))}, got {value!r}")
    return value


@contextmanager
def deprecations_already_said() -> Iterator[None]:
    """Cards read inside do not warn about old spellings (this module's only warnings): for a
    batch, whose card and overrides were read, and warned about, once when its jobs were made."""
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _renamed(raw: Mapping[str, Any], problem: str, source: str) -> dict[str, Any]:
    """``raw`` with the problem's renamed keys (:data:`~topo_opt.solve.problems.RENAMED_KEYS`)
    moved to their new names and renamed values (:data:`~topo_opt.solve.problems.RENAMED_VALUES`)
    spelled the new way, each with a warning naming the new key or value."""
    raw = {name: dict(value) if isinstance(value, Mapping) else value for name, value in raw.items()}
    for old, new in RENAMED_KEYS.get(problem, {}).items():
        (old_section, old_key), (new_section, new_key) = old.split(".", 1), new.split(".", 1)
        section = raw.get(old_section)
        if not isinstance(section, dict) or old_key not in section:
            continue
        if isinstance(raw.get(new_section), dict) and new_key in raw[new_section]:
            raise InvalidInputError(f"{source}: '{old}' and '{new}' name one setting: keep '{new}'")
        logger.warning("%s: '%s' is deprecated, use '%s' (accepted until topo-opt 0.2)", source, old, new)
        raw.setdefault(new_section, {})[new_key] = section.pop(old_key)
        if not section and old_section not in PROBLEMS[problem].schema:
            del raw[old_section]
    for dotted, values in RENAMED_VALUES.get(problem, {}).items():
        section, key = dotted.split(".", 1)
        old = raw[section].get(key) if isinstance(raw.get(section), dict) else None
        if isinstance(old, str) and old in values:
            logger.warning("%s: %s = %r is deprecated, use %r (accepted until topo-opt 0.2)",
                           source, dotted, old, values[old])
            raw[section][key] = values[old]
    return raw


def _renamed_problem(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """``raw`` as the problem it names the old way (:data:`~topo_opt.solve.problems.RENAMED_PROBLEMS`),
    with a warning naming the new problem, and the keys the new problem lacks dropped."""
    values, new = RENAMED_PROBLEMS.get(raw["problem"], ({}, None))

    def value(dotted: str) -> Any:
        section, key = dotted.split(".", 1)
        return raw[section].get(key) if isinstance(raw.get(section), dict) else None

    if new is None or any(value(key) != wanted for key, wanted in values.items()):
        return raw
    spelled = ", ".join(f"{key} = {wanted!r}" for key, wanted in values.items())
    logger.warning("%s: problem = %r with %s is deprecated, use problem = %r (accepted until topo-opt 0.2)",
                   source, raw["problem"], spelled, new)
    schema = PROBLEMS[new].schema
    kept = {name: {key: item for key, item in section.items() if key in schema[name]}
            for name, section in raw.items() if name in schema and isinstance(section, dict)}
    return {"problem": new, "description": raw.get("description", ""), **kept}


def _upgraded(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``raw`` with its old spellings (keys, values, problem) written the new way, one warning
    each; a card already written the new way comes back unchanged and without a warning."""
    problem = raw.get("problem")
    if problem not in PROBLEMS:
        raise InvalidInputError(
            f"{source}: problem must be one of {', '.join(PROBLEMS)}, got {problem!r}")
    return _renamed_problem(_renamed(raw, problem, source), source)


def validate_card(raw: Mapping[str, Any], source: str) -> ModelCard:
    """Check ``raw`` (parsed TOML) against the schema of its problem and fill defaults.

    Keys renamed for one key per concept, and problems that had no entry of their own, are
    accepted under their old spelling with a warning."""
    raw = _upgraded(raw, source)
    problem = raw["problem"]
    schema = PROBLEMS[problem].schema
    sections: dict[str, dict[str, Any]] = {
        name: {key: default for key, (_, default, _) in keys.items()}
        for name, keys in schema.items()}
    for name, value in raw.items():
        if name in TOP_LEVEL_KEYS:
            continue
        if name not in schema:
            raise InvalidInputError(f"{source}: unknown key {name!r} for problem {problem!r}")
        if not isinstance(value, Mapping):
            raise InvalidInputError(f"{source}: [{name}] must be a table, got {value!r}")
        for key, item in value.items():
            if key not in schema[name]:
                raise InvalidInputError(f"{source}: unknown key '{name}.{key}' for problem {problem!r}")
            kind, _, allowed = schema[name][key]
            sections[name][key] = _coerce(source, f"{name}.{key}", item, kind, allowed)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise InvalidInputError(f"{source}: description must be a string, got {description!r}")
    return ModelCard(problem, description, sections, source)


def resolve_card(spec: str | Path) -> Path:
    """The card file ``spec`` names: a path, or a bundled card's name (``min-delay``)."""
    return resolve(spec, "card")


def load_card(path: str | Path, overrides: tuple[str, ...] = (),
              options: Mapping[str, tuple[str, Any]] | None = None) -> ModelCard:
    """Read a card, apply ``KEY=VALUE`` overrides (dotted keys) and option values, and validate it.

    Parameters
    ----------
    path : str or Path
        A TOML file, or the name of a bundled card (``min-delay``; see :func:`resolve_card`).
    overrides : tuple of str
        ``--set`` texts, ``"solver.gap=1e-5"`` (values in TOML syntax).
    options : mapping, optional
        Dotted key -> (command-line option, value), e.g. ``{"solver.gap": ("--gap", 1e-5)}``;
        applied after ``overrides``, None values skipped.

    Raises
    ------
    InvalidInputError
        Missing file, TOML syntax error (with line), unknown key, wrong type or value; an
        option whose setting the card's problem does not have (``--time-limit does not apply
        ...``), named as the user typed it.
    """
    path = resolve_card(path)
    # the card's old spellings are made new (and warned about) once, before the overrides,
    # which then replace the card's setting whichever way either spelled it
    raw = _upgraded(read_toml(path, "model card"), str(path))
    card = validate_card(raw, str(path))
    given = {key: (flag, value) for key, (flag, value) in (options or {}).items() if value is not None}
    for key, (flag, _) in given.items():
        section, leaf = key.split(".", 1)
        if leaf not in PROBLEMS[card.problem].schema.get(section, {}):
            raise InvalidInputError(f"{flag} does not apply to the {card.problem!r} card "
                                    f"({path.name} has no {key} setting)")
    if not overrides and not given:
        return card
    renamed = RENAMED_KEYS.get(card.problem, {})
    for i, text in enumerate(overrides):  # an old key given with --set overrides the card's new key
        key, sep, value = text.partition("=")
        if key.strip() in renamed:
            logger.warning("--set %s: '%s' is deprecated, use '%s' (accepted until topo-opt 0.2)",
                           text, key.strip(), renamed[key.strip()])
            overrides = (*overrides[:i], f"{renamed[key.strip()]}{sep}{value}", *overrides[i + 1:])
    apply_overrides(raw, overrides)
    for key, (_, value) in given.items():
        section, leaf = key.split(".", 1)
        raw.setdefault(section, {})[leaf] = value
    used = (["--set"] if overrides else []) + [flag for flag, _ in given.values()]
    return validate_card(raw, f"{path} with {', '.join(used)}")


def node_power_profiles(network, card: ModelCard) -> dict:
    """Each node's power profile (:class:`~topo_opt.evaluators.power.PowerProfile`): the card its
    ``power_profile`` names, else ``power.default_profile``, from ``power.profiles`` (a folder,
    searched before the bundled profiles; empty: bundled only)."""
    from topo_opt.io.power_profile import load_node_profiles  # only power cards read profiles

    return load_node_profiles(network, card.get("power.profiles") or None, default=card.get("power.default_profile"))


def card_power_profiles(network, card: ModelCard) -> dict | None:
    """:func:`node_power_profiles` when the card's problem has a power model (``earp-min-power``,
    ``composite-goal``, ``ga`` with a ``power`` or ``composite`` fitness), else None."""
    if card.problem in ("earp-min-power", "composite-goal") or \
            card.problem == "ga" and card.get("objective.name") in ("power", "composite"):
        return node_power_profiles(network, card)
    return None


def card_network(network, card: ModelCard):
    """``network`` with the card's ``security.node_insecurity`` (node id -> S) applied.

    Raises
    ------
    InvalidInputError
        An unknown node id or an insecurity that is not a finite number >= 0.
    """
    given = card.get("security.node_insecurity")
    if not given:
        return network
    for node_id, value in given.items():
        if node_id not in network.node_index:
            raise InvalidInputError(f"{card.source}: security.node_insecurity: unknown node {node_id!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0:
            raise InvalidInputError(f"{card.source}: security.node_insecurity.{node_id} must be a "
                                    f"finite number >= 0, got {value!r}")
    return replace_network(network, nodes=tuple(replace(n, insecurity=float(given[n.id])) if n.id in given else n
                                       for n in network.nodes))
