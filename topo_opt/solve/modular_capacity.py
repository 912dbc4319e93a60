"""Modular capacity and topology design (TCFA) by MILP with refined tangent cuts.

Each round solves the MILP of :mod:`topo_opt.formulations.modular_capacity_milp` with HiGHS, then
checks the capacities it chose with certified min-delay routing
(:func:`~topo_opt.algorithms.support_routing.min_delay_on_support`), which gives the true delay
T(C) of the design up to the routing gap:

* ``min-cost`` (T ≤ T_max): a design whose routed delay meets T_max is feasible and its cost an
  upper bound; the MILP's dual bound is a lower bound (its cuts only under-estimate the delay).
  A design that misses T_max gets tangent cuts at the MILP's and the routing's queue loads on
  its levels, and, when the routing's *lower bound* already exceeds T_max (the capacities are
  proven too small), a capacity cover cut (some link must grow).  Stops when a feasible design
  is within ``mip_gap`` of the bound.
* ``min-delay`` (cost ≤ budget): the routed delay of each design is an upper bound and the MILP
  value a lower bound; cuts at the routing's loads close the gap (outer approximation, Duran
  and Grossmann 1986).

The levels (module combinations per link, :func:`~topo_opt.model.costs.capacity_levels`) go up
to ``max_added_capacity`` (default twice the total demand).  A link with many combinations keeps
a thinned list (named in ``details``): the designs are over the listed levels, but the reported
lower bound is over *every* combination, from the MILP with each listed level priced at the
cheapest combination it dominates (``CapacityLevels.bound_cost``), a relaxation of the full
problem.  For ``min-cost`` that is the loop's own MILP (one branch and bound gives the bound and
proposes designs, each priced at its true cost), after the neighbourhood search; for
``min-delay`` it is one more solve after the loop (the budget row's prices change what is
feasible), whose loop bound over the listed levels alone is ``details["listed_levels_bound"]``,
and a design optimal over the listed levels whose gap to the full bound exceeds ``mip_gap``
ends ``iteration_limit``.  ``keep_installed``
keeps the installed capacities and buys modules on top (upgrades); without it the design
starts from nothing and ``details["installed_cost"]`` prices the installed capacities with the
same modules, so the saving of a redesign can be read off.  Topology design adds the candidate
links (``installed = false``) with their fixed cost.

At planning scale: long level lists are focused on the continuous design for the same bound
(:func:`~topo_opt.model.costs.kept_levels`; the min-cost capacity LP when the delay bound is
slack, as in SNDlib's pure-cost problem, else CFA), rounded cut-set inequalities strengthen the bound
(:mod:`topo_opt.formulations.cut_sets`), and the cheapest starting design (rounded up, or levels
fitted to the continuous design's flows, :mod:`topo_opt.algorithms.level_knapsack`), improved by
greedy module removal (:mod:`topo_opt.algorithms.modular_descent`) and by levels fitted to its
own flows, is the first incumbent and HiGHS's MIP start in every round.

The time limit is one deadline, ``time_limit_s`` after the call, passed down to every phase.
The continuous design and the starting design (its checks after the first design that meets
T_max, greedy module addition and removal, the knapsack rounds, each check a min-delay routing
cut at the deadline) stop at (1 − ``FLOW_BOUND_SHARE``) of the limit; the flow-cost LP gets the
time left, at least ``FLOW_BOUND_SHARE`` of the limit and ``FLOW_BOUND_MIN_S``, and the detour
bound (:mod:`topo_opt.algorithms.detour_bound`) as much again at most; the
neighbourhood search's windows, checks and repairs stop at the end of its share, the MILP
rounds at the limit.  A phase cut by the deadline keeps its best design so far.  What may run
past the limit: the model build, the checks up to the first starting design that meets T_max
(there is always a design to report), the flow-cost LP's and the detour bound's floors, HiGHS's own overrun of its
time limit (≤ 1 s on 50-node networks), and the check of the last MILP round's design when it
is cheaper than the incumbent (the answer is certified).  The descent's checks stop once they decide
T_max, so a ``min-cost`` answer is routed again for its least delay in the time left
(:func:`_with_least_delay`; at the limit it keeps the routing that proved it).  Ctrl-C in the
starting design or the search ends the solve with the best design so far (status ``interrupted``).
"""
from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from topo_opt.algorithms.capacity_flow_assignment import continuous_design, min_fixed_delay_s
from topo_opt.algorithms.detour_bound import detour_bound
from topo_opt.algorithms.flow_deviation import CertifiedProgress
from topo_opt.algorithms.greedy_upgrade import carrying_levels, greedy_upgrade
from topo_opt.algorithms.level_knapsack import cheapest_levels, level_packets
from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.algorithms.min_cost_routing import flow_cost_bound
from topo_opt.algorithms.modular_descent import check_budget, greedy_level_descent
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, demand_shortest_paths, require_no_bridge, shortest_path_forest, unreachable_demands, with_paths,
)
from topo_opt.algorithms.support_routing import decision_threshold, min_delay_on_support
from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted, TopoOptError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.cut_sets import add_cut_set_inequalities
from topo_opt.formulations.modular_capacity_milp import (
    add_capacity_cover_cut, add_level_cuts, build_modular_capacity_model,
)
from topo_opt.model.costs import CapacityLevels, capacity_levels, covering_levels, module_cost
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status, relative_gap
from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size
from topo_opt.solve.kelley import KelleyRun, run_kelley
from topo_opt.solve.modular_neighbourhood import neighbourhood_search
from topo_opt.solve.upgrade_bound import upgrade_bound

