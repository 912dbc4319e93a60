"""Levers of modular design at planning scale: focused levels, cut-set inequalities, greedy
module removal and MIP starts, each checked against enumeration or by construction."""
import math

import numpy as np
import pyomo.environ as pyo
import pytest
from conftest import INSTANCES, cheapest_level_choice
from test_modular_capacity import enumerate_min_cost, small_tcfa

from topo_opt.algorithms.modular_descent import greedy_level_descent
from topo_opt.errors import InfeasibleError
from topo_opt.formulations.cut_sets import add_cut_set_inequalities
from topo_opt.formulations.modular_capacity_milp import build_modular_capacity_model
from topo_opt.io.detect import read_instance
from topo_opt.model.costs import (
    FOCUS_LEVELS_BELOW, FOCUS_WINDOW, MAX_LEVELS_PER_LINK, capacity_levels, kept_levels,
)
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.highs import HighsOptions, HighsSolver
from topo_opt.solve.modular_capacity import solve_modular_capacity
from topo_opt.algorithms.support_routing import min_delay_on_support


def optimum_levels(levels, capacity):
    """y of the design with these link capacities (each link's level of exactly that capacity)."""
    y = np.zeros(len(levels.link))
    for l in np.unique(levels.link).tolist():
        mine = np.flatnonzero((levels.link == l) & np.isclose(levels.capacity, capacity[l]))
        y[mine[0]] = 1.0
    return y


@pytest.mark.parametrize("t_max", [0.45, 0.3, 0.2])
def test_cut_sets_keep_the_enumerated_optimum(t_max):
    network = small_tcfa()
    cost, capacity = enumerate_min_cost(network, t_max, max_modules=2)
    levels = capacity_levels(network, 20.0, keep_installed=True)
    model = build_modular_capacity_model(network, levels, sense="min-cost", max_packets=t_max * network.total_packet_rate,
                                         include_fixed_delay=False)
    rows = add_cut_set_inequalities(model, network, max_queue_packets=t_max * network.total_packet_rate)
    assert rows
    for i, v in enumerate(optimum_levels(levels, capacity)):
        model.level_on[i].value = v
    for row in rows:  # every cut holds at the optimum
        assert pyo.value(row.body) >= pyo.value(row.lower) - 1e-9
    # and the rounding bites: node D needs 6 packet/s in, and one 10-unit module is then forced
    # even though the relaxation could take 0.6 of a level
    assert any(pyo.value(row.lower) >= 1 for row in rows)


def test_focused_levels_keep_ends_and_the_covering_window():
    added = np.arange(40) * 10.0
    assert len(kept_levels(added, None)) == MAX_LEVELS_PER_LINK
    for target in (0.0, 3.0, 127.0, 385.0, 1e9):
        kept = kept_levels(added, target)
        assert len(kept) == MAX_LEVELS_PER_LINK and kept[0] == 0 and kept[-1] == 39
        assert np.all(np.diff(kept) > 0)
        cover = min(int(np.ceil(target / 10.0)), 39)
        below = cover - FOCUS_LEVELS_BELOW
        assert cover in kept.tolist() and (below < 1 or below in kept.tolist())


def test_focused_levels_are_geometric_outside_the_window():
    """Above the window neighbouring listed capacities grow by a bounded ratio (what the bound
    over every combination can lose by rounding a combination up to the next listed level),
    instead of one jump from the window's top to the last level."""
    added = np.arange(151) * 40.0
    kept = kept_levels(added, 800.0)
    capacity = added[kept]
    top = int(np.searchsorted(kept, 20)) + FOCUS_WINDOW - FOCUS_LEVELS_BELOW - 1  # the window's last
    ratios = capacity[top + 1:] / capacity[top:-1]
    assert len(kept) == MAX_LEVELS_PER_LINK and np.all(ratios <= 1.35)
    assert np.all(np.diff(kept[top - FOCUS_WINDOW + 1:top + 1]) == 1)  # the window is consecutive


