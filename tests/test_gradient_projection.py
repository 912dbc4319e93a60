"""Gradient projection: closed forms, real instances, certificates, limits and errors."""
import math
import warnings

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.algorithms.flow_deviation import solve_min_delay_fd
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.io.commalab import read_commalab
from topo_opt.io.sndlib import read_sndlib
from topo_opt.model import Demand, Link, Node, Routing, build_network
from topo_opt.model.result import Status
from topo_opt.model.validation import replace_network
from topo_opt.evaluators.design_check import check_result
from conftest import parallel_links, real_file



def _link_flows(net, result):
    return result.design.arc_flow(net)


def _certified(net, result, gap=1e-6):
    assert result.status is Status.OPTIMAL, result.message
    assert result.gap <= gap
    assert result.lower_bound <= result.objective
    assert check_result(net, result) == []
    assert result.method == "gradient-projection"
    assert (result.objective_name, result.objective_unit) == ("average_delay_s", "s")


def test_ring_splits_symmetrically():
    nodes = [Node(n) for n in "abcd"]
    links = [Link(f"{u}{v}", u, v, 10.0) for u, v in ["ab", "bc", "cd", "da"]]
    net = build_network(name="ring", nodes=nodes, links=links, demands=[Demand("ac", "a", "c", 8.0)],
                        rate_unit="packet/s")
    result = solve_min_delay_gp(net, gap=1e-12)
    _certified(net, result, 1e-12)
    assert result.objective == pytest.approx(4 * (4.0 / 6.0) / 8.0, rel=1e-12)
    np.testing.assert_allclose(result.design.routing.fraction, [0.5, 0.5], rtol=1e-8)


def test_propagation_delay_shifts_the_split():
    net = parallel_links(10.0, 10.0, 12.0, lengths=(1.0e7, None))  # 10 000 km: 50 ms on l1
    tau = 1.0e7 / 2.0e8
    x = brentq(lambda x: 10.0 / (10.0 - x) ** 2 + tau - 10.0 / (x - 2.0) ** 2, 2.0 + 1e-9, 6.0)
    result = solve_min_delay_gp(net, gap=1e-12)
    _certified(net, result, 1e-12)
    np.testing.assert_allclose(_link_flows(net, result), [x, 12.0 - x], rtol=1e-7)
    expected = (x / (10.0 - x) + (12.0 - x) / (x - 2.0) + tau * x) / 12.0
    assert result.objective == pytest.approx(expected, rel=1e-12)
    without = solve_min_delay_gp(net, gap=1e-12, include_fixed_delay=False)
    assert without.objective == pytest.approx(2 * 6.0 / 4.0 / 12.0, rel=1e-12)


def test_undirected_links_share_one_queue_both_ways():
    links = [Link(f"{u}{v}", u, v, 10.0) for u, v in ["ab", "bc", "ac"]]
    net = build_network(name="tri", nodes=[Node(n) for n in "abc"], links=links,
                        demands=[Demand("ac", "a", "c", 6.0), Demand("ca", "c", "a", 6.0)],
                        link_model="undirected", rate_unit="packet/s")

    def packets(x):  # x direct each way, 6 − x via b: queue loads 2x, 2(6 − x), 2(6 − x)
        return 2 * x / (10 - 2 * x) + 2 * (2 * (6 - x)) / (10 - 2 * (6 - x))

    best = minimize_scalar(packets, bounds=(1.0, 4.999), method="bounded", options={"xatol": 1e-12})
    result = solve_min_delay_gp(net, gap=1e-12)
    _certified(net, result, 1e-12)
    assert result.objective == pytest.approx(best.fun / 12.0, rel=1e-9)


@pytest.mark.parametrize("name", ["planar/planar30", "grid/grid1"])
def test_commalab_instances_are_solved_to_a_certified_gap(name):
    net = read_commalab(real_file("commalab", *name.split("/")))
    result = solve_min_delay_gp(net, gap=1e-6)
    _certified(net, result)
    details = result.details
    assert details["lower_bound_source"] == "frank_wolfe_linearisation"
    assert details["n_paths"] == result.design.routing.n_paths
    assert details["n_shortest_path_calls"] == result.iterations == len(result.history)
    bounds = [record["lower_bound"] for record in result.history]
    assert bounds == sorted(bounds)


def test_planar30_matches_the_published_optimum():
    # Σ F/(C − F) = 40.5668 at the optimum (Babonneau and Vial 2009, Kleinrock objective)
    net = read_commalab(real_file("commalab", "planar", "planar30"))
    result = solve_min_delay_gp(net, gap=1e-8)
    assert result.objective * net.total_packet_rate == pytest.approx(40.5668, abs=1e-4)


def test_sndlib_network_with_capacities_sized_on_min_hop():
    net = read_sndlib(real_file("sndlib", "germany50.txt"))
    load = net.queue_load(min_hop_routing(net).arc_flow(net.demand_rate, net.n_arcs))
    per_link = np.zeros(net.n_links)
    np.maximum.at(per_link, net.queue_link, load)
    capacity = 1.5 * per_link + 0.01 * net.demand_rate.max()
    result = solve_min_delay_gp(net, link_capacity=capacity, gap=1e-6)
    _certified(net, result)
    np.testing.assert_array_equal(result.design.link_capacity, capacity)