logger = logging.getLogger(__name__)
Callback = Callable[[dict], None]
ROUTING_GAP = 1e-7  # certified gap of the routing that checks each design
MAX_ROUNDS = 200
CHECK_GAP = 1e-4  # routing gap of the descent's checks (a design meets T_max if its routing's delay does)
UPGRADE_BOUND_SHARE = 0.5  # of the time left after the starting upgrade, for its bounds (solve/upgrade_bound.py)
#: ``min-delay`` with a thinned list: of the time limit, kept for the bound over every module
#: combination (a second solve, after the loop over the listed levels)
FULL_BOUND_SHARE = 0.5
#: Of the time limit, kept after the starting design for the flow-cost LP (≤ 0.6 s on 50-node
#: networks) and what follows: the starting design stops at (1 − FLOW_BOUND_SHARE) × the limit, and
#: the LP gets at least this share (and ``FLOW_BOUND_MIN_S``) whatever the time left: when the
#: limit is spent its bound is all there is
FLOW_BOUND_SHARE = 0.1
FLOW_BOUND_MIN_S = 1.0
#: Of the time left after the starting design, kept for the large-neighbourhood search
#: (:mod:`topo_opt.solve.modular_neighbourhood`) before the MILP over every link starts from its
#: design; only for ``min-cost`` with a thinned level list (on abilene the search took 24 s where
#: the MILP proves optimality in 2 s; on 17–50-node networks it found little, benchmarks/BENCHMARKS.md)
NEIGHBOURHOOD_SHARE = 0.25
REPAIR_LIMIT_S = 10.0  # the check budget of one repair descent is that of a 10-s solve
KNAPSACK_ROUNDS = 20  # knapsack / re-routing alternations of the starting design


def installed_delay_s(network: Network, include_fixed_delay: bool = True) -> float:
    """Delay of the installed network under certified min-delay routing (the default T_max)."""
    return min_delay_on_support(network, network.link_capacity, gap=ROUTING_GAP,
                                include_fixed_delay=include_fixed_delay).objective


@dataclass
class _Routed:
    """A design's capacities routed in one scenario: the design (None if it cannot carry the
    demands), its true delay T(F, C) and a lower bound on the least delay of those capacities
    (None when the utilisation cap makes the routing's bound inapplicable)."""

    design: Design | None
    delay_s: float
    delay_bound_s: float | None
    reason: str = ""


def _route(network: Network, capacity: np.ndarray, failed: int | None, max_utilization: float,
           include_fixed_delay: bool, gap: float = ROUTING_GAP, start: Design | None = None,
           deadline: float | None = None, decide_at: float | None = None) -> _Routed:
    """Certified min-delay routing of ``capacity`` without link ``failed``, to the gap ``gap``
    or until ``deadline`` (a ``time.perf_counter()`` value; None: none), no other time limit:
    before the deadline, whether a design meets T_max does not depend on machine load.  A
    routing cut by the deadline gives its best routing's delay (an upper bound on the least
    delay, so a design it shows to meet T_max does) and its lower bound; a deadline already
    passed, or one that stops the search for a feasible routing, gives the undecided answer
    (no design, no bound).  ``start`` (a design of an earlier check) warm-starts the routing
    when its flows fit strictly within these capacities (it skips the search for a feasible
    start, most of a check's time near capacity); the start is chosen by the caller's
    deterministic rule, not by time.

    With a utilisation cap u < 1 the routing runs on u·C, so every load stays below u·C, and the
    delay is then evaluated with the true capacities C (it is at most the routed value).

    ``decide_at`` (T_max, s) asks only "does it meet T_max?": with u = 1 the routing stops as
    soon as that is proven (:func:`~topo_opt.algorithms.support_routing.decision_threshold`), so
    its delay is a witness's (≤ T_max) or above the proven bound, not the least delay; the
    checks whose loads feed tangent cuts or whose delay is reported route to ``gap``.
    """
    time_limit_s = None if deadline is None else deadline - time.perf_counter()
    if time_limit_s is not None and time_limit_s <= 0:
        return _Routed(None, math.inf, None, "time limit reached before the check")
    capacity = capacity.copy()
    if failed is not None:
        capacity[failed] = 0.0
    routing = None
    if start is not None:
        usable = capacity * max_utilization
        load = network.queue_load(start.arc_flow(network))
        if np.all(load < usable[network.queue_link] * (1 - 1e-9) + (load == 0)):
            routing = start.routing
    try:
        routed = min_delay_on_support(network, capacity * max_utilization, gap=gap, time_limit_s=time_limit_s,
                                      include_fixed_delay=include_fixed_delay, start=routing,
                                      threshold=decision_threshold(decide_at, max_utilization))
    except InfeasibleError as exc:
        return _Routed(None, math.inf, math.inf, str(exc))
    except TopoOptError as exc:  # feasibility undecided: nothing proven
        return _Routed(None, math.inf, None, str(exc))
    design = Design.for_network(network, routed.design.routing, link_capacity=capacity,
                                link_on=capacity > 0)
    if max_utilization == 1:
        return _Routed(design, routed.objective, routed.lower_bound)
    delay = DelayObjective.for_network(network, capacity, include_fixed_delay).value(design.arc_flow(network))
    return _Routed(design, delay, None)


def _route_levels(network: Network, levels: CapacityLevels, picked: np.ndarray, failed_links: tuple,
                  max_utilization: float, include_fixed_delay: bool, gap: float = ROUTING_GAP,
                  start: Design | None = None, deadline: float | None = None,
                  decide_at: float | None = None) -> list[_Routed]:
    """:func:`_route` of the design of the levels ``picked`` in every scenario (``failed_links``,
    None for the intact network) by ``deadline``, ``start`` warm-starting the intact one."""
    capacity = levels.link_capacity(picked, network.n_links)
    return [_route(network, capacity, failed, max_utilization, include_fixed_delay, gap,
                   start if failed is None else None, deadline, decide_at) for failed in failed_links]


def _upgrade_route(network: Network, levels: CapacityLevels, max_delay_s: float, max_utilization: float,
                   include_fixed_delay: bool, deadline: float | None = None):
    """The ``route`` of :func:`~topo_opt.algorithms.greedy_upgrade.greedy_upgrade`: each design
    routed to ``CHECK_GAP`` by ``deadline`` or until it decides T_max (:func:`_route`'s
    ``decide_at``: the loads only rank the upgrades), warm-started from the one before
    (capacities only grow); past the deadline a design cannot be routed, which ends the greedy."""
    previous = [None]

    def route(picked: np.ndarray) -> tuple[bool, np.ndarray | None]:
        capacity = levels.link_capacity(picked, network.n_links)
        routed = _route(network, capacity, None, max_utilization, include_fixed_delay, CHECK_GAP, previous[0], deadline,
                        max_delay_s)
        if routed.design is None:
            return False, None
        previous[0] = routed.design
        return routed.delay_s <= max_delay_s, network.queue_load(routed.design.arc_flow(network))
    return route