def test_focused_levels_cover_a_target_design():
    network = read_instance("instances/nobel-us.json")
    target = network.link_capacity * 0.7
    levels = capacity_levels(network, 2 * network.total_demand, False, target_capacity=target)
    for l in np.unique(levels.link).tolist():
        mine = np.flatnonzero(levels.link == l)
        assert len(mine) == MAX_LEVELS_PER_LINK and levels.capacity[mine[0]] == 0
        assert np.any(levels.capacity[mine] >= target[l])  # the rounded-up continuous design is listed


def test_unthinned_levels_are_every_pareto_level():
    """``thin=False`` (the Lagrangian bound's lists) keeps every Pareto level: the thinned list is
    a subset of it, priced the same, and each link's bound_cost equals its cost."""
    network = read_instance("instances/nobel-us.json")
    target = network.link_capacity * 0.7
    thinned = capacity_levels(network, 2 * network.total_demand, False, target_capacity=target)
    full = capacity_levels(network, 2 * network.total_demand, False, target_capacity=target, thin=False)
    assert thinned.truncated and not full.truncated and np.array_equal(full.bound_cost, full.cost)
    for l in np.unique(thinned.link).tolist():
        mine, all_of_l = np.flatnonzero(thinned.link == l), np.flatnonzero(full.link == l)
        assert len(all_of_l) > MAX_LEVELS_PER_LINK
        assert np.all(np.diff(full.capacity[all_of_l]) > 0) and np.all(np.diff(full.cost[all_of_l]) > 0)
        at = np.searchsorted(full.capacity[all_of_l], thinned.capacity[mine])
        assert np.array_equal(full.capacity[all_of_l][at], thinned.capacity[mine])
        assert np.array_equal(full.cost[all_of_l][at], thinned.cost[mine])


def test_greedy_descent_reaches_a_one_step_local_optimum():
    rng = np.random.default_rng(3)
    lists = [np.arange(5 * l, 5 * l + 5) for l in range(6)]
    cost = np.concatenate([np.sort(rng.uniform(0, 10, 5)) for _ in lists])
    capacity = np.tile(np.arange(5.0), 6)

    def meets(position):  # monotone: enough total capacity and every link at level >= 1
        return min(position) >= 1 and capacity[[m[p] for m, p in zip(lists, position)]].sum() >= 12

    start = np.full(6, 4)
    result = greedy_level_descent(lists, cost, start, meets)
    assert meets(result)
    assert cost[[m[p] for m, p in zip(lists, result)]].sum() <= cost[[m[p] for m, p in zip(lists, start)]].sum()
    for l in range(6):  # no single step down stays feasible
        if result[l] > 0:
            trial = result.copy()
            trial[l] -= 1
            assert not meets(trial)


def test_mip_start_is_kept_when_the_solver_stops_at_once():
    model = pyo.ConcreteModel()
    model.x = pyo.Var(range(12), within=pyo.Binary)
    weight = np.arange(1.0, 13.0)
    model.cover = pyo.Constraint(expr=sum(float(w) * model.x[i] for i, w in enumerate(weight)) >= 30)
    model.objective = pyo.Objective(expr=sum(float(w * w) * model.x[i] for i, w in enumerate(weight)))
    solver = HighsSolver(model, HighsOptions(mip_rel_gap=0.0))
    start = np.zeros(12)
    start[[9, 10, 11]] = 1.0  # 10 + 11 + 12 >= 30, cost 365
    solver.set_start({model.x: start})
    outcome = solver.solve(time_limit_s=0.0)
    assert outcome.objective <= 365 + 1e-9
    optimum = HighsSolver(model, HighsOptions(mip_rel_gap=0.0)).solve()
    solver.set_start({model.x: np.zeros(12)})  # infeasible start: ignored, never harmful
    assert solver.solve().objective == pytest.approx(optimum.objective)


