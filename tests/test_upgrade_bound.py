"""Upgrade bounds (flow cost, single-link screen, Lagrangian) against enumerated optima."""
import itertools
import math

import numpy as np
import pytest

from topo_opt.algorithms.min_cost_routing import flow_cost_bound
from topo_opt.algorithms.modular_lagrangian_bound import lagrangian_bound
from topo_opt.algorithms.support_routing import min_delay_on_support
from topo_opt.errors import InfeasibleError
from topo_opt.evaluators.design_check import check_result
from topo_opt.model import Demand, Link, Module, Node, build_network
from topo_opt.model.costs import capacity_levels
from topo_opt.solve.modular_capacity import solve_modular_capacity

MODULES = {"AB": Module(capacity=1.0, cost=3.0), "BC": Module(capacity=1.0, cost=2.0),
           "AC": Module(capacity=1.0, cost=4.0), "CD": Module(capacity=1.0, cost=1.0),
           "BD": Module(capacity=1.0, cost=5.0)}
CAP = 24.0  # modules of 1 up to 24 added per link: 25 levels, thinned to 20


def upgrade_network(processing_s=0.0):
    """Four routers, five links with installed capacity 10 (packet/s) and one module each."""
    nodes = [Node(n, processing_delay_s=processing_s) for n in "ABCD"]
    links = [Link(name, name[0], name[1], 10.0, modules=(module,)) for name, module in MODULES.items()]
    demands = [Demand("A-D", "A", "D", 6.0), Demand("B-C", "B", "C", 4.0), Demand("A-B", "A", "B", 3.0),
               Demand("C-A", "C", "A", 2.0)]
    return build_network(name="upgrade4", nodes=nodes, links=links, demands=demands, rate_unit="packet/s")


def delay(network, capacity, include_fixed_delay):
    try:
        return min_delay_on_support(network, capacity, gap=1e-10, include_fixed_delay=include_fixed_delay).objective
    except InfeasibleError:
        return math.inf


def enumerated_upgrade(network, t_max, include_fixed_delay, most=20.0):
    """Cheapest module counts (any count up to CAP per link) whose min-delay T ≤ t_max: every
    choice costing at most ``most`` is tried in order of cost, so the first that meets it is optimal."""
    unit = np.asarray([MODULES[link.id].cost for link in network.links])
    choices = [counts for counts in itertools.product(*(range(int(min(CAP, most // u)) + 1) for u in unit))
               if unit @ np.asarray(counts) <= most]
    for counts in sorted(choices, key=lambda counts: unit @ np.asarray(counts)):
        if delay(network, network.link_capacity + np.asarray(counts), include_fixed_delay) <= t_max:
            return float(unit @ np.asarray(counts))
    raise AssertionError(f"no upgrade costs at most {most}")


CASES = [(0.21, False), (0.19, False), (0.245, True), (0.235, True)]


@pytest.mark.parametrize("t_max, fixed", CASES)
def test_upgrade_bounds_never_exceed_the_enumerated_optimum(t_max, fixed):
    network = upgrade_network(processing_s=0.02 if fixed else 0.0)
    optimum = enumerated_upgrade(network, t_max, fixed)
    levels = capacity_levels(network, CAP, True, target_capacity=network.link_capacity)
    assert levels.truncated  # the bounds must hold over the combinations that were dropped too
    installed = min_delay_on_support(network, network.link_capacity, gap=1e-10, include_fixed_delay=fixed)
    assert installed.lower_bound > t_max  # the installed network is proven too small: the cover applies
    load = network.queue_load(installed.design.arc_flow(network))
    capacity = network.queue_capacity()
    marginal = capacity / (capacity - load) ** 2
    for listed in (levels, capacity_levels(network, CAP, True, thin=False)):  # thinned, then every Pareto level
        lagrangian = lagrangian_bound(network, listed, t_max, marginal, include_fixed_delay=fixed, target=optimum,
                                      cover=True)
        assert 0 < lagrangian.value <= optimum * (1 + 1e-9)
    floor = 0.0 if not fixed else 0.02  # every demand leaves at least one node
    packets = network.total_packet_rate * (t_max - floor)
    assert flow_cost_bound(network, levels, packets, installed=network.link_capacity) <= optimum * (1 + 1e-9)
    result = solve_modular_capacity(network, max_delay_s=t_max, include_fixed_delay=fixed, keep_installed=True,
                                    mip_gap=1e-9, max_added_capacity=CAP, time_limit_s=10)
    assert result.lower_bound <= optimum * (1 + 1e-9) <= result.objective * (1 + 1e-9)
    parts = result.details["starting_design"]["upgrade_bound"]
    assert all(parts[name] <= optimum * (1 + 1e-9) for name in ("flow_cost", "single_link", "lagrangian"))
    assert check_result(network, result) == []
    assert delay(network, result.design.link_capacity, fixed) <= t_max * (1 + 1e-9)


def test_upgrade_bound_closes_the_gap_before_the_milp():
    """On this instance greedy addition finds the optimum and the single-link screen proves it:
    no MILP round is run."""
    network = upgrade_network(processing_s=0.02)
    optimum = enumerated_upgrade(network, 0.245, True)
    result = solve_modular_capacity(network, max_delay_s=0.245, keep_installed=True, mip_gap=1e-9,
                                    max_added_capacity=CAP)
    assert result.objective == pytest.approx(optimum) and result.lower_bound == pytest.approx(optimum)
    assert result.status.value == "optimal" and result.iterations == 0
    assert result.details["starting_design"]["upgrade_bound"]["source"] == "single_link"


def test_greedy_upgrade_meets_the_delay_bound_from_any_start():
    from topo_opt.algorithms.greedy_upgrade import greedy_upgrade
    from topo_opt.model.costs import covering_levels
    from topo_opt.solve.modular_capacity import _upgrade_route

    network = upgrade_network()
    levels = capacity_levels(network, CAP, True, target_capacity=network.link_capacity)
    route = _upgrade_route(network, levels, 0.19, 1.0, False)
    installed = covering_levels(levels, network.link_capacity)
    for start in (None, covering_levels(levels, network.link_capacity + np.array([3.0, 0, 0, 2.0, 0]))):
        picked = greedy_upgrade(network, levels, route, 100, start)
        capacity = np.zeros(network.n_links)
        capacity[levels.link[picked]] = levels.capacity[picked]
        assert delay(network, capacity, False) <= 0.19
        assert np.all(picked >= (installed if start is None else start))  # it only adds modules
    assert greedy_upgrade(network, levels, route, 1) is None  # one routing: the installed network, too slow