def _level_cuts(network: Network, block, solver: HighsSolver, picked: np.ndarray,
                routed: _Routed) -> list:
    """Tangent cuts at the MILP's and the routing's loads on the chosen levels of ``block``."""
    queue, level = block.pairs
    chosen = np.flatnonzero(np.isin(level, picked))
    loads = solver.values(block.pair_flow)[chosen] * block.layout.flow_scale
    under = loads < block.levels.capacity[level[chosen]]
    cuts = add_level_cuts(block, chosen[under], loads[under])
    if routed.design is not None:
        routed_load = network.queue_load(routed.design.arc_flow(network))[queue[chosen]]
        fits = routed_load < block.levels.capacity[level[chosen]]
        cuts += add_level_cuts(block, chosen[fits], routed_load[fits])
    return cuts


@dataclass
class _Incumbent:
    """The cheapest design record meeting T_max found so far (``min-cost``): (design, levels
    picked, cost, delay_s, worst delay_s).  The starting heuristics offer each design they keep
    as they go, so that Ctrl-C in the middle of one leaves its last design."""

    cost: float = math.inf
    record: tuple | None = None

    def offer(self, record: tuple) -> None:
        if record[2] < self.cost:
            self.cost, self.record = record[2], record


@contextmanager
def _keeping(kept: _Incumbent, start: dict, phase: str) -> Iterator[None]:
    """Ctrl-C in ``phase`` (a starting heuristic or a bound before the MILP) ends it, and the solve
    then ends with the best design so far (``kept``), ``start["interrupted"]`` naming the
    phase; before any design it goes on as it came."""
    try:
        yield
    except KeyboardInterrupt:
        if kept.record is None:
            raise
        start["interrupted"] = phase


def _descend(network: Network, levels: CapacityLevels, best: tuple, failed_links: tuple, max_delay_s: float,
             max_utilization: float, include_fixed_delay: bool, time_limit_s: float, deadline: float,
             free_links: np.ndarray | None = None, kept: _Incumbent | None = None) -> tuple[float, tuple]:
    """Greedy module removal (:func:`~topo_opt.algorithms.modular_descent.greedy_level_descent`)
    from the starting design ``best``, at most ``check_budget`` checks for ``time_limit_s`` (a
    count, so the design does not depend on machine load) and until ``deadline`` (a
    ``time.perf_counter()`` value, which cuts the check in progress); returns its cost and the
    design record of the last step kept (``best`` itself when none was), each also offered to
    ``kept``.  ``free_links`` (link indices; default all) are the links that may step down.

    Without failure scenarios a step is first decided by :func:`_carried` (column generation
    from the last design's paths: a routing below capacity, or the proof that there is none);
    the min-delay check decides what it leaves open, and every step from the first routing it
    finds whose delay misses T_max on (a delay bound that binds: there the check is needed).
    Each min-delay check stops once it decides T_max (``decide_at``), so the record kept last
    carries a witness's routing and delay (:func:`_with_least_delay` routes the answer again)."""
    lists = [np.flatnonzero(levels.link == l) if free_links is None or l in free_links else np.asarray([i])
             for l, i in zip(np.unique(levels.link).tolist(), best[1].tolist())]
    position = np.asarray([int(np.flatnonzero(mine == i)[0]) for mine, i in zip(lists, best[1].tolist())])
    last = [best]  # the record of the last step kept; its design warm-starts the next check
    # off for good once a carrying routing misses T_max; with u < 1 the checks' rule (the
    # min-delay routing on u·C meets T_max) is not "some routing does", so off (as decision_threshold)
    carry_first = [failed_links == (None,) and max_utilization == 1]

    def meets(positions: np.ndarray) -> bool:
        picked = np.asarray([mine[p] for mine, p in zip(lists, positions.tolist())])
        routed = None
        if carry_first[0]:
            carried = _carried(network, levels.link_capacity(picked, network.n_links), last[0][0],
                               include_fixed_delay, deadline)
            missed = carried is not None and carried.design is not None and carried.delay_s > max_delay_s
            routed, carry_first[0] = (None if carried is None or missed else [carried]), not missed
        if routed is None:
            routed = _route_levels(network, levels, picked, failed_links, max_utilization, include_fixed_delay,
                                   CHECK_GAP, last[0][0], deadline, max_delay_s)
        worst = max(c.delay_s for c in routed)
        if worst > max_delay_s:
            return False
        last[0] = (routed[0].design, picked, float(levels.cost[picked].sum()), routed[0].delay_s, worst)
        if kept is not None:
            kept.offer(last[0])
        return True

    greedy_level_descent(lists, levels.cost, position, meets, max_checks=check_budget(len(lists), time_limit_s),
                         deadline=deadline)
    return last[0][2], last[0]


def _with_least_delay(network: Network, levels: CapacityLevels, record: tuple, failed_links: tuple,
                      max_utilization: float, include_fixed_delay: bool, deadline: float) -> tuple[tuple, bool]:
    """``record`` with its design routed again to ``CHECK_GAP`` (every scenario, the intact one
    warm from the record's routing) by ``deadline``: a design kept by :func:`_descend` carries a
    witness's routing (column generation's, or a check's that stopped once it decided T_max),
    whose delay is above the least; the answer gets its least delay here, in the time the solve
    has left, not in the start's (pioro40's pure-cost descent design took 89 s to route to the
    gap, and the deadline cut it).  ``record`` itself when no routing of less delay is found in
    time (one cut by the deadline gives its best routing so far).  Also whether the intact
    network's delay is proven within ``CHECK_GAP`` of its least (the routing reached its gap)."""
    routed = _route_levels(network, levels, record[1], failed_links, max_utilization, include_fixed_delay,
                           CHECK_GAP, record[0], deadline)
    intact = routed[0]
    least = intact.design is not None and intact.delay_bound_s is not None \
        and intact.delay_s - intact.delay_bound_s <= CHECK_GAP * intact.delay_s
    worst = max(r.delay_s for r in routed)
    if intact.design is None or intact.delay_s > record[3] or worst > record[4]:
        return record, least  # the record's delay is no larger: as close to the least
    return (intact.design, record[1], record[2], intact.delay_s, worst), least