def test_power_start_meets_the_bound_and_the_milp_is_never_worse():
    from test_min_power import IDLE, _enumerate, _square

    from topo_opt.evaluators.power import NodePowerModel
    from topo_opt.solve.min_power import min_delay_all_on, solve_min_power
    from topo_opt.algorithms.power_start import switch_off_start

    net = _square()
    for factor in (3.0, 1.05):
        t_max = factor * min_delay_all_on(net)
        link_on, node_on = switch_off_start(net, NodePowerModel.for_network(net, IDLE), t_max)
        routed = min_delay_on_support(net, np.where(link_on, net.link_capacity, 0.0), gap=1e-9)
        assert routed.objective <= t_max * (1 + 1e-7)  # the start meets T_max, certified
        start_power = IDLE.chassis_w * node_on.sum() + 2 * IDLE.port_w * link_on.sum()
        result = solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9)
        assert result.details["mip_start_links_off"] == int((~link_on).sum())
        assert result.objective <= start_power + 1e-9
        assert result.objective == pytest.approx(_enumerate(net, t_max)[0])
        assert check_result(net, result, power=IDLE) == []


def test_min_power_one_round_reports_the_start_that_meets_the_bound():
    from test_min_power import IDLE, _enumerate, _square

    from topo_opt.solve.min_power import min_delay_all_on, solve_min_power

    net = _square()
    t_max = 1.1 * min_delay_all_on(net)
    result = solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9, max_iterations=1)
    # one round: the MILP's design misses T_max, the start (the incumbent from the outset) meets
    # it and equals the MILP bound
    assert result.status.value == "optimal" and result.history[0]["objective"] == result.objective
    assert "the switch-off start reported" in result.message
    assert result.details["delay_bound_met"] and result.details["average_delay_s"] <= t_max * (1 + 1e-6)
    assert result.objective >= _enumerate(net, t_max)[0] - 1e-9 >= result.lower_bound - 1e-9
    assert check_result(net, result, power=IDLE) == []


def test_installed_cost_is_exact_when_the_level_list_is_thinned():
    from topo_opt.model import Demand, Link, Module, Node, build_network

    network = build_network(
        name="pair", nodes=[Node("A"), Node("B")],
        links=[Link("AB", "A", "B", 33.0, modules=(Module(capacity=1.0, cost=2.0),))],
        demands=[Demand("A-B", "A", "B", 10.0)], rate_unit="packet/s")
    result = solve_modular_capacity(network, max_delay_s=1.0, include_fixed_delay=False, keep_installed=False,
                                    max_added_capacity=100.0, mip_gap=1e-9)
    assert result.details["levels_truncated_links"] == ["AB"]  # 101 levels, 16 kept
    assert result.details["installed_cost"] == pytest.approx(66.0)  # 33 modules, not a thinned level above
    # T = 1/(C − 10) ≤ 1 s needs C ≥ 11: 11 modules, on the focused list
    assert result.objective == pytest.approx(22.0) and check_result(network, result) == []


def test_module_cost_is_the_cheapest_covering_combination_by_enumeration():
    from topo_opt.model import Demand, Link, Module, Node, build_network
    from topo_opt.model.costs import module_cost

    modules = (Module(capacity=155.0, cost=178.0), Module(capacity=622.0, cost=534.0))  # pioro40's
    network = build_network(
        name="three", nodes=[Node("A"), Node("B"), Node("C")],
        links=[Link("AB", "A", "B", 1000.0, modules=modules, fixed_cost=7.0),
               Link("BC", "B", "C", 1245.0, modules=modules), Link("AC", "A", "C", 0.0, modules=modules)],
        demands=[Demand("A-C", "A", "C", 10.0)], rate_unit="packet/s")
    cheapest = [min(a * 178.0 + b * 534.0 for a in range(10) for b in range(4) if a * 155 + b * 622 >= need)
                for need in (1000.0, 1245.0)]
    assert module_cost(network, network.link_capacity) == pytest.approx(7.0 + sum(cheapest))
    assert module_cost(network, network.link_capacity, np.array([1, 2])) == pytest.approx(cheapest[1])


