"""The detour bound (algorithms/detour_bound.py): least loads against an LP, the bound against
enumeration of every module combination, and on the bundled nobel-us."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from conftest import cheapest_level_choice
from topo_opt.algorithms.capacity_flow_assignment import min_fixed_delay_s
from topo_opt.algorithms.detour_bound import (
    _detour_items,
    detour_bound,
    least_arc_loads,
)
from topo_opt.algorithms.min_cost_routing import flow_cost_bound
from topo_opt.algorithms.support_routing import min_delay_on_support
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.design_check import check_result
from topo_opt.io.detect import read_instance
from topo_opt.model import Demand, Link, Module, Node, build_network
from topo_opt.model.costs import capacity_levels
from topo_opt.solve.modular_capacity import installed_delay_s, solve_modular_capacity

MODULES = (Module(capacity=1000.0, cost=4.0), Module(capacity=2500.0, cost=8.0))


def long_ring():
    """Four routers on a ring of 20,000-km links (0.1 s each, D–A 0.12 s) plus a spur D–E, with
    demands of hundreds of packet/s: a detour (≥ 20 ms) costs far more delay than queueing on
    modules of 1000 packet/s."""
    km = 1e3
    links = [Link(i, a, b, 0.0, length_m=length * km, modules=MODULES) for i, a, b, length in
             (("AB", "A", "B", 20000), ("BC", "B", "C", 20000), ("CD", "C", "D", 20000),
              ("DA", "D", "A", 24000), ("DE", "D", "E", 5000))]
    demands = [Demand("A-C", "A", "C", 600.0), Demand("B-D", "B", "D", 300.0), Demand("A-B", "A", "B", 400.0),
               Demand("E-B", "E", "B", 200.0)]
    return build_network(name="ring", nodes=[Node(n) for n in "ABCDE"], links=links, demands=demands,
                         rate_unit="packet/s")


def lp_least_load(network, arc, detour):
    """min F_arc over fractional multicommodity routings with fixed-delay packets ≤ the least
    plus ``detour`` (one commodity per demand, arc flows), by HiGHS."""
    w = DelayObjective.for_network(network).arc_linear_cost
    n_k, n_a = network.n_demands, network.n_arcs
    incidence = network.node_arc_incidence
    supply = np.zeros((n_k, network.n_nodes))
    supply[np.arange(n_k), network.demand_source] = network.demand_rate
    supply[np.arange(n_k), network.demand_target] = -network.demand_rate
    floor = network.total_packet_rate * min_fixed_delay_s(network)
    cost = np.zeros(n_k * n_a)
    cost[arc::n_a] = 1.0
    lp = linprog(cost, A_ub=np.tile(w, n_k)[None], b_ub=[floor + detour],
                 A_eq=sp.kron(sp.identity(n_k), incidence).tocsc(), b_eq=supply.ravel(), method="highs")
    assert lp.status == 0
    return lp.fun


@pytest.mark.parametrize("detour", [0.0, 1.0, 5.0, 12.0, 30.0])
def test_least_loads_are_the_lp_minimum_of_each_arc(detour):
    network = long_ring()
    w = DelayObjective.for_network(network).arc_linear_cost
    floor, items = _detour_items(network, w)
    assert floor == pytest.approx(network.total_packet_rate * min_fixed_delay_s(network))
    loads = least_arc_loads(network, items, detour)
    for a in range(network.n_arcs):
        assert loads[a] == pytest.approx(lp_least_load(network, a, detour), abs=1e-8 * network.demand_rate.sum())  # Δ less DISTANCE_RTOL
    assert loads.max() > 0  # the spur's arcs cannot be relieved at all


@pytest.mark.parametrize("slack", [0.001, 0.002, 0.01])
def test_detour_bound_never_cuts_off_the_enumerated_optimum(slack):
    """T_max = propagation floor + ``slack`` s; every combination of every link's Pareto list
    (0–4000 packet/s) is tried.  The bound stays below the cheapest design meeting T_max, above the
    flow-cost bound where the delay bound is tight, and so does the solve's bound."""
    network = long_ring()
    t_max = min_fixed_delay_s(network) + slack
    levels = capacity_levels(network, 4000.0, keep_installed=False, thin=False)
    best = cheapest_level_choice(network, levels, t_max)
    bound = detour_bound(network, levels.unit_price(network.n_links), t_max)
    assert 0 < bound <= best * (1 + 1e-9)
    flow_cost = flow_cost_bound(network, levels, network.total_packet_rate * slack)
    if slack < 0.005:
        assert bound > 1.5 * flow_cost
    result = solve_modular_capacity(network, max_delay_s=t_max, keep_installed=False, max_added_capacity=4000.0,
                                    mip_gap=1e-9)
    assert result.details["detour_bound"] == pytest.approx(bound)
    assert result.lower_bound <= best * (1 + 1e-9) <= result.objective * (1 + 2e-9)
    assert check_result(network, result) == []


def test_detour_bound_on_nobel_us_lies_below_a_checked_design():
    """Bundled nobel-us (T_max 0.3 % above the propagation floor): the bound is far above the
    flow-cost bound (1.68e6) and below the installed capacities' square-root design on its own
    routing, rounded up to modules and checked to meet T_max (4.17e6)."""
    from topo_opt.algorithms.capacity_flow_assignment import continuous_design
    from topo_opt.model.costs import covering_levels

    network = read_instance("instances/nobel-us.json")
    t_max = installed_delay_s(network)
    links = np.arange(network.n_links)
    levels = capacity_levels(network, 2 * network.total_demand, keep_installed=False)
    bound = detour_bound(network, levels.unit_price(network.n_links), t_max)
    continuous, _ = continuous_design(network, links, "min-cost", t_max, None, True, 60.0, 1e-4)
    picked = covering_levels(levels, continuous)
    capacity = levels.link_capacity(picked, network.n_links)
    assert min_delay_on_support(network, capacity, gap=1e-9).objective <= t_max
    assert 3.5e6 < bound < levels.cost[picked].sum()
    assert bound > 2 * flow_cost_bound(network, levels, network.total_packet_rate * (
        t_max - min_fixed_delay_s(network)))


def test_a_deadline_leaves_arcs_out_and_only_weakens_the_bound():
    """Past its deadline the bound takes no arc (0); the arcs it takes come in decreasing order of
    the demand on their shortest paths, so the full bound is at least any cut-short one."""
    import time

    network = read_instance("instances/nobel-us.json")
    t_max = installed_delay_s(network)
    price = capacity_levels(network, 2 * network.total_demand, keep_installed=False).unit_price(network.n_links)
    assert detour_bound(network, price, t_max, deadline=time.perf_counter() - 1.0) == 0.0
    w = DelayObjective.for_network(network).arc_linear_cost
    _, items = _detour_items(network, w)
    demand = [rate.sum() for _, rate, _ in items]
    assert demand == sorted(demand, reverse=True) and len(items) > 10
    assert detour_bound(network, price, t_max, evaluations=16) <= detour_bound(network, price, t_max)