def _carried(network: Network, capacity: np.ndarray, previous: Design, include_fixed_delay: bool,
             deadline: float) -> _Routed | None:
    """Whether ``capacity`` carries the demands (every queue below C; the descent asks it only
    without a utilisation cap, see :func:`_descend`), decided by column
    generation from the paths of ``previous``
    (:func:`~topo_opt.algorithms.max_concurrent_flow.find_feasible_flow`: the least max
    utilisation over these paths, priced-out paths added until decided), a step
    of a descent being a small change of the design before.  A routing found gives the design
    and its delay (an upper bound on the least delay: it meets T_max when this does); no
    routing (proven, or a demand without a path on the links with capacity) gives the design
    None with delay and bound inf; a demand whose paths all crossed a link now without
    capacity starts from its min-hop path.  None when it does not
    decide: floating point, or the ``deadline`` (a
    ``time.perf_counter()`` value; the routing check then decides, or stops there too).  On
    pioro40's pure-cost descent 0.03–1.3 s a step where min-delay checks took 1–11 s (one 91 s).
    """
    usable = capacity > 0
    usable_arc = usable[network.arc_link]
    paths = previous.routing
    usable_path = np.logical_and.reduceat(usable_arc[paths.arcs], paths.indptr[:-1])
    missing = np.flatnonzero(np.bincount(paths.demand[usable_path], minlength=network.n_demands) == 0)
    indptr, arcs = np.zeros(1, np.int64), np.zeros(0, np.int64)
    if missing.size:  # every path of these crossed a link now without capacity: their min-hop paths
        cut_off = unreachable_demands(network, usable_arc)
        if cut_off.size:
            return _Routed(None, math.inf, math.inf, f"{cut_off.size} demands have no path on the links with capacity")
        forest = shortest_path_forest(ArcGraph.from_network(network), np.where(usable_arc, 1.0, np.inf),
                                      network.demand_source)
        indptr, arcs = demand_shortest_paths(forest, network, missing)
    if deadline <= time.perf_counter():
        return None
    paths, _ = with_paths(paths, missing, indptr, arcs, keep=usable_path)
    try:
        found = find_feasible_flow(network, capacity, deadline - time.perf_counter(), paths=paths)
    except InfeasibleError as exc:
        return _Routed(None, math.inf, math.inf, str(exc))
    except TopoOptError:
        return None
    design = Design.for_network(network, found.routing, link_capacity=capacity, link_on=usable)
    delay = DelayObjective.for_network(network, capacity, include_fixed_delay).value(design.arc_flow(network))
    return _Routed(design, delay, None)


def _fitted_levels(network: Network, levels: CapacityLevels, routed: list[_Routed], max_delay_s: float,
                   max_utilization: float, include_fixed_delay: bool, deadline: float) -> np.ndarray | None:
    """The cheapest levels meeting T_max with the flows of ``routed`` (one routing per scenario)
    held fixed (:func:`~topo_opt.algorithms.level_knapsack.cheapest_levels`, by ``deadline``, a
    ``time.perf_counter()`` value); None if none, or none found in time."""
    remaining = deadline - time.perf_counter()
    if any(r.design is None for r in routed) or remaining <= 0:
        return None
    objective = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay)
    flows = [r.design.arc_flow(network) for r in routed]
    return cheapest_levels(levels, [level_packets(network, levels, network.queue_load(f), max_utilization)
                                    for f in flows],
                           [max_delay_s / objective.scale - float(objective.arc_linear_cost @ f) for f in flows],
                           time_limit_s=remaining)


def _rebalance(network: Network, levels: CapacityLevels, best: tuple, failed_links: tuple, max_delay_s: float,
               max_utilization: float, include_fixed_delay: bool, deadline: float,
               kept: _Incumbent | None = None) -> tuple[float, tuple]:
    """Alternate the levels fitted to the flows of the current design (:func:`_fitted_levels`)
    and min-delay routing on them, while the cost falls, at most ``KNAPSACK_ROUNDS`` times and
    until ``deadline`` (a ``time.perf_counter()`` value: knapsacks and checks stop there);
    returns the cost and design record of the last round kept (``best`` when none was), each
    also offered to ``kept``."""
    routed = _route_levels(network, levels, best[1], failed_links, max_utilization, include_fixed_delay,
                           CHECK_GAP, best[0], deadline)
    for _ in range(KNAPSACK_ROUNDS):
        new = _fitted_levels(network, levels, routed, max_delay_s, max_utilization, include_fixed_delay, deadline)
        if new is None or float(levels.cost[new].sum()) >= best[2] * (1 - 1e-9):
            break
        checks = _route_levels(network, levels, new, failed_links, max_utilization, include_fixed_delay,
                               CHECK_GAP, routed[0].design, deadline)
        worst = max(r.delay_s for r in checks)
        if any(r.design is None for r in checks) or worst > max_delay_s:
            break  # the deadline cut the check (else not expected: the flows fit and meet T_max)
        routed, best = checks, (checks[0].design, new, float(levels.cost[new].sum()), checks[0].delay_s, worst)
        if kept is not None:
            kept.offer(best)
    return best[2], best