def brute_force_pareto(modules, cap):
    """Every module combination with at most ceil(cap / capacity) of each module (no efficient
    combination up to the cheapest reaching cap has more): the cheapest cost of each capacity,
    those cheaper than every larger one, up to the first capacity reaching cap."""
    import itertools

    cheapest = {}
    for counts in itertools.product(*(range(math.ceil(cap / m.capacity) + 1) for m in modules)):
        capacity = sum(c * m.capacity for c, m in zip(counts, modules))
        cost = sum(c * m.cost for c, m in zip(counts, modules))
        cheapest[capacity] = min(cost, cheapest.get(capacity, math.inf))
    levels, best = [], math.inf
    for capacity in sorted(cheapest, reverse=True):
        if cheapest[capacity] < best:
            levels.append((capacity, cheapest[capacity]))
            best = cheapest[capacity]
    levels = levels[::-1]
    return levels[:next(i for i, (capacity, _) in enumerate(levels) if capacity >= cap) + 1]


def test_pareto_listing_equals_brute_force_on_random_module_sets():
    from topo_opt.model import Module
    from topo_opt.model.costs import _pareto_combinations

    rng = np.random.default_rng(7)
    for _ in range(300):  # halves: sums exact in floating point, so ties are true ties
        modules = tuple(Module(capacity=rng.integers(1, 24) / 2, cost=rng.integers(1, 30) / 2)
                        for _ in range(rng.integers(1, 4)))
        cap = float(rng.uniform(0, 30))
        listed = _pareto_combinations(modules, cap)
        assert [(capacity, cost) for capacity, cost, _ in listed] == brute_force_pareto(modules, cap)
        for capacity, cost, counts in listed:  # each level's module counts make it up
            assert capacity == sum(c * m.capacity for c, m in zip(counts, modules))
            assert cost == sum(c * m.cost for c, m in zip(counts, modules))
    # pioro40's modules, to twice a demand of 5000: every one of the efficient combinations
    pioro = (Module(capacity=155.0, cost=178.0), Module(capacity=622.0, cost=534.0))
    assert [level[:2] for level in _pareto_combinations(pioro, 10000.0)] == brute_force_pareto(pioro, 10000.0)
    # a free module: the first multiple reaching cap, alone
    assert _pareto_combinations((Module(capacity=5.0, cost=0.0),), 12.0) == [(15.0, 0.0, (3,))]


def test_bound_prices_each_listed_level_at_the_cheapest_combination_it_dominates(monkeypatch):
    from topo_opt.model import costs

    monkeypatch.setattr(costs, "MAX_LEVELS_PER_LINK", 3)
    network = small_tcfa()  # module 10 for 4: added 0, 10, 20, 30, 40 → listed 0, 20, 40
    levels = capacity_levels(network, 40.0, keep_installed=True)
    ab = levels.link == 0
    assert levels.capacity[ab].tolist() == [10.0, 30.0, 50.0]
    assert levels.cost[ab].tolist() == [0.0, 8.0, 16.0]
    assert levels.bound_cost[ab].tolist() == [0.0, 4.0, 12.0]  # 1 and 3 modules, dropped
    bd = levels.link == 1  # a candidate link: its fixed cost 3 is in both prices
    assert levels.cost[bd].tolist() == [0.0, 11.0, 19.0] and levels.bound_cost[bd].tolist() == [0.0, 7.0, 15.0]


def thin_levels_evenly(monkeypatch):
    """Three levels per link, spread evenly: no continuous design and no installed capacities
    (an upgrade's usual focus) to centre them on, so the lists lose the 1-module steps."""
    from topo_opt.model import costs
    from topo_opt.solve import modular_capacity

    monkeypatch.setattr(costs, "MAX_LEVELS_PER_LINK", 3)
    monkeypatch.setattr(modular_capacity, "continuous_design", lambda *args, **kwargs: (None, "none"))
    even_levels = modular_capacity.capacity_levels
    monkeypatch.setattr(modular_capacity, "capacity_levels",
                        lambda *args, target_capacity=None, **kwargs: even_levels(*args, **kwargs))


