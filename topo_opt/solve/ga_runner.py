"""Run the genetic algorithm from a model card (``problem = "ga"``, ``models/ga.toml``).

Builds the fitness the card names, its overload penalty and, when asked, the lower bound, then
calls :func:`topo_opt.algorithms.genetic.run_ga`.  For the delay, the splittable optimum's
certified lower bound (gradient projection) bounds every single-path routing, so the GA's gap
is meaningful; it is computed before the GA starts and its time is counted in the result.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.algorithms.ga_fitness import (
    CompositeFitness, DelayFitness, PopulationFitness, PowerFitness, RejectionFitness,
)
from topo_opt.algorithms.genetic import GAOptions, run_ga
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.composite import CompositeWeights
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult
from topo_opt.solve.cards import ModelCard, card_power_profiles

FITNESSES = ("delay", "power", "rejection", "composite")


def ga_options(card: ModelCard, **changes) -> GAOptions:
    """The :class:`GAOptions` of a card's ``[ga]`` section and ``solver.time_limit_s``."""
    values = dict(card.sections["ga"])
    values["time_limit_s"] = card.get("solver.time_limit_s")
    values.update(changes)
    return GAOptions(**values)


def build_fitness(network: Network, card: ModelCard) -> PopulationFitness:
    """The fitness of ``objective.name`` with its penalty scaled to the min-hop routing's value.

    ``penalty = objective.overload_penalty · |value of min-hop|`` (or the bare factor when that
    value is 0 or infinite), so that a relative overload of 1 costs that many min-hop designs.
    """
    name = card.get("objective.name")
    capacity = network.queue_capacity()
    if name == "delay":
        return DelayFitness(network, capacity, include_fixed_delay=card.get("objective.include_fixed_delay"))
    profiles = card_power_profiles(network, card)
    if name == "power":
        fitness = PowerFitness(network, capacity, profiles=profiles)
    elif name == "rejection":
        fitness = RejectionFitness(network, capacity)
    else:
        fitness = CompositeFitness(network, capacity, profiles=profiles, weights=CompositeWeights(
            rejection=card.get("composite.rejection"), delay=card.get("composite.delay"),
            energy=card.get("composite.energy")))
    hop = min_hop_routing(network)
    flow = hop.arc_flow(network.demand_rate, network.n_arcs)[None, :]
    if fitness.needs_routings:
        fitness.set_routings([hop])
    cost = fitness.path_cost(hop)
    reference = float(fitness.evaluate(flow, np.array([0.0 if cost is None else cost.sum()]))[0][0])
    factor = card.get("objective.overload_penalty")
    fitness.penalty = factor * abs(reference) if math.isfinite(reference) and reference else factor
    return fitness


def solve_ga(network: Network, card: ModelCard, callback: Callable[[dict], None] | None = None,
             **option_changes) -> SolveResult:
    """Run the GA of ``card`` on ``network`` (``option_changes`` override ``[ga]`` keys, e.g. seed).

    (``solver.method = "exact"`` with ``objective.name = "composite"`` is the old spelling of the
    ``composite-goal`` card, which :func:`~topo_opt.solve.cards.load_card` reads as that card.)

    Raises
    ------
    InvalidInputError
        ``solver.method = "exact"`` with another objective (their exact methods have their own
        cards: min-delay, earp-min-power).
    """
    start = time.perf_counter()
    if card.get("solver.method") == "exact":
        raise InvalidInputError(f"{card.source}: solver.method = \"exact\" is implemented for objective.name "
                                f"= \"composite\" (the composite-goal card), got {card.get('objective.name')!r} "
                                "(exact delay: the min-delay card; exact power: earp-min-power)")
    fitness = build_fitness(network, card)
    options = ga_options(card, **option_changes)
    bound, source = -math.inf, "none"
    if card.get("objective.name") == "delay" and card.get("objective.lower_bound") == "splittable":
        splittable = solve_min_delay_gp(network, gap=1e-6, time_limit_s=options.time_limit_s,
                                        include_fixed_delay=fitness.include_fixed_delay)
        bound, source = splittable.lower_bound, "splittable optimum (gradient projection)"
    if options.time_limit_s is not None:
        options = replace(options, time_limit_s=max(options.time_limit_s - (time.perf_counter() - start), 0.0))
    result = run_ga(network, fitness, options, lower_bound=bound, lower_bound_source=source,
                    callback=callback)
    result.solve_time_s = time.perf_counter() - start
    if isinstance(fitness, DelayFitness):
        result.details["include_fixed_delay"] = fitness.include_fixed_delay
    return result