def _starting_design(network: Network, levels: CapacityLevels, model, links: np.ndarray,
                     continuous: np.ndarray | None, binds: bool, max_delay_s: float, max_utilization: float,
                     include_fixed_delay: bool, keep_installed: bool, survivable: bool,
                     start_capacity: np.ndarray | None, cap: float, time_limit_s: float, deadline: float,
                     kept: _Incumbent, start: dict) -> None:
    """The ``min-cost`` starting design, into ``kept``, and the costs of its phases into ``start``.

    Starting designs: the continuous design and the installed capacities rounded up to levels
    (uncovered links at their largest level), the levels fitted to the flows of the continuous
    design (only when the delay bound binds, ``binds``: with a slack bound the knapsack fills
    links to F ≈ C, where routing degenerates, issue 18's pure-cost hang), then every link at
    its largest level (upgrades: greedy module addition first); the cheapest that meets T_max
    is improved by greedy module removal, then by levels fitted to its flows (:func:`_rebalance`).

    Everything stops at ``deadline`` (a ``time.perf_counter()`` value) except the checks of the
    starting designs up to the first that meets T_max: that first design is always found, and
    the largest levels are checked to the end when none does, to prove the problem infeasible.

    Raises
    ------
    InfeasibleError
        Even the largest levels are proven too small.
    """
    largest = levels.largest()
    rounded = [covering_levels(levels, capacity) for capacity in
               ([] if continuous is None else [continuous]) + [network.link_capacity]]
    fitted = None if not binds else _fitted_levels(
        network, levels, [_route(network, continuous, failed, max_utilization, include_fixed_delay, CHECK_GAP,
                                 deadline=deadline) for failed in model.failed_links],
        max_delay_s, max_utilization, include_fixed_delay, deadline)
    starts = [np.where(r >= 0, r, largest) for r in rounded] + ([] if fitted is None else [fitted]) + [largest]
    if keep_installed and not survivable:  # upgrades: greedy module addition first
        begin = None if start_capacity is None else covering_levels(levels, start_capacity)
        route = _upgrade_route(network, levels, max_delay_s, max_utilization, include_fixed_delay, deadline)
        added = greedy_upgrade(network, levels, route, check_budget(len(largest), time_limit_s),
                               None if begin is None else np.where(begin >= 0, begin, largest))
        if added is None:  # e.g. the installed network cannot carry the demands
            carrying = carrying_levels(network, levels, links, deadline - time.perf_counter())
            added = None if carrying is None else greedy_upgrade(
                network, levels, route, check_budget(len(largest), time_limit_s), carrying)
        starts = starts if added is None else [added] + starts
    for picked in starts:
        checks = _route_levels(network, levels, picked, model.failed_links, max_utilization, include_fixed_delay,
                               deadline=None if kept.record is None else deadline)
        worst = max(check.delay_s for check in checks)
        cost = float(levels.cost[picked].sum())
        if worst <= max_delay_s and cost < kept.cost:
            kept.offer((checks[0].design, picked, cost, checks[0].delay_s, worst))
            start["rounded_cost"] = cost
    proven = [check for check in checks if check.delay_bound_s is not None]  # of ``largest``
    if kept.record is None and proven and max(check.delay_bound_s for check in proven) > max_delay_s:
        reasons = [check.reason for check in proven if check.reason]
        raise InfeasibleError(
            f"even the largest capacity levels (modules up to {cap:.6g} {network.rate_unit} added per "
            f"link){' with a link failed' if survivable else ''} "
            + (f"cannot carry the demands: {reasons[0]}" if reasons else
               f"give T >= {max(check.delay_bound_s for check in proven):.6g} s > T_max = {max_delay_s:.6g} s"))
    if kept.record is not None:
        start["descent_cost"], best = _descend(network, levels, kept.record, model.failed_links, max_delay_s,
                                               max_utilization, include_fixed_delay, time_limit_s, deadline,
                                               kept=kept)
        if binds:
            start["knapsack_cost"], _ = _rebalance(network, levels, best, model.failed_links, max_delay_s,
                                                   max_utilization, include_fixed_delay, deadline, kept)
    if time.perf_counter() >= deadline:
        start["stopped_at_deadline"] = True


def _full_problem_bound(solver: HighsSolver, model, levels: CapacityLevels, sense: str, gamma: float,
                        start: np.ndarray | None, time_limit_s: float) -> tuple[float, bool]:
    """Bound over *every* module combination when level lists were thinned: the MILP with its
    cuts, each listed level priced at ``levels.bound_cost`` (in the objective, or in the budget
    row for ``min-delay``), a relaxation of the full problem (see
    :class:`~topo_opt.model.costs.CapacityLevels`).  The cuts stay valid: they bound the delay
    of capacities, whatever the prices.  Returns the bound (cost, or delay in s) and whether
    Ctrl-C stopped it.  Changes the prices in HiGHS: the last solve of ``solver``."""
    solver.change_coefficients(model.level_on, levels.bound_cost, None if sense == "min-cost" else model.budget)
    if start is not None:  # feasible here too: same capacities, no higher prices
        solver.set_start({model.level_on: np.isin(np.arange(len(levels.link)), start).astype(float)})
    try:
        outcome, stopped = solver.solve(time_limit_s=max(time_limit_s, 1.0)), False
    except SolveInterrupted as stop:
        outcome, stopped = stop.partial, True
    bound = outcome.bound if outcome.status is not Status.INFEASIBLE else math.inf
    return (bound / gamma if sense == "min-delay" else bound), stopped


def _listed(record: dict, valid_bound: float) -> dict:
    """A loop record with thinned level lists: its bound is over the listed levels only; the
    record's ``lower_bound`` and ``gap`` are those of ``valid_bound`` (over every combination)."""
    record = dict(record)
    record["listed_levels_bound"] = record["lower_bound"]
    record.update(lower_bound=valid_bound, gap=relative_gap(record["objective"], valid_bound))
    return record