@pytest.mark.parametrize("t_max", [0.45, 0.3])
def test_bound_holds_over_every_combination_when_lists_are_thinned(monkeypatch, t_max):
    """Lists thinned to 0, 2 and 4 modules (evenly: no continuous design to focus on) lose the
    1-module steps the optimum uses; the reported bound (the loop's MILP at bound prices) is
    still below the enumerated optimum over all combinations, though the design is dearer."""
    thin_levels_evenly(monkeypatch)
    network = small_tcfa()
    cost, _ = enumerate_min_cost(network, t_max, max_modules=2)
    result = solve_modular_capacity(network, max_delay_s=t_max, include_fixed_delay=False, mip_gap=1e-9,
                                    keep_installed=True, topology=True, max_added_capacity=40.0)
    assert len(result.details["levels_truncated_links"]) == network.n_links
    assert result.lower_bound <= cost + 1e-9 < result.objective
    assert result.details["listed_levels_bound"] is None  # min-cost: one MILP, no listed-level bound
    assert result.gap > 0
    assert result.status.value == "iteration_limit"  # optimal over the listed levels only
    assert check_result(network, result) == []


def test_bound_never_exceeds_the_installed_design_without_a_focus(monkeypatch):
    """Main before issue 18 thinned six-node's lists evenly, dropping the 1-module level, and
    reported 12e9 'optimal' with bound 12e9 though the installed network (1 module per link,
    8e9) meets T_max = its own delay: the bound was over the listed levels only."""
    from topo_opt.model import costs
    from topo_opt.solve import modular_capacity

    monkeypatch.setattr(costs, "MAX_LEVELS_PER_LINK", 16)  # main's list length
    network = read_instance("instances/six-node.json")
    levels = capacity_levels(network, 2 * network.total_demand, keep_installed=False)
    assert not np.any(np.isclose(levels.capacity, 1e9))  # evenly thinned: 1 module is not listed
    monkeypatch.setattr(modular_capacity, "continuous_design", lambda *args, **kwargs: (None, "none"))
    result = solve_modular_capacity(network, keep_installed=False, time_limit_s=60.0)
    installed = result.details["installed_cost"]  # T_max is the installed delay: feasible
    assert installed == pytest.approx(8e9)
    assert result.lower_bound <= installed <= result.objective


def test_the_design_does_not_depend_on_machine_load(monkeypatch):
    """The continuous design that focuses the levels, the starting design, its descent and the
    checks of every round run to gap and count budgets and stop only at the solve's deadline, no
    other clock: a machine so loaded that every routing step seems to start 250 s late gives
    the same design while the 600-s deadline is not reached."""
    import time
    from types import SimpleNamespace

    from topo_opt.algorithms import flow_deviation

    network = read_instance("instances/six-node.json")
    calm = solve_modular_capacity(network, keep_installed=False, time_limit_s=600.0)
    monkeypatch.setattr(flow_deviation, "time", SimpleNamespace(perf_counter=lambda: time.perf_counter() + 250.0))
    loaded = solve_modular_capacity(network, keep_installed=False, time_limit_s=600.0)
    assert np.array_equal(loaded.design.link_capacity, calm.design.link_capacity)
    assert loaded.objective == calm.objective and loaded.lower_bound == calm.lower_bound


def test_greedy_descent_stops_after_its_check_budget():
    lists = [np.arange(3 * l, 3 * l + 3) for l in range(4)]
    calls = []
    result = greedy_level_descent(lists, np.tile([0.0, 1.0, 2.0], 4), np.full(4, 2),
                                  lambda p: calls.append(1) is None, max_checks=3)
    assert len(calls) == 3 and result.sum() == 8 - 3


