"""Run the problem a model card names on a network: the front door of every solve.

Like ``networkx.maximum_flow(..., flow_func=...)``, the card's ``solver.method`` picks the
algorithm; ``auto`` resolves to the fastest method that reaches the requested gap and the result
names the method that ran.
"""
from __future__ import annotations

import math
import time
from typing import Callable

from topo_opt.algorithms import baselines
from topo_opt.algorithms.objective import DelayObjective
from topo_opt.errors import InvalidInputError
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.solve.cards import ModelCard
from topo_opt.solve.result import SolveResult, Status

Callback = Callable[[dict], None]

# Path-based gradient projection reaches 1e-6 certified gaps faster than the HiGHS cutting-plane
# method on every instance measured (BENCHMARKS.md), from 25 to 2,500 nodes.
AUTO_MIN_DELAY_METHOD = "gradient_projection"

_BASELINE_RULES = {
    "min-hop": baselines.min_hop_routing,
    "shortest-length": baselines.shortest_length_routing,
    "ecmp": baselines.ecmp_routing,
}


def _min_delay(network: Network, card: ModelCard, callback: Callback | None) -> SolveResult:
    method = card.get("solver.method")
    if method == "auto":
        method = AUTO_MIN_DELAY_METHOD
    if method == "gradient_projection":
        from topo_opt.algorithms.gradient_projection import solve_min_delay_gp as run
    elif method == "flow_deviation":
        from topo_opt.algorithms.flow_deviation import solve_min_delay_fd as run
    else:
        from topo_opt.solve.outer_approximation import solve_min_delay_cuts as run
    include = card.get("objective.include_fixed_delay")
    result = run(network, gap=card.get("solver.gap"), time_limit_s=card.get("solver.time_limit_s"),
                 max_iterations=card.get("solver.max_iterations"), include_fixed_delay=include,
                 callback=callback)
    result.details["include_fixed_delay"] = include
    return result


def _routing_baseline(network: Network, card: ModelCard) -> SolveResult:
    rule = card.get("routing.rule")
    start = time.perf_counter()
    design = Design.for_network(network, _BASELINE_RULES[rule](network))
    delay = DelayObjective.for_network(network).value(design.arc_flow(network))
    message = "" if math.isfinite(delay) else \
        "the routing saturates at least one link: its M/M/1 delay is unbounded"
    return SolveResult(Status.FEASIBLE, f"baseline:{rule}", "average_delay_s", "s",
                       objective=delay if math.isfinite(delay) else math.nan, design=design,
                       solve_time_s=time.perf_counter() - start, message=message,
                       details={"lower_bound_source": "none (fixed routing rule)"})


def solve(network: Network, card: ModelCard, callback: Callback | None = None) -> SolveResult:
    """Solve the problem named by ``card`` on ``network``.

    Raises
    ------
    InvalidInputError
        When the instance has no demands.
    InfeasibleError
        When the problem has no feasible design (the reason names the saturated cut).
    """
    if network.n_demands == 0:
        raise InvalidInputError(f"instance {network.name!r} has no demands: add them with "
                                "`topo-opt convert --gravity TOTAL` or `--uniform RATE`")
    if card.problem == "min-delay":
        return _min_delay(network, card, callback)
    if card.problem == "routing-baseline":
        return _routing_baseline(network, card)
    from topo_opt.solve import lp_methods

    run = {"min-max-utilization": lp_methods.solve_max_utilization,
           "min-hop": lp_methods.solve_min_hop,
           "fortz-thorup": lp_methods.solve_fortz_thorup}[card.problem]
    return run(network, time_limit_s=card.get("solver.time_limit_s"))
