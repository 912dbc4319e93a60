"""Path equilibration: an overloaded start (the closed forms of every min-delay method are in
test_methods_agree.py), the Taylor continuation, agreement with the other methods on
real instances (within the certified gaps), the shared checker, hand-over and errors."""
import numpy as np
import pytest

from topo_opt.algorithms.equilibration_kernel import continued_queue_cost, equilibrate
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.algorithms.path_equilibration import solve_min_delay_pe
from topo_opt.errors import InfeasibleError, InvalidInputError, SolveInterrupted
from topo_opt.io.detect import read_instance
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.outer_approximation import solve_min_delay_cuts
from topo_opt.model.result import Status
from conftest import INSTANCES, benchmark_path, parallel_links, real_file


def _certified(net, result, gap):
    assert result.status is Status.OPTIMAL, result.message
    assert result.method == "path-equilibration"
    assert result.lower_bound <= result.objective and result.gap <= gap
    assert check_result(net, result) == []


def test_two_equal_parallel_links_split_evenly_from_an_overloaded_start():
    # all-or-nothing puts 12 packet/s on one link of capacity 10: the start is beyond capacity
    net = parallel_links(10.0, 10.0, 12.0)
    result = solve_min_delay_pe(net, gap=1e-12)
    _certified(net, result, 1e-12)
    np.testing.assert_allclose(result.design.arc_flow(net), [6.0, 6.0], rtol=1e-8)
    assert result.objective == pytest.approx(2 * 6.0 / 4.0 / 12.0, rel=1e-12)  # N = 3, γ = 12
    assert "handed_over_to" not in result.details and result.details["max_utilization"] < 0.99


def test_continuation_is_the_taylor_polynomial_and_underestimates():
    capacity, knee = np.full(5, 10.0), np.full(5, 9.0)
    load = np.array([0.0, 5.0, 9.0, 9.5, 30.0])
    value, first, second = continued_queue_cost(load, capacity, knee)
    exact = load[:3] / (capacity[:3] - load[:3])
    np.testing.assert_allclose(value[:3], exact, rtol=1e-15)
    np.testing.assert_allclose(first[:3], capacity[:3] / (capacity[:3] - load[:3]) ** 2, rtol=1e-15)
    d = load[3:] - 9.0  # f(9) = 9, f'(9) = 10, f''(9) = 20
    np.testing.assert_allclose(value[3:], 9.0 + 10.0 * d + 10.0 * d ** 2, rtol=1e-15)
    np.testing.assert_allclose(first[3:], 10.0 + 20.0 * d, rtol=1e-15)
    assert value[3] < 9.5 / 0.5 and np.all(second[3:] == 20.0)


def test_sweeps_stop_only_when_the_restricted_gap_holds_on_the_final_loads():
    # 30 demands, each on 3 random paths over 12 shared queues, all flow on its first path:
    # the active sweeps skip balanced demands on stale excesses, so the stop must be checked
    # afresh on the flows and loads they return
    rng = np.random.default_rng(0)
    n_queues, n_demands = 12, 30
    arcs = [rng.choice(n_queues, size=rng.integers(1, 5), replace=False) for _ in range(3 * n_demands)]
    path_ptr = np.cumsum([0] + [len(a) for a in arcs])
    path_arcs = np.concatenate(arcs).astype(np.int64)
    demand_ptr = np.arange(0, 3 * n_demands + 1, 3)
    rate = rng.uniform(0.5, 1.5, n_demands)
    flow = np.zeros(3 * n_demands)
    flow[demand_ptr[:-1]] = rate
    capacity, linear = np.full(n_queues, 40.0), np.zeros(n_queues)
    knee, queue = 0.99 * capacity, np.arange(n_queues)
    incidence = np.zeros((3 * n_demands, n_queues))
    for p, a in enumerate(arcs):
        incidence[p, a] = 1.0
    load = flow @ incidence
    sweeps, _ = equilibrate(demand_ptr, path_ptr, path_arcs, flow, rate, queue, linear, capacity,
                            knee, load, 1000, 1e-5)
    assert 1 < sweeps < 1000
    np.testing.assert_allclose(load, flow @ incidence, rtol=1e-12)
    np.testing.assert_allclose(flow.reshape(n_demands, 3).sum(axis=1), rate, rtol=1e-12)
    assert np.all(flow >= 0.0)
    length = (incidence @ continued_queue_cost(load, capacity, knee)[1]).reshape(n_demands, 3)
    restricted = np.sum((flow.reshape(n_demands, 3) * length).sum(axis=1) - rate * length.min(axis=1))
    assert restricted <= 1e-5


@pytest.mark.parametrize("path", [real_file("commalab", "planar", "planar30"), INSTANCES / "nobel-us.json"],
                         ids=lambda p: p.name)
