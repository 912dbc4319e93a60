"""The shared solution checker catches every kind of broken design it is meant to catch."""
import numpy as np
import pytest

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.model import Demand, Design, Link, Node, Routing, build_network
from topo_opt.model.result import SolveResult, Status
from topo_opt.solve.checker import check_design, check_result


@pytest.fixture
def line():
    return build_network(name="line", nodes=[Node("a"), Node("b"), Node("c")],
                         links=[Link("ab", "a", "b", 10.0), Link("bc", "b", "c", 10.0)],
                         demands=[Demand("d", "a", "c", 4.0)], rate_unit="packet/s")


def _design(network, paths, capacity=None):
    return Design.for_network(network, Routing.from_paths(paths), link_capacity=capacity)


def test_a_valid_design_passes(line):
    assert check_design(line, Design.for_network(line, min_hop_routing(line))) == []


@pytest.mark.parametrize("paths, capacity, match", [
    ([(0, [0, 1], 0.5)], None, "fractions sum to 0.5"),
    ([(0, [0], 1.0)], None, "does not start at its demand's source or end at its target"),
    ([(0, [0, 3], 1.0)], None, "not a walk"),  # arc 3 is c->b
    ([(0, [0, 1], 1.0)], np.array([10.0, 4.0]), "load 4 exceeds capacity 4"),
    ([(0, [0, 1], 1.2), (0, [0, 1], -0.2)], None, "negative path fraction"),
])
def test_broken_designs_are_reported(line, paths, capacity, match):
    problems = check_design(line, _design(line, paths, capacity))
    assert any(match in p for p in problems), problems


def test_flow_on_switched_off_links_and_nodes(line):
    design = Design.for_network(line, min_hop_routing(line), link_on=np.array([True, False]))
    assert "flow on a link that is off" in check_design(line, design)
    design = Design.for_network(line, min_hop_routing(line), node_on=np.array([True, False, True]))
    assert "flow through a node that is off" in check_design(line, design)


def test_reported_numbers_are_recomputed(line):
    design = Design.for_network(line, min_hop_routing(line))
    true_t = 2 * (4.0 / 6.0) / 4.0  # two M/M/1 hops, N = 2·ρ/(1−ρ) with ρ = 0.4, γ = 4
    good = SolveResult(Status.OPTIMAL, "x", "average_delay_s", "s", objective=true_t,
                       lower_bound=true_t * 0.999, design=design)
    assert check_result(line, good) == []
    wrong = SolveResult(Status.OPTIMAL, "x", "average_delay_s", "s", objective=true_t * 0.9,
                        lower_bound=true_t * 0.8, design=design)
    assert any("but the routing gives" in p for p in check_result(line, wrong))
    above = SolveResult(Status.OPTIMAL, "x", "average_delay_s", "s", objective=true_t,
                        lower_bound=true_t * 1.1, design=design)
    assert any("exceeds objective" in p for p in check_result(line, above))
