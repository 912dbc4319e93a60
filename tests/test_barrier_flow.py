"""Barrier (interior-point) Newton method for min-delay routing: closed form, agreement with
gradient projection, path equilibration and the HiGHS cutting planes near capacity, the dispatch
hand-over after a stall, Ctrl-C and bad input."""
import numpy as np
import pytest
from conftest import parallel_links
from test_near_capacity import at_fraction_of_max_flow

from topo_opt.algorithms.barrier_flow import solve_min_delay_barrier
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.algorithms.path_equilibration import solve_min_delay_pe
from topo_opt.errors import InvalidInputError, SolveInterrupted
from topo_opt.evaluators.design_check import check_result
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.model.result import Status
from topo_opt.solve import dispatch
from topo_opt.solve.outer_approximation import solve_min_delay_cuts

CAPACITIES = (10.0, 20.0, 40.0)


def duplex_parallel_links(rate: float):
    """Three duplex links a – b of ``CAPACITIES`` (packet/s), one demand a -> b."""
    links = [Link(f"l{i}", "a", "b", c) for i, c in enumerate(CAPACITIES)]
    return build_network(name="par3", nodes=[Node("a"), Node("b")], links=links,
                         demands=[Demand("ab", "a", "b", rate)], rate_unit="packet/s")


def _certified(network, result, gap):
    assert result.status is Status.OPTIMAL, result.message
    assert result.gap <= gap
    assert check_result(network, result) == []


@pytest.mark.parametrize("utilization, gap, rtol", [(0.5, 1e-12, 1e-9), (0.9, 1e-10, 1e-9), (0.99, 1e-7, 1e-9)])
def test_parallel_links_follow_the_square_root_rule(utilization, gap, rtol):
    """min Σ F_i/(C_i − F_i) s.t. Σ F_i = r: F_i = C_i − √C_i (ΣC − r)/Σ√C (Kleinrock's square-root
    rule; every F_i > 0 at these loads); the reverse arcs carry nothing."""
    capacity = np.array(CAPACITIES)
    rate = utilization * capacity.sum()
    network = duplex_parallel_links(rate)
    result = solve_min_delay_barrier(network, gap=gap, include_fixed_delay=False)
    _certified(network, result, gap)
    expected = capacity - np.sqrt(capacity) * (capacity.sum() - rate) / np.sqrt(capacity).sum()
    flow = result.design.arc_flow(network)
    np.testing.assert_allclose(flow[:3], expected, rtol=rtol)
    np.testing.assert_allclose(flow[3:], 0.0, atol=rtol * rate)
    assert result.objective == pytest.approx(np.sum(expected / (capacity - expected)) / rate, rel=gap)


@pytest.mark.parametrize("fraction", [0.97, 0.99, 0.999])
@pytest.mark.parametrize("name", ["abilene", "nobel-us"])
def test_agrees_with_the_path_methods_and_the_cutting_planes_near_capacity(name, fraction):
    network = at_fraction_of_max_flow(name, fraction)
    barrier = solve_min_delay_barrier(network)
    _certified(network, barrier, 1e-6)
    assert barrier.method == "barrier"
    others = [solve_min_delay_gp(network, gap=1e-7), solve_min_delay_pe(network, gap=1e-7),
              solve_min_delay_cuts(network, gap=1e-6)]
    for other in others:
        assert other.status is Status.OPTIMAL, (other.method, other.message)
        # both certified: each one's objective is at or above the other's bound
        assert barrier.objective >= other.lower_bound * (1 - 1e-12), other.method
        assert other.objective >= barrier.lower_bound * (1 - 1e-12), other.method


def test_cold_and_warm_starts_reach_the_same_optimum():
    network = at_fraction_of_max_flow("abilene", 0.999)
    jammed = solve_min_delay_gp(network, max_iterations=3)  # strictly feasible, gap ~1e-2
    assert jammed.gap > 1e-4
    cold = solve_min_delay_barrier(network)
    warm = solve_min_delay_barrier(network, start=jammed.design.routing)
    for result in (cold, warm):
        _certified(network, result, 1e-6)
    assert warm.objective == pytest.approx(cold.objective, rel=2e-6)


def test_dispatch_hands_a_stall_near_capacity_to_the_barrier_method():
    network = at_fraction_of_max_flow("abilene", 0.999)
    common = dict(gap=1e-6, time_limit_s=None, max_iterations=None, include_fixed_delay=True, callback=None)
    stalled = solve_min_delay_gp(network, max_iterations=3)
    stalled.details["stalled"] = True
    result = dispatch._barrier_after_stall(network, stalled, common)
    _certified(network, result, 1e-6)
    assert result.method == "barrier"
    assert result.details["stalled"] == "gradient-projection" and result.details["stalled_gap"] == stalled.gap
    below = at_fraction_of_max_flow("abilene", 0.5)
    light = solve_min_delay_gp(below, max_iterations=1)
    assert dispatch._barrier_after_stall(below, light, common) is light  # not near capacity: unchanged


def test_auto_hands_a_stall_near_capacity_to_the_barrier_method(monkeypatch):
    """Through the front door: gradient projection's stall (forced: the gap must halve at every
    iteration) at 99.9 % of the max concurrent flow goes to the barrier method."""
    from topo_opt.solve.cards import load_card

    monkeypatch.setattr(dispatch, "AUTO_STALL_ITERATIONS", 1)
    network = at_fraction_of_max_flow("abilene", 0.999)
    result = dispatch.solve(network, load_card("min-delay", ('solver.method="auto"',)))
    _certified(network, result, 1e-6)
    assert result.method == "barrier" and result.details["stalled"] == "gradient-projection"
    assert result.violations == []