def test_budget_form_bound_holds_over_every_combination_when_lists_are_thinned(monkeypatch):
    """min-delay: the budget row prices the listed levels at ``bound_cost``; the bound stays
    below the least delay with every combination listed, which the listed-level bound exceeds."""
    network = small_tcfa()
    options = dict(sense="min-delay", budget=20.0, include_fixed_delay=False, mip_gap=1e-9,
                   keep_installed=True, topology=True, max_added_capacity=40.0)
    full = solve_modular_capacity(network, **options)  # 5 levels per link: nothing thinned
    assert not full.details["levels_truncated_links"] and full.status.value == "optimal"
    thin_levels_evenly(monkeypatch)
    thinned = solve_modular_capacity(network, **options)
    assert thinned.lower_bound <= full.objective < thinned.details["listed_levels_bound"]
    assert thinned.objective >= full.objective and check_result(network, thinned) == []


def test_check_budget_is_a_count_from_the_time_limit():
    from topo_opt.algorithms.modular_descent import check_budget

    assert check_budget(36, None) == 8 * 36  # no limit: the per-link cap
    assert check_budget(36, 30.0) == 60 < check_budget(36, 120.0) == 240  # shrinks with the limit
    assert check_budget(36, 1.0) == 36  # at least one check per link


def test_power_start_does_not_depend_on_machine_load(monkeypatch):
    """The switch-off start's checks run to a count, not a clock: a clock on which every timed
    routing step runs out at once gives the same start."""
    import time
    from types import SimpleNamespace

    from test_min_power import IDLE

    from topo_opt.algorithms import flow_deviation
    from topo_opt.evaluators.power import NodePowerModel
    from topo_opt.solve.min_power import min_delay_all_on
    from topo_opt.algorithms.power_start import switch_off_start

    net = read_instance("instances/abilene.json")
    t_max = 1.5 * min_delay_all_on(net)
    calm = switch_off_start(net, NodePowerModel.for_network(net, IDLE), t_max, time_limit_s=10.0)
    monkeypatch.setattr(flow_deviation, "time", SimpleNamespace(perf_counter=lambda: time.perf_counter() + 1e6))
    loaded = switch_off_start(net, NodePowerModel.for_network(net, IDLE), t_max, time_limit_s=10.0)
    assert (~calm[0]).sum() > 0 and np.array_equal(calm[0], loaded[0]) and np.array_equal(calm[1], loaded[1])


def _triangle_from_scratch():
    from topo_opt.model import Demand, Link, Module, Node, build_network

    modules = (Module(capacity=10.0, cost=4.0), Module(capacity=25.0, cost=8.0))
    links = [Link(i, a, b, 0.0, modules=modules) for i, a, b in (("AB", "A", "B"), ("BC", "B", "C"), ("AC", "A", "C"))]
    demands = [Demand("A-C", "A", "C", 9.0), Demand("A-B", "A", "B", 4.0), Demand("C-B", "C", "B", 3.0)]
    return build_network(name="tri", nodes=[Node(n) for n in "ABC"], links=links, demands=demands,
                         rate_unit="packet/s")


@pytest.mark.parametrize("t_max", [1.0, 0.3, 0.12])
def test_flow_cost_bound_never_cuts_off_the_enumerated_optimum(t_max):
    """Every combination of every link's Pareto module list (0–50 packet/s) is tried; the
    flow-cost bound stays below the cheapest that meets T_max, and so does the solve's bound."""
    from topo_opt.algorithms.min_cost_routing import flow_cost_bound

    network = _triangle_from_scratch()
    levels = capacity_levels(network, 50.0, keep_installed=False)
    best = cheapest_level_choice(network, levels, t_max, include_fixed_delay=False)
    bound = flow_cost_bound(network, levels, t_max * network.total_packet_rate)
    assert 0 < bound <= best + 1e-9
    result = solve_modular_capacity(network, max_delay_s=t_max, include_fixed_delay=False, keep_installed=False,
                                    max_added_capacity=50.0, mip_gap=1e-9)
    assert result.lower_bound <= best + 1e-9 <= result.objective + 2e-9
    # by hand: every demand on its direct link (9 + 4 + 3 packet/s of capacity, one direction
    # each), κ = 8/25 per unit, N_max = γ T_max packets with γ = 16 packet/s
    assert bound == pytest.approx(16.0 * 0.32 * (1 + 1 / (16.0 * t_max)))