def test_gradient_projection_and_flow_deviation_agree_within_their_gaps():
    net = read_commalab(real_file("commalab", "grid", "grid1"))
    gp = solve_min_delay_gp(net, gap=1e-8)
    fd = solve_min_delay_fd(net, gap=1e-3)
    assert fd.status is Status.OPTIMAL and check_result(net, fd) == []
    # both bounds are below both objectives: each certificate holds for the other's routing
    assert gp.lower_bound <= fd.objective and fd.lower_bound <= gp.objective
    assert abs(gp.objective - fd.objective) <= (fd.objective - fd.lower_bound) + (gp.objective - gp.lower_bound)


def test_iteration_and_time_limits_return_the_best_design_and_bound():
    net = read_commalab(real_file("commalab", "planar", "planar30"))
    records = []
    result = solve_min_delay_gp(net, gap=1e-9, max_iterations=2, callback=records.append)
    assert result.status is Status.ITERATION_LIMIT
    assert len(records) == 2 and records == result.history
    assert set(records[0]) == {"iteration", "time_s", "objective", "lower_bound", "gap"}
    assert math.isfinite(result.lower_bound) and result.lower_bound <= result.objective
    assert check_result(net, result) == []
    small = parallel_links(10.0, 5.0, 8.0)  # min-hop is a strictly feasible start
    timed = solve_min_delay_gp(small, gap=1e-9, time_limit_s=0.0)
    assert timed.status is Status.TIME_LIMIT and timed.iterations == 1
    assert check_result(small, timed) == []


def test_given_start_and_bad_start():
    net = parallel_links(10.0, 20.0, 12.0)
    on_l2 = Routing(np.array([0]), np.array([1.0]), np.array([0, 1]), np.array([1]))
    result = solve_min_delay_gp(net, start=on_l2, gap=1e-10)
    _certified(net, result, 1e-10)
    with pytest.raises(InvalidInputError, match=r"start routing: link 'l2' carries 12 packet/s, not below "
                                                r"its capacity 10 packet/s"):
        solve_min_delay_gp(net, start=on_l2, link_capacity=np.array([20.0, 10.0]))


def test_infeasible_and_unreachable_demands():
    with pytest.raises(InfeasibleError, match=r"links .* cannot carry demands 'ab'") as err:
        solve_min_delay_gp(parallel_links(5.0, 5.0, 12.0))
    assert set(err.value.details["saturated_links"]) == {"l1", "l2"}
    assert err.value.details["max_utilization_lower_bound"] >= 1.0
    net = build_network(name="cut", nodes=[Node("a"), Node("b"), Node("c")],
                        links=[Link("ab", "a", "b", 1.0)], demands=[Demand("cb", "c", "b", 0.5)])
    with pytest.raises(InfeasibleError, match=r"demand 'cb' cannot be routed"):
        solve_min_delay_gp(net)


def test_zero_capacity_is_rejected():
    net = parallel_links(10.0, 10.0, 1.0)
    with pytest.raises(InvalidInputError, match=r"link 'l2': capacity must be > 0 for min-delay routing, "
                                                r"got 0 packet/s"):
        solve_min_delay_gp(net, link_capacity=np.array([10.0, 0.0]))


def test_no_demands_is_an_input_error():
    from topo_opt.errors import InvalidInputError
    from topo_opt.io.detect import read_instance

    abilene = read_instance("instances/abilene.json")
    with pytest.raises(InvalidInputError, match="has no demands to route"):
        solve_min_delay_gp(replace_network(abilene, demands=()))


@pytest.mark.parametrize("method", ["gradient-projection", "path-equilibration"])
def test_capacities_within_rounding_of_the_flows_neither_overflow_nor_worsen_the_start(method):
    """Capacities 1e-15 above the loads of a strictly feasible start (a continuous design at a
    huge T_max gives such capacities): slacks below the rounding of the loads made curvatures
    negative, and gradient projection's conjugate-gradient preconditioner overflowed (1/tiny)
    or divided by zero.  Now no RuntimeWarning; the answer is a strictly feasible routing no
    worse than the start, with a bound below it."""
    from topo_opt.algorithms.baselines import min_hop_sized
    from topo_opt.algorithms.path_equilibration import solve_min_delay_pe
    from topo_opt.evaluators.delay import DelayObjective

    net = min_hop_sized(read_sndlib(real_file("sndlib", "abilene.txt")))
    start = min_hop_routing(net)
    load = net.queue_load(start.arc_flow(net.demand_rate, net.n_arcs))
    capacity = np.zeros(net.n_links)
    np.maximum.at(capacity, net.queue_link, load)
    capacity = np.where(capacity > 0, capacity * (1 + 1e-15), net.link_capacity)
    start_delay = DelayObjective.for_network(net, capacity).value(start.arc_flow(net.demand_rate, net.n_arcs))
    assert math.isfinite(start_delay)
    run = solve_min_delay_gp if method == "gradient-projection" else solve_min_delay_pe
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = run(net, link_capacity=capacity, start=start, gap=1e-6, max_iterations=50)
    assert math.isfinite(result.objective) and result.objective <= start_delay
    assert result.lower_bound <= result.objective
    assert check_result(net, result) == []