def test_path_equilibration_hands_a_jam_near_capacity_to_the_barrier_method():
    network = at_fraction_of_max_flow("polska", 0.999)
    result = solve_min_delay_pe(network)
    _certified(network, result, 1e-6)
    if "handed_over_to" in result.details:  # the jam is the trigger: it depends on the iterates
        assert result.details["handed_over_to"] == "barrier"


def test_barrier_is_a_card_method():
    from topo_opt.solve.cards import load_card

    network = at_fraction_of_max_flow("polska", 0.99)
    result = dispatch.solve(network, load_card("min-delay", ('solver.method="barrier"',)))
    _certified(network, result, 1e-6)
    assert result.method == "barrier" and result.violations == []


def test_ctrl_c_keeps_the_best_iterate():
    network = at_fraction_of_max_flow("abilene", 0.999)

    def interrupt(record):
        if record["iteration"] == 4:
            raise KeyboardInterrupt

    with pytest.raises(SolveInterrupted) as stop:
        solve_min_delay_barrier(network, callback=interrupt)
    partial = stop.value.partial
    assert partial.status is Status.INTERRUPTED and partial.iterations == 4
    assert check_result(network, partial) == []


def test_an_arc_without_a_reverse_arc_is_an_input_error():
    with pytest.raises(InvalidInputError, match="every arc paired with a reverse arc"):
        solve_min_delay_barrier(parallel_links(10.0, 20.0, 12.0))


def test_directed_links_both_ways_pair_up():
    """CommaLab-style directed links, each with a link the other way: the method runs on them."""
    links = [Link("ab", "a", "b", 10.0), Link("ba", "b", "a", 10.0), Link("bc", "b", "c", 10.0),
             Link("cb", "c", "b", 10.0), Link("ac", "a", "c", 10.0), Link("ca", "c", "a", 10.0)]
    network = build_network(name="tri", nodes=[Node(n) for n in "abc"], links=links,
                            demands=[Demand("ac", "a", "c", 12.0)], link_model="directed", rate_unit="packet/s")
    from topo_opt.algorithms.barrier_flow import reverse_arcs

    reverse = reverse_arcs(network)
    assert np.array_equal(reverse[reverse], np.arange(6))
    assert np.array_equal(network.arc_tail[reverse], network.arc_head)
    result = solve_min_delay_barrier(network, gap=1e-9)
    _certified(network, result, 1e-9)
    reference = solve_min_delay_gp(network, gap=1e-9)
    assert result.objective == pytest.approx(reference.objective, rel=2e-9)


def test_ctrl_c_in_the_hand_over_keeps_the_better_answer(monkeypatch):
    network = at_fraction_of_max_flow("abilene", 0.999)
    common = dict(gap=1e-6, time_limit_s=None, max_iterations=None, include_fixed_delay=True, callback=None)
    stalled = solve_min_delay_gp(network, max_iterations=3)

    def interrupt(record):
        if record["iteration"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(SolveInterrupted) as stop:  # the barrier method's first iterate is worse
        dispatch._barrier_after_stall(network, stalled, {**common, "callback": interrupt})
    assert stop.value.partial is stalled and stalled.status is Status.INTERRUPTED
    assert check_result(network, stalled) == []


def test_undirected_links_share_one_queue_both_ways():
    """Both arcs of an undirected link feed one queue (the plain Schur complement, no cycle basis):
    x direct each way and 6 − x via b load the queues 2x, 2(6 − x), 2(6 − x) (packet/s)."""
    from scipy.optimize import minimize_scalar

    links = [Link(f"{u}{v}", u, v, 10.0) for u, v in ["ab", "bc", "ac"]]
    network = build_network(name="tri", nodes=[Node(n) for n in "abc"], links=links,
                            demands=[Demand("ac", "a", "c", 6.0), Demand("ca", "c", "a", 6.0)],
                            link_model="undirected", rate_unit="packet/s")

    def packets(x):
        return 2 * x / (10 - 2 * x) + 2 * (2 * (6 - x)) / (10 - 2 * (6 - x))

    best = minimize_scalar(packets, bounds=(1.0, 4.999), method="bounded", options={"xatol": 1e-12})
    result = solve_min_delay_barrier(network, gap=1e-10)
    _certified(network, result, 1e-10)
    assert result.objective == pytest.approx(best.fun / 12.0, rel=1e-9)


def test_a_stall_away_from_capacity_continues_with_gradient_projection():
    """From 100 nodes the stall rule only serves the barrier hand-over: a stall that is not near
    capacity goes on by gradient projection from its routing, as without the rule."""
    network = at_fraction_of_max_flow("abilene", 0.5)
    common = dict(gap=1e-9, time_limit_s=None, max_iterations=None, include_fixed_delay=True, callback=None)
    stalled = solve_min_delay_pe(network, max_iterations=1)
    stalled.details["stalled"] = True
    assert dispatch._barrier_after_stall(network, stalled, common) is stalled
    result = dispatch._gradient_projection_after_stall(network, stalled, common)
    _certified(network, result, 1e-9)
    assert result.method == "path-equilibration" and result.details["continued_by"] == "gradient-projection"