@pytest.mark.parametrize("t_max", [1.0, 0.3, 0.12])
def test_lagrangian_bound_from_scratch_never_cuts_off_the_enumerated_optimum(t_max):
    """The Lagrangian bound over levels from scratch (capacity 0 first, no cover) stays below the
    enumerated optimum, including T_max = 0.12 s where the delay bound binds (the optimum costs
    more than with a slack bound); multipliers from min-delay routing on the largest levels, the
    Polyak steps aimed at the optimum itself."""
    from topo_opt.algorithms.modular_lagrangian_bound import lagrangian_bound

    network = _triangle_from_scratch()
    levels = capacity_levels(network, 50.0, keep_installed=False)
    best = cheapest_level_choice(network, levels, t_max, include_fixed_delay=False)
    if t_max == 0.12:
        assert best > cheapest_level_choice(network, levels, 1e6, include_fixed_delay=False)
    largest = levels.capacity[levels.largest()]
    routed = min_delay_on_support(network, largest, gap=1e-9, include_fixed_delay=False)
    capacity = network.queue_capacity(largest)
    marginal = capacity / (capacity - network.queue_load(routed.design.arc_flow(network))) ** 2
    bound = lagrangian_bound(network, levels, t_max, marginal, include_fixed_delay=False, target=best)
    assert 0 < bound.value <= best + 1e-9


def test_lagrangian_bound_with_a_slack_delay_bound_is_at_most_the_flow_cost_bound():
    """With the delay row slack (SNDlib's pure-cost problem) the best multiplier of the delay row
    is 0, and L(0, π) is the dual of the min-cost capacity LP over each link's levels: the
    Lagrangian bound adds nothing to the flow-cost bound (benchmarks/BENCHMARKS.md)."""
    from topo_opt.algorithms.min_cost_routing import flow_cost_bound
    from topo_opt.algorithms.modular_lagrangian_bound import lagrangian_bound

    network = _triangle_from_scratch()
    levels = capacity_levels(network, 50.0, keep_installed=False)
    marginal = np.ones(network.n_queues)
    t_max = 1e6
    bound = lagrangian_bound(network, levels, t_max, marginal, include_fixed_delay=False)
    assert 0 < bound.value <= flow_cost_bound(network, levels, t_max * network.total_packet_rate) + 1e-9


@pytest.mark.parametrize("t_max", [0.45, 0.3])
def test_neighbourhood_search_alone_reaches_the_enumerated_optimum(monkeypatch, t_max):
    """With the descent and the MILP over every link switched off, the large-neighbourhood search
    alone takes the rounded start to the enumerated optimum, never above the start, and its design
    passes the checker with its delay re-certified by min-delay routing."""
    from topo_opt.model.result import Status
    from topo_opt.solve import modular_capacity as mc
    from topo_opt.solve.kelley import KelleyRun

    import dataclasses
    listed = mc.capacity_levels  # the search runs at planning scale: mark a list as thinned
    monkeypatch.setattr(mc, "capacity_levels", lambda *args, **kwargs: dataclasses.replace(
        listed(*args, **kwargs), truncated=(0,)))
    monkeypatch.setattr(mc, "_descend", lambda network, levels, best, *args, **kwargs: (best[2], best))
    monkeypatch.setattr(mc, "run_kelley", lambda *args, **kwargs: KelleyRun(
        Status.ITERATION_LIMIT, "switched off", 0, -math.inf, 0, 0))
    network = small_tcfa()
    cost, _ = enumerate_min_cost(network, t_max, max_modules=2)
    result = solve_modular_capacity(network, max_delay_s=t_max, include_fixed_delay=False, mip_gap=1e-9,
                                    keep_installed=True, topology=True, max_added_capacity=20.0)
    start = result.details["starting_design"]
    assert start["rounded_cost"] > cost  # the search has something to do
    assert result.objective == pytest.approx(cost, abs=1e-9)
    assert start["neighbourhood_cost"] == result.objective <= start["descent_cost"]
    assert [r["objective"] for r in result.history] == sorted(r["objective"] for r in result.history)[::-1]
    assert check_result(network, result) == []
    certified = min_delay_on_support(network, result.design.link_capacity, gap=1e-9, include_fixed_delay=False)
    assert certified.objective <= t_max * (1 + 1e-7)