def solve_modular_capacity(network: Network, *, sense: str = "min-cost", max_delay_s: float | None = None,
                           budget: float | None = None, max_utilization: float = 1.0,
                           include_fixed_delay: bool = True, mip_gap: float = 0.01,
                           time_limit_s: float = 600.0, keep_installed: bool = True,
                           topology: bool = False, survivable: bool = False,
                           max_added_capacity: float | None = None, start_capacity: np.ndarray | None = None,
                           callback: Callback | None = None) -> SolveResult:
    """Cheapest modules for a delay bound (``min-cost``) or least delay for a budget (``min-delay``).

    Parameters
    ----------
    max_delay_s : float
        T_max (s), ``min-cost`` only; None → the installed network's min-delay delay.
    budget : float
        Cost available for modules (and fixed costs), ``min-delay`` only.
    max_utilization : float
        Upper bound u on every queue's utilisation F/C (0 < u ≤ 1).
    keep_installed : bool
        Keep installed capacities and add modules (upgrades), or design from nothing.
    topology : bool
        Also consider the candidate links (``installed = false``), with their fixed cost.
    survivable : bool
        ``min-cost`` only: T ≤ T_max also after any single link failure (each failure is routed
        again, with the capacities of the design).
    start_capacity : ndarray, optional
        Upgrades (``min-cost``, ``keep_installed``): per link, the capacities rounded up to
        levels where greedy module addition starts (e.g. a smaller scenario's upgrade; default
        the installed capacities).

    Raises
    ------
    InvalidInputError
        Bad parameters (negative budget, utilisation outside (0, 1], no levels).
    InfeasibleError
        No choice of levels meets the bound (the reason says which part fails).
    """
    began = time.perf_counter()
    if sense not in ("min-cost", "min-delay"):
        raise InvalidInputError(f"sense must be min-cost or min-delay, got {sense!r}")
    if not 0 < max_utilization <= 1:
        raise InvalidInputError(f"max_utilization must be in (0, 1], got {max_utilization!r}")
    if sense == "min-delay" and not (budget is not None and budget >= 0):
        raise InvalidInputError(f"the min-delay form needs a budget >= 0, got {budget!r}")
    links = np.array([i for i, link in enumerate(network.links) if link.installed or topology], dtype=np.int64)
    cap = 2.0 * network.total_demand if max_added_capacity is None else max_added_capacity
    gamma = network.total_packet_rate
    if survivable:
        require_no_bridge(network, links)
    if sense == "min-cost":
        if max_delay_s is None:
            max_delay_s = installed_delay_s(network, include_fixed_delay)
        if not max_delay_s > 0:
            raise InvalidInputError(f"max_delay_s must be > 0, got {max_delay_s!r}")
        floor = min_fixed_delay_s(network, include_fixed_delay)
        if max_delay_s <= floor:
            raise InfeasibleError(f"T_max = {max_delay_s:.6g} s does not exceed {floor:.6g} s, the "
                                  "propagation and processing delay of the shortest routes")
    start_deadline = began + (1 - FLOW_BOUND_SHARE) * time_limit_s  # of the continuous and starting designs
    continuous, continuous_source = continuous_design(network, links, sense, max_delay_s, budget, include_fixed_delay,
                                                      start_deadline - time.perf_counter(), CHECK_GAP)
    # an upgrade's levels are focused on the installed capacities: single modules first, where
    # the cheap upgrades are (the continuous design is one from scratch)
    levels = capacity_levels(network, cap, keep_installed, links,
                             target_capacity=network.link_capacity if keep_installed else continuous)
    model = build_modular_capacity_model(
        network, levels, sense=sense, max_packets=None if max_delay_s is None else gamma * max_delay_s,
        budget=budget, max_utilization=max_utilization, include_fixed_delay=include_fixed_delay,
        failures=tuple(links.tolist()) if survivable else ())
    add_cut_set_inequalities(model, network, max_utilization=max_utilization, max_queue_packets=math.inf
                             if sense == "min-delay" else gamma * (max_delay_s - floor))
    solver = HighsSolver(model, HighsOptions(mip_rel_gap=mip_gap))
    kept = _Incumbent()
    start = {}
    if sense == "min-cost":
        with _keeping(kept, start, "starting design"):
            _starting_design(network, levels, model, links, continuous, continuous_source == "cfa", max_delay_s,
                             max_utilization, include_fixed_delay, keep_installed, survivable, start_capacity,
                             cap, time_limit_s, start_deadline, kept, start)
        start["time_s"] = time.perf_counter() - began
        logger.info("starting design: %s", start)
    best_value, best = kept.cost, kept.record
    thinned = bool(levels.truncated)
    # min-cost with thinned lists: after the search, the loop's MILP prices each listed level at
    # the cheapest combination it dominates, so its one bound is over every combination (its
    # designs are still priced at their true cost); min-delay keeps a separate bound solve
    bound_priced = thinned and sense == "min-cost"
    # valid over every combination, before the MILP: from scratch (with a delay bound) the larger
    # of the flow-cost and the detour bound, for upgrades the upgrade bound (below)
    flow_bound = -math.inf
    prior = {"flow_cost_bound": -math.inf, "detour_bound": -math.inf}
    if sense == "min-cost" and not keep_installed and "interrupted" not in start:
        with _keeping(kept, start, "flow-cost bound"):
            flow_bound = flow_cost_bound(network, levels, gamma * (max_delay_s - floor), max_utilization,
                                         max(time_limit_s - (time.perf_counter() - began),
                                             FLOW_BOUND_SHARE * time_limit_s, FLOW_BOUND_MIN_S))
            prior["flow_cost_bound"] = flow_bound = flow_bound if math.isfinite(flow_bound) else -math.inf
    if sense == "min-cost" and not keep_installed and "interrupted" not in start:
        with _keeping(kept, start, "detour bound"):
            prior["detour_bound"] = detour_bound(
                network, levels.unit_price(network.n_links), max_delay_s, include_fixed_delay,
                deadline=time.perf_counter() + max(FLOW_BOUND_SHARE * time_limit_s, FLOW_BOUND_MIN_S))
            flow_bound = max(flow_bound, prior["detour_bound"])
    loop_limit_s = time_limit_s * (1 - FULL_BOUND_SHARE) if thinned and not bound_priced else time_limit_s
    state = {"best_value": best_value, "best": best, "outcome": None}

    def start_from_best() -> None:  # the incumbent meets the true bound: feasible for every round's MILP
        if state["best"] is not None:
            solver.set_start({model.level_on: np.isin(np.arange(len(levels.link)), state["best"][1]).astype(float)})

    def master_bound(outcome) -> float:
        state["outcome"] = outcome
        return outcome.bound / gamma if sense == "min-delay" else max(outcome.bound, flow_bound)

    def check(picked: np.ndarray, gap: float = ROUTING_GAP, start: Design | None = None,
              deadline: float | None = None) -> tuple[tuple | None, list]:
        """Route the design of the levels ``picked`` (every scenario) to ``gap`` or ``deadline``: its
        record when it meets T_max (``min-cost``; any design for ``min-delay``), else None, and the
        routings.  The MILP's designs are checked without a deadline: the last round's design
        may be the answer, and an answer is certified."""
        checks = _route_levels(network, levels, picked, model.failed_links, max_utilization,
                               include_fixed_delay, gap, start, deadline)
        worst = max(check.delay_s for check in checks)
        record = (checks[0].design, picked, float(levels.cost[picked].sum()), checks[0].delay_s, worst)
        return (record if sense == "min-delay" or worst <= max_delay_s else None), checks

    def cuts_at(picked: np.ndarray, checks: list) -> list:
        """Tangents at the master's and the routings' loads; a cover cut for proven-too-small capacities."""
        capacity = levels.link_capacity(picked, network.n_links)
        new = [row for j, check in enumerate(checks)
               for row in _level_cuts(network, model.scenario[j], solver, picked, check)]
        if sense == "min-cost" and any(check.delay_bound_s is not None and check.delay_bound_s > max_delay_s
                                       for check in checks):
            new += add_capacity_cover_cut(model, capacity)
        solver.add_constraints(new)
        return new

    def incumbent() -> float:
        """Route the master's design (every scenario); keep it when it meets T_max and is better.
        Past the time limit a ``min-cost`` design no cheaper than the incumbent is not routed:
        the loop stops with this round and the check could not change the answer."""
        picked = np.flatnonzero(solver.values(model.level_on) > 0.5)
        if sense == "min-cost" and float(levels.cost[picked].sum()) >= state["best_value"] and progress.out_of_time():
            state.update(round={"design_delay_s": math.nan, "design_cost": float(levels.cost[picked].sum())})
            return state["best_value"]
        record, checks = check(picked)
        cost, delay = float(levels.cost[picked].sum()), checks[0].delay_s
        worst = max(check.delay_s for check in checks)
        value = cost if sense == "min-cost" else delay
        if record is not None and value < state["best_value"]:
            state["best_value"], state["best"] = value, record
        state.update(picked=picked, checks=checks, met=record is not None,
                     round={"design_delay_s": delay, "design_cost": cost})
        logger.info("round: cost %.6g, delay %.6g s (worst %.6g s), master bound %.6g",
                    cost, delay, worst, state["outcome"].bound)
        return state["best_value"]

    def cut() -> int:
        if bound_priced and state["met"]:  # the master's design meets T_max: it solved its own
            return 0  # problem (bound prices) to HiGHS's gap, and no cut can raise its bound
        new = cuts_at(state["picked"], state["checks"])
        start_from_best()
        return len(new)

    def report(record: dict) -> None:  # the driver's record of this round, kept in its history
        record.update(state["round"])
        if callback:
            callback(_listed(record, flow_bound) if thinned and not bound_priced else record)

    if sense == "min-cost" and keep_installed and not survivable and best is not None and "interrupted" not in start:
        with _keeping(kept, start, "upgrade bound"):
            # upgrades: bounds over every combination before the MILP, and the screen's designs
            bound_limit_s = UPGRADE_BOUND_SHARE * (time_limit_s - (time.perf_counter() - began))
            bound_deadline = time.perf_counter() + bound_limit_s
            pareto = capacity_levels(network, cap, keep_installed, links, thin=False)
            upgrade = upgrade_bound(network, levels, pareto, max_delay_s, gamma * (max_delay_s - floor), best,
                                    lambda picked, start: check(picked, CHECK_GAP, start, bound_deadline),
                                    max_utilization=max_utilization, include_fixed_delay=include_fixed_delay,
                                    time_limit_s=bound_limit_s)
            prior["flow_cost_bound"] = flow_bound = upgrade.bound  # the key as before: the bound before the MILP
            if upgrade.design is not None and upgrade.design[2] < best_value:
                best_value, best = upgrade.design[2], upgrade.design
                state.update(best_value=best_value, best=best)
            start["upgrade_bound"] = {**upgrade.parts, "source": upgrade.source,
                                      "time_s": time.perf_counter() - began}
    proven = sense == "min-cost" and relative_gap(best_value, flow_bound) <= mip_gap  # no MILP needed
    searched = []  # the neighbourhood search's records: each design it accepted
    if bound_priced and best is not None and not proven and "interrupted" not in start:
        def improved(record: dict) -> None:
            record.update(lower_bound=flow_bound, gap=relative_gap(record["objective"], flow_bound))
            searched.append(record)
            if callback:
                callback(record)

        def repair(picked: np.ndarray, incumbent: tuple) -> tuple | None:
            """Each link at the larger of its level in ``picked`` and in ``incumbent`` (meets
            T_max: no capacity below the incumbent's), then module removal on the links where
            ``picked`` has less capacity; the record when it is cheaper than ``incumbent``."""
            union = np.where(levels.capacity[picked] > levels.capacity[incumbent[1]], picked, incumbent[1])
            shrunk = levels.link[picked[levels.capacity[picked] < levels.capacity[incumbent[1]]]]
            record = (incumbent[0], union, float(levels.cost[union].sum()), incumbent[3], incumbent[4])
            cost, record = _descend(network, levels, record, model.failed_links, max_delay_s, max_utilization,
                                    include_fixed_delay, REPAIR_LIMIT_S, search_deadline, free_links=shrunk)
            return record if cost < incumbent[2] else None

        elapsed = time.perf_counter() - began
        search_s = elapsed + NEIGHBOURHOOD_SHARE * max(time_limit_s - elapsed, 0.0)
        search_deadline = began + search_s
        found = neighbourhood_search(network, model, solver, best, best_value,
                                     lambda picked: check(picked, deadline=search_deadline), cuts_at, repair,
                                     time_limit_s=search_s, start_s=began, on_improve=improved)
        best_value, best = found.cost, found.best
        state.update(best_value=best_value, best=best)
        start.update(neighbourhood_cost=best_value, neighbourhood_windows=found.windows,
                     neighbourhood_time_s=time.perf_counter() - began)
        if found.interrupted:
            start["interrupted"] = "neighbourhood search"
    if bound_priced:
        solver.change_coefficients(model.level_on, levels.bound_cost)
    start_from_best()
    progress = CertifiedProgress(mip_gap, loop_limit_s, MAX_ROUNDS, report, start_s=began)
    if "interrupted" in start:  # Ctrl-C in the starting design or the search
        run = KelleyRun(Status.INTERRUPTED, "interrupted (Ctrl-C): the best design so far", 0, -math.inf, 0, 0)
    elif proven:
        run = KelleyRun(Status.OPTIMAL, "", 0, flow_bound, 0, 0)
    elif time.perf_counter() - began >= time_limit_s:  # the starting design and bounds took the time
        run = KelleyRun(Status.TIME_LIMIT, "time limit reached before the first MILP round", 0, -math.inf, 0, 0)
    else:
        run = run_kelley(solver, progress, bound=master_bound, incumbent=incumbent, cut=cut,
                         time_limit_s=loop_limit_s, milp=True)
    best_value, best, status, rounds = state["best_value"], state["best"], run.status, run.iterations
    history = searched + ([_listed(record, flow_bound) for record in progress.history]
                          if thinned and not bound_priced else progress.history)
    lower = run.bound  # over the listed levels (over every combination unless thinned for min-delay)
    if status is Status.INFEASIBLE and best is None:
        what = f"T <= {max_delay_s:.6g} s" if sense == "min-cost" else f"a budget of {budget:.6g}"
        raise InfeasibleError(
            f"no choice of capacity levels (modules up to {cap:.6g} {network.rate_unit} added per "
            f"link{', utilisation <= %g' % max_utilization if max_utilization < 1 else ''}"
            f"{', surviving every single link failure' if survivable else ''}) meets {what}")
    if status is Status.INTERRUPTED and best is None:
        raise SolveInterrupted(SolveResult(status, "milp-tangent-cuts", "capacity_cost" if sense == "min-cost"
                                           else "average_delay_s", "cost" if sense == "min-cost" else "s",
                                           lower_bound=-math.inf, solve_time_s=time.perf_counter() - began,
                                           message=run.message, history=history))
    if status is Status.INFEASIBLE:  # only by rounding: cuts never remove a feasible design
        status = Status.ITERATION_LIMIT
    message = "" if status is Status.OPTIMAL else run.message
    listed_bound = None if bound_priced else lower
    if (thinned and not bound_priced and status is not Status.INTERRUPTED and not proven
            and time.perf_counter() - began < time_limit_s):
        lower, stopped = _full_problem_bound(solver, model, levels, sense, gamma,
                                             None if best is None else best[1],
                                             time_limit_s - (time.perf_counter() - began))
        lower = max(lower, flow_bound)
        if stopped:
            status = Status.INTERRUPTED if best is not None else status
        elif status is Status.OPTIMAL and relative_gap(best_value, lower) > mip_gap:
            status = Status.ITERATION_LIMIT
            message = "optimal over the listed levels; the bound over every module combination is lower"
        record = {"iteration": rounds, "time_s": time.perf_counter() - began, "objective": best_value,
                  "lower_bound": lower, "gap": relative_gap(best_value, lower)}
        history.append(record)
        if callback:
            callback(record)
    elif thinned and not bound_priced:  # Ctrl-C or no time before the full bound: nothing proven beyond the listed levels
        lower = flow_bound
    else:
        lower = max(lower, flow_bound)
    if status is Status.TIME_LIMIT and best is not None and relative_gap(best_value, lower) <= mip_gap:
        status, message = Status.OPTIMAL, ""  # a bound over every combination closed the gap the loop left
    name, unit = ("capacity_cost", "cost") if sense == "min-cost" else ("average_delay_s", "s")
    if best is None:
        return SolveResult(status, "milp-tangent-cuts", name, unit, lower_bound=lower,
                           solve_time_s=time.perf_counter() - began, iterations=rounds,
                           message="no design meeting the delay bound found before the limit",
                           history=history)
    least_delay = False
    if sense == "min-cost" and status is not Status.INTERRUPTED:
        try:
            best, least_delay = _with_least_delay(network, levels, best, model.failed_links, max_utilization,
                                                  include_fixed_delay, began + time_limit_s)
        except KeyboardInterrupt:  # the answer keeps the routing that proved it
            status = Status.INTERRUPTED
    design, picked, cost, delay, worst = best
    fixed = float(levels.fixed_cost[picked].sum())
    details = {
        "sense": sense, "max_delay_s": max_delay_s, "budget": budget, "max_utilization": max_utilization,
        "keep_installed": keep_installed, "topology": topology, "survivable": survivable,
        "include_fixed_delay": include_fixed_delay, "average_delay_s": delay,
        "delay_routing": None if sense != "min-cost" else f"least delay (certified within {CHECK_GAP:g})"
        if least_delay else "a routing that meets T_max, not proven the least (no time left to route the design again)",
        "worst_failure_delay_s": worst if survivable else None,
        "cost": {"fixed": fixed, "capacity": cost - fixed, "total": cost},
        "modules_added": levels.modules_added(network, picked),
        "links_built": [network.links[int(levels.link[i])].id for i in picked
                        if levels.capacity[i] > 0 and not network.links[int(levels.link[i])].installed],
        "levels": len(levels.link), "levels_truncated_links": [network.links[l].id for l in levels.truncated],
        "max_added_capacity": cap, "mip_gap": mip_gap, "rounds": rounds, **model_size(model),
        "starting_design": start, "continuous_design": continuous_source, "cut_sets": len(model.cut_sets),
        "lower_bound_source": "the larger of the MILP dual bound with tangent cuts, over every module "
        "combination" + (" (listed levels priced at the cheapest combination they dominate)" if thinned else "")
        + (f", or the upgrade bound ({start['upgrade_bound']['source']}, solve/upgrade_bound.py)"
           if "upgrade_bound" in start else ", or the flow-cost bound (cheapest routing at the cheapest "
           "price per unit), or the detour bound (least loads within the delay bound's propagation "
           "budget, algorithms/detour_bound.py)" if math.isfinite(flow_bound) else "")
        if math.isfinite(lower) else "none: stopped before a bound was proved",
        "listed_levels_bound": listed_bound, **prior,
    }
    if not keep_installed:  # the installed capacities priced with the same modules
        details["installed_cost"] = module_cost(network, network.link_capacity, links)
    if status is Status.INTERRUPTED:
        message = (f"interrupted (Ctrl-C) in the {start['interrupted']}: the best design so far" if "interrupted"
                   in start else "interrupted (Ctrl-C): the best design of the finished rounds")
    result = SolveResult(status, "milp-tangent-cuts", name, unit, objective=best_value,
                         lower_bound=min(lower, best_value), design=design,
                         solve_time_s=time.perf_counter() - began, iterations=rounds,
                         message=message, details=details, history=history)
    if status is Status.INTERRUPTED:
        raise SolveInterrupted(result)
    return result

