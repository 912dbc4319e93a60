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

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from topo_opt.errors import InvalidInputError
from topo_opt.io.bundled import resolve
from topo_opt.io.toml_file import apply_overrides, read_toml
from topo_opt.solve.capacity_assignment import ROUTING_RULES as CA_ROUTING_RULES

# Schema: problem -> section -> key -> (type, default, allowed values or None)
_SOLVER_COMMON = {
    "gap": (float, 1e-6, None),
    "time_limit_s": (float, 600.0, None),
    "max_iterations": (int, 1_000_000, None),
}
SCHEMAS: dict[str, dict[str, dict[str, tuple[type, Any, tuple | None]]]] = {
    "min-delay": {
        "objective": {"include_fixed_delay": (bool, True, None)},
        "solver": {"method": (str, "auto", ("auto", "path_equilibration", "gradient_projection",
                                            "outer_approximation", "flow_deviation")), **_SOLVER_COMMON},
    },
    "min-max-utilization": {"solver": {"time_limit_s": (float, 600.0, None)}},
    "min-hop": {"solver": {"time_limit_s": (float, 600.0, None)}},
    "fortz-thorup": {"solver": {"time_limit_s": (float, 600.0, None)}},
    "capacity-min-delay-budget": {  # topo_opt.solve.capacity_assignment
        "routing": {"rule": (str, "min-delay", CA_ROUTING_RULES)},
        "capacity": {"budget": ((float, str), "installed", ("installed",))},
        "objective": {"include_fixed_delay": (bool, True, None)},
        "cfa": {"starts": (int, 4, None), "seed": (int, 0, None)},
        "solver": {"gap": (float, 1e-6, None), "time_limit_s": (float, 600.0, None)},
    },
    "capacity-min-cost-delay-bound": {  # topo_opt.solve.capacity_assignment
        "routing": {"rule": (str, "min-delay", CA_ROUTING_RULES)},
        "capacity": {"max_delay_s": ((float, str), "installed", ("installed",))},
        "objective": {"include_fixed_delay": (bool, True, None)},
        "cfa": {"starts": (int, 4, None), "seed": (int, 0, None)},
        "solver": {"gap": (float, 1e-6, None), "time_limit_s": (float, 600.0, None)},
    },
    "capacity-worst-case-deadline": {  # topo_opt.solve.worst_case_capacity
        "routing": {"rule": (str, "min-hop", ("min-delay", "min-hop", "shortest-length", "ecmp"))},
        "deadline": {"max_delay_s": ((float, str), "installed", ("installed",)),
                     "class_max_delay_s": (dict, {}, None)},
        "traffic": {"burst": ((float, str), "auto", ("auto",)), "max_packet": ((float, str), "auto", ("auto",)),
                    "class_burst": (dict, {}, None)},
        "capacity": {"max_utilization": (float, 0.95, None), "modular": (bool, False, None),
                     "keep_installed": (bool, True, None),
                     "max_added_capacity": ((float, str), "auto", ("auto",))},
        "solver": {"gap": (float, 1e-6, None), "max_iterations": (int, 10_000, None),
                   "mip_gap": (float, 1e-4, None), "time_limit_s": (float, 600.0, None)},
    },
    "modular-capacity": {  # topo_opt.solve.modular_capacity
        "objective": {"sense": (str, "min-cost", ("min-cost", "min-delay")),
                      "include_fixed_delay": (bool, True, None)},
        "constraints": {"max_delay_s": ((float, str), "installed", ("installed",)),
                        "budget": ((float, str), "installed", ("installed",)),
                        "max_utilization": (float, 1.0, None), "survivable": (bool, False, None)},
        "capacity": {"keep_installed": (bool, False, None),
                     "max_added_capacity": ((float, str), "auto", ("auto",))},
        "solver": {"mip_gap": (float, 0.01, None), "time_limit_s": (float, 600.0, None)},
    },
    "routing-baseline": {
        "routing": {"rule": (str, "min-hop", ("min-hop", "shortest-length", "ecmp"))},
    },
    "ga": {  # topo_opt.solve.ga, topo_opt.algorithms.genetic.GAOptions
        "objective": {"name": (str, "delay", ("delay", "power", "rejection", "composite")),
                      "include_fixed_delay": (bool, True, None),
                      "lower_bound": (str, "splittable", ("splittable", "none")),
                      "overload_penalty": (float, 100.0, None),
                      "power_profiles": (str, "", None),
                      "default_power_profile": (str, "core-router", None)},
        "composite": {"rejection": (float, 1.0, None), "delay": (float, 1.0, None),
                      "energy": (float, 1.0, None)},
        "ga": {"population": (int, 40, None), "generations": (int, 1000, None),
               "stagnation": (int, 200, None), "elite": (int, 2, None), "tournament": (int, 3, None),
               "crossover_rate": (float, 0.9, None), "path_crossover_rate": (float, 0.1, None),
               "mutation_rate": (float, 0.01, None), "guided_rate": (float, 0.02, None),
               "k_shortest": (int, 3, None), "random_paths": (int, 4, None), "seed": (int, 0, None)},
        "solver": {"time_limit_s": (float, 30.0, None), "method": (str, "ga", ("ga", "exact")),
                   "gap": (float, 1e-4, None)},
    },
    "earp-min-power": {  # topo_opt.solve.min_power (milp), topo_opt.algorithms.earp (earp)
        "power": {"profiles": (str, "", None), "default_profile": (str, "core-router", None)},
        "delay": {"max_delay_s": (float, 0.0, None), "max_delay_factor": (float, 1.5, None),
                  "max_demand_delay_s": (float, 0.0, None), "include_fixed_delay": (bool, True, None)},
        "network": {"max_utilization": (float, 1.0, None)},
        "solver": {"method": (str, "milp", ("milp", "earp")), "gap": (float, 1e-4, None),
                   "time_limit_s": (float, 600.0, None), "max_iterations": (int, 100, None),
                   "n_candidates": (int, 8, None), "max_simple_paths": (int, 50, None)},
    },
    "secure-min-delay": {  # topo_opt.solve.secure_routing
        "security": {"max_rejection": (float, 0.0, None), "form": (str, "max", ("max", "sum")),
                     "tolerance": (dict, {}, None), "node_insecurity": (dict, {}, None)},
        "routing": {"paths": (str, "split", ("split", "single-path"))},
        "objective": {"include_fixed_delay": (bool, True, None)},
        "solver": {"gap": (float, 1e-4, None), "time_limit_s": (float, 600.0, None),
                   "max_iterations": (int, 100, None)},
    },
    "single-path-min-delay": {  # topo_opt.solve.single_path
        "objective": {"include_fixed_delay": (bool, True, None)},
        "candidates": {"k_shortest": (int, 8, None), "max_simple_paths": (int, 50, None)},
        "solver": {"gap": (float, 1e-4, None), "mip_gap": (float, 1e-6, None),
                   "time_limit_s": (float, 600.0, None), "max_iterations": (int, 100, None)},
    },
}
SCHEMAS["topology-design"] = SCHEMAS["modular-capacity"]  # plus the candidate links
TOP_LEVEL_KEYS = ("problem", "description")


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


def validate_card(raw: Mapping[str, Any], source: str) -> ModelCard:
    """Check ``raw`` (parsed TOML) against the schema of its problem and fill defaults."""
    problem = raw.get("problem")
    if problem not in SCHEMAS:
        raise InvalidInputError(
            f"{source}: problem must be one of {', '.join(SCHEMAS)}, got {problem!r}")
    schema = SCHEMAS[problem]
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
    raw = read_toml(path, "model card")
    card = validate_card(raw, str(path))
    given = {key: (flag, value) for key, (flag, value) in (options or {}).items() if value is not None}
    for key, (flag, _) in given.items():
        section, leaf = key.split(".", 1)
        if leaf not in SCHEMAS[card.problem].get(section, {}):
            raise InvalidInputError(f"{flag} does not apply to the {card.problem!r} card "
                                    f"({path.name} has no {key} setting)")
    if not overrides and not given:
        return card
    apply_overrides(raw, overrides)
    for key, (_, value) in given.items():
        section, leaf = key.split(".", 1)
        raw.setdefault(section, {})[leaf] = value
    used = (["--set"] if overrides else []) + [flag for flag, _ in given.values()]
    return validate_card(raw, f"{path} with {', '.join(used)}")