def test_neighbourhood_windows_are_seeded_and_grow_from_one_node():
    """Centres most expensive first, the same order for the same seed; a one-node window is the
    node's links, a two-node window adds the links of the neighbour across its dearest link."""
    from topo_opt.solve.modular_neighbourhood import window_links, window_order

    network = small_tcfa()  # links AB, BD, AC, CD, BC; nodes A B C D
    cost = np.array([5.0, 1.0, 2.0, 0.0, 1.0])
    order = window_order(network, cost, seed=3)
    # A: 7, B: 7 (the tie broken by the seed), then C: 3, D: 1
    assert sorted(order.tolist()[:2]) == [0, 1] and order.tolist()[2:] == [2, 3]
    assert np.array_equal(order, window_order(network, cost, seed=3))
    ties = {tuple(window_order(network, cost, seed=s).tolist()[:2]) for s in range(8)}
    assert ties == {(0, 1), (1, 0)}
    assert window_links(network, 3, cost, 1).tolist() == [1, 3]  # D: BD, CD
    assert window_links(network, 3, cost, 2).tolist() == [0, 1, 3, 4]  # + B (BD dearer than CD)


def test_a_start_through_a_link_without_capacity_is_ignored_not_misread():
    """Arcs off the support have no index in the sub-network: such a start is dropped (a -1
    would have named the sub-network's last arc), and the answer is the one without a start."""
    from topo_opt.algorithms.baselines import min_hop_routing

    network = read_instance(INSTANCES / "abilene.json")
    start = min_hop_routing(network)
    for link in np.unique(network.arc_link[start.arcs]).tolist():  # the start crosses it
        capacity = network.link_capacity.copy()
        capacity[link] = 0.0
        try:
            plain = min_delay_on_support(network, capacity, gap=1e-9)
        except InfeasibleError:  # a link the demands cannot do without
            continue
        warm = min_delay_on_support(network, capacity, gap=1e-9, start=start)
        assert warm.objective == pytest.approx(plain.objective, rel=1e-8)
        assert check_result(network, warm) == []
        return
    pytest.fail("no link of the start can be switched off")


def test_a_descent_step_is_decided_as_min_delay_routing_decides_it():
    """The descent's first check of a step (column generation from the paths of the design
    before) finds a routing below capacity exactly when min-delay routing does, and its delay is
    never below the least delay; links taken to 0 (a demand's every path gone) included."""
    import time

    from topo_opt.solve.modular_capacity import _carried

    network = read_instance(INSTANCES / "abilene.json")
    previous = min_delay_on_support(network, network.link_capacity, gap=1e-4).design
    rng = np.random.default_rng(3)
    outcomes = []
    for _ in range(40):
        capacity = network.link_capacity * rng.choice([0.0, 0.1, 0.3, 1.0], network.n_links, p=[0.05, 0.25, 0.3, 0.4])
        carried = _carried(network, capacity, previous, True, time.perf_counter() + 60.0)
        try:
            least = min_delay_on_support(network, capacity, gap=1e-9).objective
        except InfeasibleError:
            least = math.inf
        assert carried is not None  # decided: no deadline, no floating-point tie here
        assert (carried.design is None) == (least == math.inf)
        if carried.design is not None:
            load, queue_capacity = network.queue_load(carried.design.arc_flow(network)), capacity[network.queue_link]
            assert np.all(np.where(queue_capacity > 0, load < queue_capacity, load == 0))
            assert carried.delay_s >= least * (1 - 1e-9)
        outcomes.append("carried" if carried.design is not None else
                        "cut off" if "no path" in carried.reason else "proven infeasible")
    assert {"carried", "proven infeasible", "cut off"} <= set(outcomes), outcomes  # all decisions were exercised
