"""What-if capacity planning: demand growth and failures, with the cheapest upgrades.

For each :class:`~topo_opt.model.scenarios.Scenario` the sweep reports

* the installed network under certified min-delay routing (gradient projection,
  :func:`~topo_opt.algorithms.support_routing.min_delay_on_support`): average delay
  T (Kleinrock), the worst demand delay and the largest link utilisation, or ``infeasible``
  with the reason (the disconnected demand, or the saturated cut);
* the cheapest capacity upgrade — modules added on top of the installed capacities
  (:func:`~topo_opt.solve.modular_capacity.solve_modular_capacity`, min cost) — that brings T
  to at most T_max, and the min-delay routing of the upgraded network.

T_max is the card's ``constraints.max_delay_s``; ``"installed"`` is the delay of the *base*
network (no growth, no failure) with its installed capacities under min-delay routing, computed
once and used for every scenario.  An upgrade is not needed (cost 0, no MILP) when the
installed network already meets T_max and the card's utilisation limit: cost 0 is then
optimal.

Scenario grid: the intact network and each failure scenario, each at every demand scale (the same
rule as ``topo-opt batch``).

This module returns records (plain dicts, one per scenario, keys in :data:`COLUMNS`); only the
CLI prints.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.model.network import Network
from topo_opt.model.scenarios import Scenario, apply_scenario
from topo_opt.solve.cards import ModelCard
from topo_opt.solve.dispatch import check_routable
from topo_opt.algorithms.support_routing import min_delay_on_support

CARD_PROBLEM = "modular-capacity"
# Tight enough that the reported delays agree with any independent certified solve to 1e-6
ROUTING_GAP = 1e-8
ROUTING_SHARE = 0.1  # of a scenario's time limit, kept for routing the upgraded design
MIN_UPGRADE_S = 1.0  # the upgrade solve gets at least this long (its starting design and bounds)

COLUMNS = (
    "scenario", "demand_scale", "failed_links", "failed_nodes", "n_dropped_demands",
    "status", "reason", "average_delay_s", "max_demand_delay_s", "max_utilization",
    "max_delay_s", "meets_max_delay",
    "upgrade_status", "upgrade_cost", "upgrade_lower_bound", "upgrade_gap", "modules_added",
    "upgraded_average_delay_s", "upgraded_max_demand_delay_s", "upgraded_max_utilization",
    "upgrade_reason", "solve_time_s",
)
_METRICS = ("average_delay_s", "max_demand_delay_s", "max_utilization")


@dataclass(frozen=True)
class WhatIfOptions:
    """Settings of a what-if sweep (from a ``modular-capacity`` model card).

    Attributes
    ----------
    max_delay_s : float or "installed"
        T_max in seconds, or the delay of the base installed network.
    max_utilization : float
        Utilisation limit of every link in the upgraded design.
    include_fixed_delay : bool
        T includes propagation and processing delays.
    mip_gap, time_limit_s : float
        Relative MIP gap of each scenario's upgrade, and the time limit (s) of each scenario
        (routing, upgrade and the upgraded routing); it also bounds each min-delay routing solve.
    max_added_capacity : float, optional
        Largest capacity (rate unit) added to one link; None: twice the scenario's total demand.
    upgrades : bool
        Solve the upgrade MILP; False gives a fast sweep of the installed network only.
    routing_gap : float
        Certified relative gap of the min-delay routing solves.
    """

    max_delay_s: float | str = "installed"
    max_utilization: float = 1.0
    include_fixed_delay: bool = True
    mip_gap: float = 0.01
    time_limit_s: float = 600.0
    max_added_capacity: float | None = None
    upgrades: bool = True
    routing_gap: float = ROUTING_GAP

    @classmethod
    def from_card(cls, card: ModelCard, *, time_limit_s: float | None = None,
                  upgrades: bool = True) -> "WhatIfOptions":
        """Options of a ``modular-capacity`` card; ``time_limit_s`` overrides the card's.

        The installed capacities are always kept (``capacity.keep_installed`` is not read): a
        what-if prices upgrades of the network that exists.

        Raises
        ------
        InvalidInputError
            A card of another problem, or one that does not minimise cost.
        """
        if card.problem != CARD_PROBLEM:
            raise InvalidInputError(f"{card.source}: whatif needs a {CARD_PROBLEM!r} card, "
                                    f"got problem {card.problem!r}")
        if card.get("objective.sense") != "min-cost":
            raise InvalidInputError(f"{card.source}: whatif finds the cheapest upgrade: objective.sense "
                                    f"must be 'min-cost', got {card.get('objective.sense')!r}")
        if time_limit_s is not None and not time_limit_s > 0:
            raise InvalidInputError(f"--time-limit must be > 0 s, got {time_limit_s!r}")
        added = card.get("capacity.max_added_capacity")
        return cls(max_delay_s=card.get("constraints.max_delay_s"),
                   max_utilization=card.get("constraints.max_utilization"),
                   include_fixed_delay=card.get("objective.include_fixed_delay"),
                   mip_gap=card.get("solver.mip_gap"),
                   time_limit_s=card.get("solver.time_limit_s") if time_limit_s is None else time_limit_s,
                   max_added_capacity=None if added == "auto" else added, upgrades=upgrades)


def resolve_max_delay(network: Network, options: WhatIfOptions) -> float:
    """T_max in seconds: the card's number, or the base network's installed delay.

    Raises
    ------
    InvalidInputError
        A number that is not > 0, or ``"installed"`` when the base network cannot be routed.
    """
    if options.max_delay_s != "installed":
        if not options.max_delay_s > 0:
            raise InvalidInputError(f"constraints.max_delay_s must be > 0 s, got {options.max_delay_s!r}")
        return float(options.max_delay_s)
    try:  # the same computation as the intact scenario's, so that scenario meets T_max exactly
        return _routing_metrics(network, options)["average_delay_s"]
    except InfeasibleError as exc:
        raise InvalidInputError(f"constraints.max_delay_s = 'installed': the base network "
                                f"{network.name!r} cannot be routed ({exc}); give T_max in seconds "
                                "(--set constraints.max_delay_s=SECONDS)") from None


def _routing_metrics(network: Network, options: WhatIfOptions, link_capacity=None) -> dict[str, float]:
    """Min-delay routing on ``link_capacity`` (default installed): T, worst demand delay, max ρ."""
    capacity = network.link_capacity if link_capacity is None else link_capacity
    result = min_delay_on_support(network, capacity, gap=options.routing_gap, time_limit_s=options.time_limit_s,
                                  include_fixed_delay=options.include_fixed_delay)
    metrics = evaluate_design(network, result.design, include_fixed_delay=options.include_fixed_delay)
    return {"average_delay_s": metrics.average_delay_s,
            "max_demand_delay_s": float(metrics.demand_worst_delay_s.max()),
            "max_utilization": metrics.max_utilization}


def _upgrade(network: Network, max_delay_s: float, options: WhatIfOptions, time_limit_s: float,
             start: dict[str, float]) -> dict[str, Any]:
    """The cheapest modules that bring T to at most ``max_delay_s``, and the upgraded routing;
    the upgrade solve gets ``time_limit_s``, its greedy module addition starts from the
    capacities ``start`` (link id → rate unit; other links installed)."""
    from topo_opt.solve.modular_capacity import solve_modular_capacity

    begin = np.asarray([max(start.get(link.id, 0.0), link.capacity) for link in network.links])
    try:
        result = solve_modular_capacity(
            network, sense="min-cost", max_delay_s=max_delay_s, max_utilization=options.max_utilization,
            include_fixed_delay=options.include_fixed_delay, mip_gap=options.mip_gap,
            time_limit_s=time_limit_s, keep_installed=True,
            max_added_capacity=options.max_added_capacity, start_capacity=begin if start else None)
    except InfeasibleError as exc:
        return {"upgrade_status": "infeasible", "upgrade_reason": str(exc)}
    record = {"upgrade_status": result.status.value, "upgrade_cost": result.objective,
              "upgrade_lower_bound": result.lower_bound, "upgrade_gap": result.gap,
              "modules_added": list(result.details.get("modules_added", [])),
              "upgrade_reason": result.message}
    if result.design is not None:
        upgraded = _routing_metrics(network, options, result.design.link_capacity)
        record.update({f"upgraded_{key}": value for key, value in upgraded.items()})
    return record


def evaluate_scenario(network: Network, scenario: Scenario, max_delay_s: float,
                      options: WhatIfOptions, start: dict[str, float] | None = None) -> dict[str, Any]:
    """One record (keys :data:`COLUMNS`) for ``scenario`` applied to ``network``.

    A scenario that disconnects a demand or saturates a cut is a record with ``status``
    ``"infeasible"`` and the reason, not an exception; its upgrade is still sought when a cut
    is saturated (more capacity can fix that), not when a demand is disconnected.  The whole
    record takes about ``options.time_limit_s``: the upgrade solve gets what the routing of the
    scenario left, less ``ROUTING_SHARE`` for routing the upgraded design.  ``start`` (link id →
    capacity, e.g. a smaller scenario's upgrade) is where the upgrade's greedy addition starts.

    Raises
    ------
    InvalidInputError
        The scenario names an unknown element.
    """
    began = time.perf_counter()
    net = apply_scenario(network, scenario)
    dropped = net.metadata.get("scenario", {}).get("dropped_demands", [])
    record: dict[str, Any] = {key: None for key in COLUMNS}
    record.update(scenario=scenario.name, demand_scale=scenario.demand_scale,
                  failed_links=list(scenario.failed_links), failed_nodes=list(scenario.failed_nodes),
                  n_dropped_demands=len(dropped), max_delay_s=max_delay_s, modules_added=[])
    if net.n_demands == 0:
        record.update(status="no_demands", reason="every demand starts or ends at a failed node",
                      upgrade_status="not_needed", upgrade_cost=0.0,
                      solve_time_s=time.perf_counter() - began)
        return record
    disconnected = False
    try:
        record.update(status="feasible", **_routing_metrics(net, options))
    except InfeasibleError as exc:
        record.update(status="infeasible", reason=str(exc))
        disconnected = exc.details.get("reason") == "unreachable"
    record["meets_max_delay"] = record["status"] == "feasible" and record["average_delay_s"] <= max_delay_s
    if record["meets_max_delay"] and record["max_utilization"] <= options.max_utilization:
        record.update({f"upgraded_{key}": record[key] for key in _METRICS},
                      upgrade_status="not_needed", upgrade_cost=0.0, upgrade_lower_bound=0.0, upgrade_gap=0.0)
    elif disconnected:
        record.update(upgrade_status="infeasible",
                      upgrade_reason="modules on the remaining links cannot reconnect the unreachable demands")
    elif options.upgrades:
        left = options.time_limit_s * (1 - ROUTING_SHARE) - (time.perf_counter() - began)
        record.update(_upgrade(net, max_delay_s, options, max(left, MIN_UPGRADE_S), start or {}))
    else:
        record["upgrade_status"] = "skipped"
    record["solve_time_s"] = time.perf_counter() - began
    return record


def _added_capacity(network: Network, modules: list[dict]) -> dict[str, float]:
    """Installed plus added capacity per upgraded link id (rate unit), from ``modules_added``."""
    installed = {link.id: link.capacity for link in network.links}
    out: dict[str, float] = {}
    for row in modules:
        out[row["link"]] = out.get(row["link"], installed[row["link"]]) + row["count"] * row["module_capacity"]
    return out


@dataclass(frozen=True)
class WhatIfResult:
    """A sweep: T_max used for every scenario (s), the options and one record per scenario."""

    network_name: str
    max_delay_s: float
    options: WhatIfOptions
    records: list[dict[str, Any]]


def run_whatif(network: Network, scenarios: Sequence[Scenario], options: WhatIfOptions,
               progress: Callable[[dict[str, Any]], None] | None = None) -> WhatIfResult:
    """Evaluate every scenario (see the module docstring).

    Parameters
    ----------
    network : Network
        The base network (no growth, no failure).
    scenarios : sequence of Scenario
        E.g. from :func:`~topo_opt.model.scenarios.scenario_grid`.
    options : WhatIfOptions
    progress : callable, optional
        Called with each record as soon as it is computed.

    Raises
    ------
    InvalidInputError
        No demands or no links, ``"installed"`` T_max on a base network that cannot be routed, or a
        scenario naming an unknown element.
    SolveInterrupted
        On Ctrl-C during the scenarios; ``partial`` is the :class:`WhatIfResult` of the
        finished ones.
    """
    check_routable(network)
    max_delay_s = resolve_max_delay(network, options)
    records: list[dict[str, Any]] = []
    upgraded: dict[tuple, dict[str, float]] = {}  # per failure set: the last upgrade's added capacity
    try:
        for scenario in scenarios:
            failures = (scenario.failed_links, scenario.failed_nodes)
            records.append(evaluate_scenario(network, scenario, max_delay_s, options, upgraded.get(failures)))
            added = _added_capacity(network, records[-1]["modules_added"])
            if added:
                upgraded[failures] = added
            if progress is not None:
                progress(records[-1])
    except KeyboardInterrupt:
        raise SolveInterrupted(WhatIfResult(network.name, max_delay_s, options, records)) from None
    return WhatIfResult(network.name, max_delay_s, options, records)
