"""The problem registry: one entry per problem a model card can name.

Each :class:`Problem` holds the card schema (section -> key -> (type, default, allowed values)),
its runner as a ``"module:function"`` string, imported only when a card of the problem is solved
(so reading a card or starting the command line never imports Pyomo or HiGHS), and the methods
whose Ctrl-C answer is the problem's own best design.  ``topo-opt solve``, ``bench``, ``batch``,
``whatif`` and ``tradeoff`` all read cards through it (:mod:`topo_opt.solve.cards`) and solve
through :func:`topo_opt.solve.dispatch.solve`.

One key per concept across problems; the keys renamed for that are in :data:`RENAMED_KEYS`
(accepted for one release with a warning naming the new key; README "Renamed card keys"), a
problem that had no entry of its own in :data:`RENAMED_PROBLEMS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Callable

from topo_opt.model.routing_rules import BASELINE_RULES, CAPACITY_RULES, FIXED_RULES

#: section -> key -> (type, default, allowed values or None); (float, str) = a number or a keyword
Schema = dict[str, dict[str, tuple[Any, Any, "tuple | None"]]]


@dataclass(frozen=True)
class Problem:
    """One problem: its card schema, its runner and its interruptible methods.

    Attributes
    ----------
    name : str
        The card's ``problem``.
    schema : Schema
    runner : str
        ``"module:function"`` of ``run(network, card, callback) -> SolveResult``.
    interruptible : frozenset of str
        Methods whose Ctrl-C answer (``SolveInterrupted.partial``) is this problem's best design;
        an interrupted inner solve of another method is no answer to the problem.
    """

    name: str
    schema: Schema
    runner: str
    interruptible: frozenset[str] = field(default_factory=frozenset)

    def run_function(self) -> Callable:
        """The runner, imported now."""
        module, function = self.runner.split(":")
        return getattr(import_module(module), function)


_SOLVER_COMMON = {
    "gap": (float, 1e-6, None),
    "time_limit_s": (float, 600.0, None),
    "max_iterations": (int, 1_000_000, None),
}
_POWER = {"profiles": (str, "", None), "default_profile": (str, "core-router", None)}
_LP = {"solver": {"time_limit_s": (float, 600.0, None)}}
_CAPACITY_ASSIGNMENT = {
    "routing": {"rule": (str, "min-delay", CAPACITY_RULES)},
    "objective": {"include_fixed_delay": (bool, True, None)},
    "cfa": {"starts": (int, 4, None), "seed": (int, 0, None)},
    "solver": {"gap": (float, 1e-6, None), "time_limit_s": (float, 600.0, None)},
}
_MODULAR = {
    "objective": {"sense": (str, "min-cost", ("min-cost", "min-delay")),
                  "include_fixed_delay": (bool, True, None)},
    "constraints": {"max_delay_s": ((float, str), "installed", ("installed",)),
                    "budget": ((float, str), "installed", ("installed",)),
                    "max_utilization": (float, 1.0, None), "survivable": (bool, False, None)},
    "capacity": {"keep_installed": (bool, False, None),
                 "max_added_capacity": ((float, str), "auto", ("auto",))},
    "solver": {"mip_gap": (float, 0.01, None), "time_limit_s": (float, 600.0, None)},
}
_MODULAR_METHODS = frozenset({"milp-tangent-cuts"})
_DISPATCH = "topo_opt.solve.dispatch"

PROBLEMS: dict[str, Problem] = {p.name: p for p in (
    Problem("min-delay", {
        "objective": {"include_fixed_delay": (bool, True, None)},
        "solver": {"method": (str, "auto", ("auto", "path-equilibration", "gradient-projection",
                                            "outer-approximation", "flow-deviation", "barrier")),
                   **_SOLVER_COMMON},
    }, f"{_DISPATCH}:run_min_delay",
        frozenset({"path-equilibration", "gradient-projection", "flow-deviation", "outer-approximation",
                   "barrier"})),
    Problem("min-max-utilization", _LP, f"{_DISPATCH}:run_lp"),
    Problem("min-hop", _LP, f"{_DISPATCH}:run_lp"),
    Problem("fortz-thorup", _LP, f"{_DISPATCH}:run_lp"),
    Problem("routing-baseline", {
        "routing": {"rule": (str, "min-hop", BASELINE_RULES)},
    }, f"{_DISPATCH}:run_routing_baseline"),
    Problem("capacity-min-delay-budget", {  # topo_opt.algorithms.capacity_flow_assignment
        **_CAPACITY_ASSIGNMENT, "constraints": {"budget": ((float, str), "installed", ("installed",))},
    }, f"{_DISPATCH}:run_capacity_assignment", frozenset({"cfa"})),
    Problem("capacity-min-cost-delay-bound", {  # topo_opt.algorithms.capacity_flow_assignment
        **_CAPACITY_ASSIGNMENT, "constraints": {"max_delay_s": ((float, str), "installed", ("installed",))},
    }, f"{_DISPATCH}:run_capacity_assignment", frozenset({"cfa"})),
    Problem("capacity-worst-case-deadline", {  # topo_opt.solve.worst_case_capacity
        "routing": {"rule": (str, "min-hop", FIXED_RULES)},
        "deadline": {"max_delay_s": ((float, str), "installed", ("installed",)),
                     "class_max_delay_s": (dict, {}, None)},
        "traffic": {"burst": ((float, str), "auto", ("auto",)), "max_packet": ((float, str), "auto", ("auto",)),
                    "class_burst": (dict, {}, None)},
        "constraints": {"max_utilization": (float, 0.95, None)},
        "capacity": {"modular": (bool, False, None), "keep_installed": (bool, True, None),
                     "max_added_capacity": ((float, str), "auto", ("auto",))},
        "solver": {"gap": (float, 1e-6, None), "max_iterations": (int, 10_000, None),
                   "mip_gap": (float, 1e-4, None), "time_limit_s": (float, 600.0, None)},
    }, f"{_DISPATCH}:run_worst_case_capacity"),
    Problem("modular-capacity", _MODULAR, f"{_DISPATCH}:run_modular", _MODULAR_METHODS),
    Problem("topology-design", _MODULAR, f"{_DISPATCH}:run_modular", _MODULAR_METHODS),  # + candidate links
    Problem("ga", {  # topo_opt.solve.ga_runner, topo_opt.algorithms.genetic.GAOptions
        "objective": {"name": (str, "delay", ("delay", "power", "rejection", "composite")),
                      "include_fixed_delay": (bool, True, None),
                      "lower_bound": (str, "splittable", ("splittable", "none")),
                      "overload_penalty": (float, 100.0, None)},
        "power": _POWER,
        "composite": {"rejection": (float, 1.0, None), "delay": (float, 1.0, None),
                      "energy": (float, 1.0, None)},
        "ga": {"population": (int, 40, None), "generations": (int, 1000, None),
               "stagnation": (int, 200, None), "elite": (int, 2, None), "tournament": (int, 3, None),
               "crossover_rate": (float, 0.9, None), "path_crossover_rate": (float, 0.1, None),
               "mutation_rate": (float, 0.01, None), "guided_rate": (float, 0.02, None),
               "k_shortest": (int, 3, None), "random_paths": (int, 4, None), "seed": (int, 0, None)},
        # method "exact" and gap: the old spelling of composite-goal (RENAMED_PROBLEMS), until 0.2
        "solver": {"time_limit_s": (float, 30.0, None), "method": (str, "ga", ("ga", "exact")),
                   "gap": (float, 1e-4, None)},
    }, "topo_opt.solve.ga_runner:solve_ga"),
    Problem("composite-goal", {  # topo_opt.solve.composite_routing (exact; the GA: ga card)
        "power": _POWER,
        "composite": {"rejection": (float, 1.0, None), "delay": (float, 1.0, None),
                      "energy": (float, 1.0, None)},
        "solver": {"gap": (float, 1e-4, None), "time_limit_s": (float, 30.0, None)},
    }, "topo_opt.solve.dispatch:run_composite", frozenset({"composite-oa"})),
    Problem("earp-min-power", {  # topo_opt.solve.min_power (milp), topo_opt.algorithms.earp (earp)
        "power": _POWER,
        "objective": {"include_fixed_delay": (bool, True, None)},
        "constraints": {"max_delay_s": (float, 0.0, None), "max_delay_factor": (float, 1.5, None),
                        "max_demand_delay_s": (float, 0.0, None), "max_utilization": (float, 1.0, None)},
        "candidates": {"k_shortest": (int, 8, None), "max_simple_paths": (int, 50, None)},
        "solver": {"method": (str, "milp", ("milp", "earp")), "gap": (float, 1e-4, None),
                   "time_limit_s": (float, 600.0, None), "max_iterations": (int, 100, None)},
    }, "topo_opt.solve.dispatch:run_min_power", frozenset({"min-power-milp"})),
    Problem("secure-min-delay", {  # topo_opt.solve.secure_routing
        "security": {"max_rejection": (float, 0.0, None), "form": (str, "max", ("max", "sum")),
                     "tolerance": (dict, {}, None), "node_insecurity": (dict, {}, None)},
        "routing": {"paths": (str, "split", ("split", "single-path"))},
        "objective": {"include_fixed_delay": (bool, True, None)},
        "solver": {"gap": (float, 1e-4, None), "time_limit_s": (float, 600.0, None),
                   "max_iterations": (int, 100, None)},
    }, "topo_opt.solve.dispatch:run_secure", frozenset({"secure-single-path-milp"})),
    Problem("single-path-min-delay", {  # topo_opt.solve.single_path
        "objective": {"include_fixed_delay": (bool, True, None)},
        "candidates": {"k_shortest": (int, 8, None), "max_simple_paths": (int, 50, None)},
        "solver": {"gap": (float, 1e-4, None), "mip_gap": (float, 1e-6, None),
                   "time_limit_s": (float, 600.0, None), "max_iterations": (int, 100, None)},
    }, f"{_DISPATCH}:run_single_path", frozenset({"single-path-milp"})),
)}

#: problem -> {old dotted key: new dotted key}: one key per concept across problems.  The old
#: keys are accepted until topo-opt 0.2 with a warning naming the new key.
RENAMED_KEYS: dict[str, dict[str, str]] = {
    "earp-min-power": {"delay.include_fixed_delay": "objective.include_fixed_delay",
                       "delay.max_delay_s": "constraints.max_delay_s",
                       "delay.max_delay_factor": "constraints.max_delay_factor",
                       "delay.max_demand_delay_s": "constraints.max_demand_delay_s",
                       "network.max_utilization": "constraints.max_utilization",
                       "solver.n_candidates": "candidates.k_shortest",
                       "solver.max_simple_paths": "candidates.max_simple_paths"},
    "ga": {"objective.power_profiles": "power.profiles",
           "objective.default_power_profile": "power.default_profile"},
    "capacity-worst-case-deadline": {"capacity.max_utilization": "constraints.max_utilization"},
    "capacity-min-delay-budget": {"capacity.budget": "constraints.budget"},
    "capacity-min-cost-delay-bound": {"capacity.max_delay_s": "constraints.max_delay_s"},
}

#: problem -> {dotted key: {old value: new value}}: method names are kebab-case; the old spellings
#: are read as the new ones until topo-opt 0.2, with a warning naming the new value.
RENAMED_VALUES: dict[str, dict[str, dict[str, str]]] = {
    "min-delay": {"solver.method": {old: old.replace("_", "-") for old in (
        "path_equilibration", "gradient_projection", "outer_approximation", "flow_deviation")}},
}

#: old problem -> ({dotted key: value}, new problem): a card of the old problem with all those
#: values is read as the new problem until topo-opt 0.2, with a warning naming it; keys the new
#: problem lacks are dropped.
RENAMED_PROBLEMS: dict[str, tuple[dict[str, Any], str]] = {
    "ga": ({"solver.method": "exact", "objective.name": "composite"}, "composite-goal"),
}
