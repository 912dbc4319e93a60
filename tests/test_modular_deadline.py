"""Modular design keeps its time limit: every phase of the solve stops at one deadline and keeps
its best design so far (issue 18, quality bar "Interruptible").  No timing asserts: a deadline
already passed is given, and what each phase did is counted."""
import dataclasses
import inspect
import math
import time

import numpy as np
import pytest
from test_modular_capacity import small_tcfa

from topo_opt.algorithms.modular_descent import greedy_level_descent
from topo_opt.algorithms.support_routing import min_delay_on_support
from topo_opt.evaluators.design_check import check_result
from topo_opt.io.detect import read_instance
from topo_opt.model.result import Status
from topo_opt.solve import modular_capacity as mc
from topo_opt.solve.modular_capacity import solve_modular_capacity


def _meets_t_max(network, result) -> bool:
    """The design's delay bound re-evaluated by certified min-delay routing on its capacities."""
    t_max = result.details["max_delay_s"]
    routed = min_delay_on_support(network, result.design.link_capacity, gap=1e-9,
                                  include_fixed_delay=result.details["include_fixed_delay"])
    return routed.objective <= t_max * (1 + 1e-7)


def test_descent_past_its_deadline_tries_no_step():
    calls = []
    lists = [np.arange(3 * l, 3 * l + 3) for l in range(4)]
    start = np.full(4, 2)
    result = greedy_level_descent(lists, np.tile([0.0, 1.0, 2.0], 4), start,
                                  lambda p: calls.append(1) is None, deadline=time.perf_counter() - 1.0)
    assert calls == [] and np.array_equal(result, start)


def _count_routings(monkeypatch) -> list:
    """Count the min-delay routings the solve runs (each check, each scenario)."""
    routings = []

    def counted(*args, **kwargs):
        routings.append(1)
        return min_delay_on_support(*args, **kwargs)
    monkeypatch.setattr(mc, "min_delay_on_support", counted)
    return routings


@pytest.mark.parametrize("phase", ["_descend", "_rebalance"])
def test_a_starting_phase_past_the_deadline_keeps_its_start_and_the_result_its_bound(monkeypatch, phase):
    """Greedy module removal and the knapsack rounds, given a deadline already passed, route
    nothing and return the design they were given; the solve still reports the flow-cost bound
    and a design that passes the shared checker and meets T_max."""
    routings = _count_routings(monkeypatch)
    original = getattr(mc, phase)
    runs = []

    def expired(*args, **kwargs):
        call = inspect.signature(original).bind(*args, **kwargs)
        call.arguments["deadline"] = time.perf_counter() - 1.0
        before = len(routings)
        cost, record = original(*call.args, **call.kwargs)
        runs.append((record is call.arguments["best"], cost == record[2], len(routings) - before))
        return cost, record
    monkeypatch.setattr(mc, phase, expired)
    network = read_instance("instances/abilene.json")
    result = solve_modular_capacity(network, keep_installed=False, time_limit_s=60.0)
    assert runs == [(True, True, 0)]
    start = result.details["starting_design"]
    assert (start["descent_cost"] if phase == "_descend" else start["knapsack_cost"] == start["descent_cost"])
    assert math.isfinite(result.details["flow_cost_bound"]) and 0 < result.lower_bound <= result.objective
    assert check_result(network, result) == [] and _meets_t_max(network, result)


def test_neighbourhood_search_past_its_deadline_keeps_its_start(monkeypatch):
    """The large-neighbourhood search (run when level lists are thinned), given no time, solves
    no window and returns the design it was given."""
    listed = mc.capacity_levels  # mark a list as thinned: the search runs
    monkeypatch.setattr(mc, "capacity_levels", lambda *args, **kwargs: dataclasses.replace(
        listed(*args, **kwargs), truncated=(0,)))
    search = mc.neighbourhood_search
    runs = []

    def expired(network, model, solver, best, cost, *args, **kwargs):
        found = search(network, model, solver, best, cost, *args, **{**kwargs, "time_limit_s": 0.0})
        runs.append((found.best is best, found.cost == cost, found.windows))
        return found
    monkeypatch.setattr(mc, "neighbourhood_search", expired)
    network = small_tcfa()
    result = solve_modular_capacity(network, max_delay_s=0.3, include_fixed_delay=False, mip_gap=1e-9,
                                    keep_installed=True, topology=True, max_added_capacity=20.0)
    assert runs == [(True, True, 0)]
    assert check_result(network, result) == [] and _meets_t_max(network, result)


def test_a_tiny_time_limit_gives_a_checked_design_with_a_bound():
    """A limit far below what the starting design needs: the first starting design that meets
    T_max, the flow-cost bound, status time-limit (no crash, no empty result)."""
    network = read_instance("instances/geant.json")
    result = solve_modular_capacity(network, keep_installed=False, time_limit_s=0.01)
    assert result.status is Status.TIME_LIMIT and result.design is not None
    assert 0 < result.lower_bound <= result.objective and math.isfinite(result.gap)
    assert result.details["starting_design"]["stopped_at_deadline"]
    assert check_result(network, result) == [] and _meets_t_max(network, result)


