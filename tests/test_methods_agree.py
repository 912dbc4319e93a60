"""Every min-delay method through the front door, on real instances: the shared checker passes
on each output, and the methods agree within their certified gaps (each one's lower bound is
below every other one's objective); on two parallel links every method gives the closed form."""
import math

import numpy as np
import pytest

from topo_opt.io.detect import read_instance
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.model.result import Status
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.dispatch import auto_min_delay_method, solve
from conftest import INSTANCES, MODELS, benchmark_path, parallel_links, real_file

CASES = [real_file("commalab", "grid", "grid1"), real_file("commalab", "planar", "planar30"),
         INSTANCES / "abilene.json", INSTANCES / "nobel-us.json"]
METHODS = ("path-equilibration", "gradient-projection", "outer-approximation", "flow-deviation")


@pytest.mark.parametrize("path", [p for p in CASES], ids=lambda p: p.name)
def test_methods_pass_the_checker_and_agree_within_their_gaps(path):
    network = read_instance(path)
    results = {}
    for method in METHODS:
        # flow deviation converges sublinearly: it is asked for a looser gap
        gap = 1e-4 if method == "flow-deviation" else 1e-6
        card = load_card(MODELS / "min-delay.toml",
                         (f'solver.method="{method}"', f"solver.gap={gap}", "solver.time_limit_s=120"))
        result = solve(network, card)
        assert result.method == method
        assert result.status is Status.OPTIMAL, (method, result.message)
        assert result.gap <= gap
        assert check_result(network, result) == [], method
        results[method] = result
    best_bound = max(r.lower_bound for r in results.values())
    for method, result in results.items():
        assert best_bound <= result.objective * (1 + 1e-9), method
    exact = results["outer-approximation"].objective
    assert results["gradient-projection"].objective == pytest.approx(exact, rel=2e-6)
    assert results["path-equilibration"].objective == pytest.approx(exact, rel=2e-6)


def test_auto_names_the_method_that_ran():
    network = read_instance(INSTANCES / "six-node.json")
    result = solve(network, load_card(MODELS / "min-delay.toml"))
    assert result.method == "gradient-projection"  # small: no compiled kernels to load
    assert result.details["include_fixed_delay"] is True


def test_auto_takes_path_equilibration_from_100_nodes():
    network = read_instance(real_file("commalab", "planar", "planar30"))
    assert solve(network, load_card(MODELS / "min-delay.toml")).method == "gradient-projection"
    network = read_instance(benchmark_path("commalab", "planar", "planar100"))
    result = solve(network, load_card(MODELS / "min-delay.toml"))
    assert result.method == "path-equilibration" and result.status is Status.OPTIMAL
    assert check_result(network, result) == []


@pytest.mark.parametrize("name, method", [("grid8", "gradient-projection"), ("grid10", "gradient-projection"),
                                          ("grid11", "path-equilibration")])
def test_auto_takes_gradient_projection_when_few_demands_leave_each_origin(name, method):
    """625-node grids: 1.5 (grid8) and 3.4 (grid10) demands per origin, where path equilibration
    was 4.2x and 1.3x slower, and 6.4 (grid11), where it was 2x faster (BENCHMARKS.md)."""
    network = read_instance(benchmark_path("commalab", "grid", name))
    assert auto_min_delay_method(network) == method


def test_auto_counts_demands_per_origin_not_per_node():
    """100 nodes on a ring, 99 demands: from one origin path equilibration, one per origin not."""
    nodes = [Node(str(i)) for i in range(100)]
    links = [Link(f"l{i}", str(i), str((i + 1) % 100), capacity=10.0) for i in range(100)]
    one_origin = [Demand(f"d{i}", "0", str(i), rate=0.01) for i in range(1, 100)]
    one_each = [Demand(f"d{i}", str(i), str((i + 1) % 100), rate=0.01) for i in range(1, 100)]
    for demands, method in ((one_origin, "path-equilibration"), (one_each, "gradient-projection")):
        network = build_network(name="ring", nodes=nodes, links=links, demands=demands, rate_unit="packet/s")
        assert auto_min_delay_method(network) == method


CLOSED_FORM_GAP = {"path-equilibration": 1e-12, "gradient-projection": 1e-12, "outer-approximation": 1e-6, "flow-deviation": 1e-10}
#: how close each method's link flows come to the closed form at that gap (the delay is flat
#: near its minimum, so the flows converge like the square root of the gap)
FLOW_RTOL = {"path-equilibration": 1e-8, "gradient-projection": 1e-8, "outer-approximation": 1e-3, "flow-deviation": 1e-6}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("c1, c2, rate", [(10.0, 10.0, 12.0), (10.0, 5.0, 8.0)],
                         ids=["equal-split", "square-root-rule"])
def test_two_parallel_links_give_the_closed_form(method, c1, c2, rate):
    """Two M/M/1 links a -> b: the optimal split x, r − x has (C1 − x)/(C2 − (r − x)) = √(C1/C2)
    (equal links: r/2 each) and T* = (x/(C1 − x) + (r − x)/(C2 − r + x))/r (Kleinrock 1964);
    every method's certified interval [lower bound, objective] holds T*."""
    s = math.sqrt(c1 / c2)
    x = (c1 - s * (c2 - rate)) / (1.0 + s)
    optimum = (x / (c1 - x) + (rate - x) / (c2 - rate + x)) / rate
    network = parallel_links(c1, c2, rate)
    gap = CLOSED_FORM_GAP[method]
    result = solve(network, load_card(MODELS / "min-delay.toml", (f'solver.method="{method}"', f"solver.gap={gap}")))
    assert result.method == method and result.status is Status.OPTIMAL, result.message
    assert check_result(network, result) == []
    assert result.lower_bound <= optimum * (1 + 1e-12)
    assert optimum * (1 - 1e-12) <= result.objective <= optimum * (1 + gap) * (1 + 1e-12)
    np.testing.assert_allclose(result.design.arc_flow(network), [x, rate - x], rtol=FLOW_RTOL[method])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("include_fixed_delay, optimum", [(True, 21e-3), (False, 20e-3)])
def test_single_link_gives_the_closed_form(method, include_fixed_delay, optimum):
    """One M/M/1 link (models.md): 1 Mbit/s, 500-byte packets, 800 kbit/s: T = L/(C − λ) = 20 ms;
    200 km of fibre adds 1 ms of propagation when the fixed delay is included."""
    network = build_network(name="one", nodes=[Node("a"), Node("b")],
                            links=[Link("l", "a", "b", 1e6, length_m=200e3)],
                            demands=[Demand("d", "a", "b", 8e5)], packet_length_bits=4000)
    card = load_card(MODELS / "min-delay.toml", (f'solver.method="{method}"',
                                                 f"objective.include_fixed_delay={str(include_fixed_delay).lower()}"))
    result = solve(network, card)
    assert result.method == method and result.status is Status.OPTIMAL, result.message
    assert check_result(network, result) == []
    assert result.objective == pytest.approx(optimum, rel=1e-12)
    assert result.lower_bound <= optimum * (1 + 1e-12) and result.gap <= card.get("solver.gap")