def test_lower_bounds_under_continuation_stay_below_the_optimum(path):
    """ρ̄ = 0.3 makes the continuation active on the iterates: every bound recorded (of T̃ under
    each knee, raised past the certified iterates above it) is below T* ≤ the objective of the
    HiGHS cutting-plane method, and the answers agree within the two certified gaps."""
    network = read_instance(path)
    bounds = []
    result = solve_min_delay_pe(network, gap=1e-7, continuation_utilization=0.3,
                                callback=lambda record: bounds.append(record["lower_bound"]))
    exact = solve_min_delay_cuts(network, gap=1e-6)
    assert result.details["continuation_utilization"] > 0.3  # raised
    assert len(bounds) >= 2 and max(bounds) <= exact.objective * (1 + 1e-12)
    # both certified to gap 0 on nobel-us: their bounds and objectives meet within rounding
    assert exact.lower_bound <= result.objective * (1 + 1e-12) and result.lower_bound <= exact.objective * (1 + 1e-12)
    assert check_result(network, result) == []


@pytest.mark.parametrize("parts", [("commalab", "planar", "planar50"), ("commalab", "grid", "grid2"),
                                   ("commalab", "grid", "grid3")], ids=lambda p: p[-1])
def test_agrees_with_gradient_projection_and_cutting_planes(parts):
    network = read_instance(benchmark_path(*parts))
    results = {"pe": solve_min_delay_pe(network, gap=1e-7), "gp": solve_min_delay_gp(network, gap=1e-7),
               "cuts": solve_min_delay_cuts(network, gap=1e-7)}
    _certified(network, results["pe"], 1e-7)
    for name, result in results.items():
        assert check_result(network, result) == [], name
        for other in results.values():  # each one's bound below every other one's objective
            assert result.lower_bound <= other.objective * (1 + 1e-12), name


def test_near_capacity_raises_the_knee_past_the_optimum():
    # optimum splits 19.9 as 9.95 + 9.95: utilisation 0.995 ≥ ρ̄ = 0.99
    net = parallel_links(10.0, 10.0, 19.9)
    result = solve_min_delay_pe(net, gap=1e-10)
    assert "handed_over_to" not in result.details
    assert 0.995 < result.details["continuation_utilization"] < 1.0
    assert result.status is Status.OPTIMAL and check_result(net, result) == []
    assert result.objective == pytest.approx(2 * 9.95 / 0.05 / 19.9, rel=1e-9)


def test_beyond_the_highest_knee_hands_over_to_the_exact_machinery():
    # optimum at utilisation 1 - 5e-7, beyond MAX_CONTINUATION_UTILIZATION = 1 - 1e-6
    net = parallel_links(10.0, 10.0, 20.0 * (1 - 5e-7))
    result = solve_min_delay_pe(net, gap=1e-8)
    assert result.details["handed_over_to"] == "gradient-projection"
    assert result.status is Status.OPTIMAL and check_result(net, result) == []
    assert result.objective == pytest.approx(2 * 9.999995 / 5e-6 / (20.0 * (1 - 5e-7)), rel=1e-7)


def test_infeasible_and_bad_input_raise():
    with pytest.raises(InfeasibleError, match="cannot carry"):
        solve_min_delay_pe(parallel_links(10.0, 10.0, 20.5))
    with pytest.raises(InvalidInputError, match="continuation_utilization"):
        solve_min_delay_pe(parallel_links(10.0, 10.0, 5.0), continuation_utilization=1.0)
    with pytest.raises(InvalidInputError, match="capacity must be > 0"):
        solve_min_delay_pe(parallel_links(10.0, 0.0, 5.0))


@pytest.mark.parametrize("name", ("abilene", "polska", "nobel-us", "geant"))
def test_infeasible_real_instances_hand_over_without_crawling(name):
    # just beyond the max concurrent flow, the continued problem's iterates crawled towards its
    # optimum (74-400 certificates, germany50 without one link: 101 s) before the exact method
    # said infeasible; a certified iterate within 1e-3 that still loads a queue to C hands over
    from test_near_capacity import at_fraction_of_max_flow

    network = at_fraction_of_max_flow(name, 1.01)
    certificates = []
    with pytest.raises(InfeasibleError, match=r"infeasible: max utilisation >= 1\.0\d*; saturated links .* cannot carry demands"):
        solve_min_delay_pe(network, gap=1e-6, callback=certificates.append)
    assert len(certificates) <= 30


def test_ctrl_c_keeps_a_certified_iterate_and_the_best_bound():
    network = read_instance(real_file("commalab", "planar", "planar30"))
    records = []

    def stop_at_second(record):
        records.append(record)
        if len(records) == 2:
            raise KeyboardInterrupt

    with pytest.raises(SolveInterrupted) as stop:
        solve_min_delay_pe(network, gap=1e-12, callback=stop_at_second)
    partial = stop.value.partial
    assert partial.status is Status.INTERRUPTED and partial.method == "path-equilibration"
    assert partial.lower_bound == pytest.approx(records[-1]["lower_bound"], rel=1e-12)
    assert partial.lower_bound <= partial.objective  # the objective of the kept routing, recomputed:
    assert check_result(network, partial) == []