def test_ctrl_c_in_the_descent_keeps_its_last_step(monkeypatch):
    """Ctrl-C right after greedy module removal kept a step: the solve stops with that design
    (cheaper than the rounded start), status interrupted, and it passes the checker."""
    from topo_opt.errors import SolveInterrupted

    descent = mc.greedy_level_descent

    def stopped_after_one_step(lists, cost, start, meets, **kwargs):
        def meets_then_ctrl_c(positions):
            if meets(positions):
                raise KeyboardInterrupt
            return False
        return descent(lists, cost, start, meets_then_ctrl_c, **kwargs)
    monkeypatch.setattr(mc, "greedy_level_descent", stopped_after_one_step)
    network = read_instance("instances/geant.json")
    with pytest.raises(SolveInterrupted) as stop:
        solve_modular_capacity(network, keep_installed=False, time_limit_s=60.0)
    result = stop.value.partial
    start = result.details["starting_design"]
    assert result.status is Status.INTERRUPTED and start["interrupted"] == "starting design"
    assert result.objective < start["rounded_cost"] and "descent_cost" not in start
    assert check_result(network, result) == [] and _meets_t_max(network, result)


def test_a_milp_round_past_the_limit_routes_no_design_that_is_not_cheaper(monkeypatch):
    """The MILP round that ends at the limit: a design no cheaper than the incumbent is not
    routed (its check could not change the answer, and it ran past the limit on zoo:Uunet)."""
    routings = _count_routings(monkeypatch)
    kelley = mc.run_kelley
    during = []

    def at_the_limit(solver, progress, **kwargs):
        progress.out_of_time = lambda: True
        before = len(routings)
        run = kelley(solver, progress, **kwargs)
        during.append(len(routings) - before)
        return run
    monkeypatch.setattr(mc, "run_kelley", at_the_limit)
    network = read_instance("instances/abilene.json")  # the starting design is optimal
    result = solve_modular_capacity(network, keep_installed=False, time_limit_s=60.0)
    assert during == [0] and result.iterations == 1
    assert result.history[-1]["design_cost"] == result.objective == result.details["starting_design"]["rounded_cost"]
    assert check_result(network, result) == [] and _meets_t_max(network, result)


def _interrupted_in_a_bound(monkeypatch, bound_function: str, phase: str, instance: str):
    """Ctrl-C in ``bound_function`` (computed between the starting design and the MILP) on the
    bundled ``instance``: the start is the answer, status interrupted with ``phase`` named, and it
    passes the checker and meets T_max.  The interrupted result, for the bound assertions."""
    from topo_opt.errors import SolveInterrupted

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(mc, bound_function, interrupted)
    network = read_instance(f"instances/{instance}.json")
    with pytest.raises(SolveInterrupted) as stop:
        solve_modular_capacity(network, keep_installed=False, time_limit_s=60.0)
    result = stop.value.partial
    start = result.details["starting_design"]
    assert result.status is Status.INTERRUPTED and start["interrupted"] == phase
    assert result.objective == start["knapsack_cost"] and phase in result.message
    assert check_result(network, result) == [] and _meets_t_max(network, result)
    return result


def test_ctrl_c_in_the_flow_cost_bound_keeps_the_starting_design(monkeypatch):
    """The start is the answer, with no bound."""
    result = _interrupted_in_a_bound(monkeypatch, "flow_cost_bound", "flow-cost bound", "geant")
    assert result.lower_bound == -math.inf and result.details["lower_bound_source"].startswith("none")


def test_a_milp_interrupted_without_incumbent_keeps_the_start_and_the_milp_bound(monkeypatch):
    """Ctrl-C in the first MILP before HiGHS has an incumbent of its own (the real MILP's dual
    bound, its incumbent withheld): the starting design with the larger of that bound and the
    flow-cost bound, status interrupted, and it passes the checker."""
    from topo_opt.errors import SolveInterrupted
    from topo_opt.solve.highs import HighsSolver

    real, bounds = HighsSolver.solve, []

    def no_incumbent(self, *args, **kwargs):
        outcome = dataclasses.replace(real(self, *args, **kwargs), status=Status.INTERRUPTED, objective=math.nan)
        bounds.append(outcome.bound)
        raise SolveInterrupted(outcome)
    monkeypatch.setattr(HighsSolver, "solve", no_incumbent)
    network = small_tcfa()
    with pytest.raises(SolveInterrupted) as stop:
        solve_modular_capacity(network, max_delay_s=0.3, include_fixed_delay=False, mip_gap=1e-9,
                               keep_installed=True, topology=True, max_added_capacity=20.0)
    result = stop.value.partial
    assert result.status is Status.INTERRUPTED and result.iterations == 0 and len(bounds) == 1
    assert 0 < bounds[0] <= result.lower_bound == max(bounds[0], result.details["flow_cost_bound"])
    assert result.lower_bound <= result.objective
    assert check_result(network, result) == [] and _meets_t_max(network, result)


def test_ctrl_c_in_the_detour_bound_keeps_the_starting_design_and_the_flow_cost_bound(monkeypatch):
    """The detour bound runs after the flow-cost LP: the start is the answer, the flow-cost
    bound kept."""
    result = _interrupted_in_a_bound(monkeypatch, "detour_bound", "detour bound", "nobel-us")
    assert result.details["detour_bound"] == -math.inf and result.details["flow_cost_bound"] > 0


def test_the_level_lists_are_built_once(monkeypatch):
    """Listing every link's module sums up to the largest level is the model build's work; the
    installed capacities (``installed_cost``, priced after the MILP rounds) are priced without
    it: the second listing ran 55 s past the 600-s limit on pioro40 (issue 18)."""
    listings = []

    def counted(*args, **kwargs):
        listings.append(1)
        return listed(*args, **kwargs)
    listed = mc.capacity_levels
    monkeypatch.setattr(mc, "capacity_levels", counted)
    network = read_instance("instances/abilene.json")
    result = solve_modular_capacity(network, keep_installed=False, time_limit_s=60.0)
    assert len(listings) == 1
    assert result.details["installed_cost"] == pytest.approx(sum(  # one module type per abilene link
        link.modules[0].cost * math.ceil(link.capacity / link.modules[0].capacity) for link in network.links))
    assert check_result(network, result) == []
