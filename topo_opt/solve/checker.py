"""The card checker: a solve result against every constraint of its model card.

:func:`check_card` runs the design and number checks of
:func:`~topo_opt.evaluators.design_check.check_result` (conservation, capacities, on/off states,
objective and bound recomputed from the design) and adds the constraints of the model card (utilisation cap, average and
per-demand delay bounds, power states and power, security bounds); ``topo_opt.solve.dispatch.solve``
runs it on every result before it is reported, and a design it rejects is never a success.
"""
from __future__ import annotations

import math

import numpy as np

from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.design_check import check_result, overloaded_links
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult
from topo_opt.solve.cards import ModelCard, card_network, card_power_profiles

#: Problems without a capacity constraint: min max-utilisation (U* ≥ 1 is its answer that no
#: routing fits) and fixed routing rules; an overload is flagged (``details["overloaded"]``).
CAPACITY_FREE_PROBLEMS = ("min-max-utilization", "routing-baseline")
#: Relative tolerance on the card's bounds (delay, utilisation): the solvers meet them up to rounding.
BOUND_RTOL = 1e-6


def check_card(network: Network, card: ModelCard, result: SolveResult) -> list[str]:
    """Violations of every constraint of ``card`` by ``result`` (empty: the design meets its card).

    :func:`check_result` (conservation, capacities, on/off states, objective, bound), with the
    card's power profiles (power recomputed) and security tolerances (path rejection ≤ R), and:

    * utilisation cap u of the card (``constraints.max_utilization``): F_q ≤ u C_q on every queue;
    * average delay bound: T(F) ≤ ``details["max_delay_s"]`` when the result has one;
    * per-demand delay bound: every used path's delay ≤ ``details["max_demand_delay_bound_s"]``.

    Bounds are met up to :data:`BOUND_RTOL` (relative).
    """
    security = None
    if card.problem == "secure-min-delay":
        network, security = card_network(network, card), card.get("security.tolerance")
    problems = check_result(network, result, power=card_power_profiles(network, card), security=security,
                            capacity=card.problem not in CAPACITY_FREE_PROBLEMS)
    if result.design is None or problems:
        return problems
    design, details = result.design, result.details
    flow = design.arc_flow(network)
    cap = card.sections.get("constraints", {}).get("max_utilization")
    if cap is not None:
        load, capacity = network.queue_load(flow), network.queue_capacity(design.link_capacity)
        over = np.flatnonzero(load > cap * capacity * (1 + BOUND_RTOL) + 1e-12 * max(1.0, network.total_demand))
        if over.size:
            q = int(over[0])
            problems.append(f"link {network.links[network.queue_link[q]].id!r}: load {load[q]:.6g} above "
                            f"{cap:g} × capacity {capacity[q]:.6g} {network.rate_unit} (utilisation cap)")
    include = details.get("include_fixed_delay", True)
    bound = details.get("max_delay_s")
    if isinstance(bound, (int, float)) and math.isfinite(bound):
        delay = DelayObjective.for_network(network, design.link_capacity, include).value(flow)
        if not delay <= bound * (1 + BOUND_RTOL):
            problems.append(f"average delay {delay:.9g} s above the bound {bound:.9g} s")
    bound = details.get("max_demand_delay_bound_s")
    if isinstance(bound, (int, float)) and math.isfinite(bound):
        worst = evaluate_design(network, design, include_fixed_delay=include).demand_worst_delay_s
        bad = np.flatnonzero(~(worst <= bound * (1 + BOUND_RTOL)))
        if bad.size:
            k = int(bad[0])
            problems.append(f"demand {network.demands[k].id!r}: delay {worst[k]:.9g} s above the per-demand "
                            f"bound {bound:.9g} s ({bad.size} demands)")
    return problems


def flag_overload(network: Network, result: SolveResult) -> None:
    """Mark a result whose design loads some link to its capacity or beyond.

    Methods that route without capacity constraints (routing rules), or within ``F ≤ C``
    (min-hop, Fortz–Thorup) or minimising U (which may end at U* ≥ 1) can return such a
    design; its status says how the method ended, not that the network copes.  Sets
    ``details["overloaded"]`` (bool), and when True ``details["overloaded_links"]`` (ids, most
    loaded first), ``details["overload_max_utilization"]`` and a message that starts with
    ``overloaded:``.
    """
    if result.design is None:
        return
    links, top = overloaded_links(network, result.design)
    result.details["overloaded"] = bool(links)
    if not links:
        return
    shown = ", ".join(repr(i) for i in links[:5]) + (f" (+{len(links) - 5} more)" if len(links) > 5 else "")
    result.details["overloaded_links"] = links
    result.details["overload_max_utilization"] = top
    text = (f"overloaded: {len(links)} link{'s' if len(links) > 1 else ''} at or above capacity "
            f"(max utilisation {top:.6g}): {shown}; their queues have no steady state")
    result.message = f"{text}; {result.message}" if result.message else text
