"""The shared solution checker catches every kind of broken design it is meant to catch."""
import numpy as np
import pytest

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.model import Demand, Design, Link, Node, Routing, build_network
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.model.result import Solution, SolveResult, Status, Termination
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_design, check_result
from topo_opt.solve.checker import check_card


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


def _delay_result(network, **details):
    design = Design.for_network(network, min_hop_routing(network))
    delay = DelayObjective.for_network(network).value(design.arc_flow(network))
    return SolveResult(Status.OPTIMAL, "test", "average_delay_s", "s", objective=delay, lower_bound=delay,
                       design=design, details=details), delay


def test_card_check_finds_a_violated_utilisation_cap_and_delay_bounds(line):
    """Min-hop on the line: load 4 on capacity 10 (u = 0.4); T = 2 × 1/(10 − 4) / 4 packets/s."""
    card = load_card("modular-capacity", ("constraints.max_utilization=0.3",))
    result, delay = _delay_result(line, max_delay_s=None)
    assert delay == pytest.approx(2 / 6 * 4 / 4)
    problems = check_card(line, card, result)
    assert len(problems) == 1 and "above 0.3 × capacity 10" in problems[0]
    result, _ = _delay_result(line, max_delay_s=0.9 * delay, max_demand_delay_bound_s=0.25)
    problems = check_card(line, load_card("modular-capacity"), result)
    assert any("above the bound" in p for p in problems)
    assert any("above the per-demand bound 0.25 s" in p for p in problems)  # the path takes 1/3 s


def test_a_design_failing_its_card_is_never_a_success(line):
    result, _ = _delay_result(line, max_delay_s=0.1)  # T = 1/3 s
    assert result.success and result.solution is Solution.OPTIMAL
    result.violations = check_card(line, load_card("modular-capacity"), result)
    assert result.violations
    assert result.solution is Solution.NONE and not result.success
    assert result.termination is Termination.CONVERGED and result.status is Status.OPTIMAL


@pytest.mark.parametrize("status, bound, termination, solution", [
    (Status.OPTIMAL, 1.0, Termination.CONVERGED, Solution.OPTIMAL),
    (Status.FEASIBLE, 1.0, Termination.CONVERGED, Solution.FEASIBLE_WITH_BOUND),
    (Status.FEASIBLE, -np.inf, Termination.CONVERGED, Solution.FEASIBLE_WITHOUT_BOUND),
    (Status.TIME_LIMIT, 1.0, Termination.TIME_LIMIT, Solution.FEASIBLE_WITH_BOUND),
    (Status.ITERATION_LIMIT, -np.inf, Termination.ITERATION_LIMIT, Solution.FEASIBLE_WITHOUT_BOUND),
    (Status.INTERRUPTED, 1.0, Termination.INTERRUPTED, Solution.FEASIBLE_WITH_BOUND),
])
def test_status_maps_to_termination_and_solution(line, status, bound, termination, solution):
    result = SolveResult(status, "test", "average_delay_s", "s", objective=2.0, lower_bound=bound,
                         design=Design.for_network(line, min_hop_routing(line)))
    assert (result.termination, result.solution) == (termination, solution)
    assert result.success == (termination is Termination.CONVERGED)
    empty = SolveResult(Status.INFEASIBLE, "test", "average_delay_s", "s")
    assert (empty.termination, empty.solution, empty.success) == (Termination.INFEASIBLE, Solution.NONE, False)


def test_a_milp_stopped_before_any_design_is_a_status_not_an_error():
    """The min-power MILP with no time at all: status time_limit, no design (solution none) with
    D_max (no switch-off start); with T_max alone the start is the design."""
    from topo_opt.io.detect import read_instance
    from topo_opt.solve.dispatch import solve

    network = read_instance("instances/six-node.json")
    result = solve(network, load_card("earp-min-power", ("solver.time_limit_s=0",
                                                         "constraints.max_demand_delay_s=0.5")))
    assert (result.status, result.termination, result.solution) == \
        (Status.TIME_LIMIT, Termination.TIME_LIMIT, Solution.NONE)
    assert result.design is None and not result.success
    assert result.message.startswith("MILP stopped without a solution: Time limit reached")
    started = solve(network, load_card("earp-min-power", ("solver.time_limit_s=0",)))
    assert started.status is Status.TIME_LIMIT and started.design is not None
    assert "the switch-off start reported" in started.message and started.details["delay_bound_met"]
