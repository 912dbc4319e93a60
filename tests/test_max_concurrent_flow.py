"""Feasibility phase: strictly feasible flows, infeasibility certificates, column generation past the budget."""

import numpy as np
import pytest

from topo_opt.algorithms.max_concurrent_flow import feasible_start, find_feasible_flow
from topo_opt.errors import InfeasibleError, InvalidInputError, TopoOptError
from topo_opt.io.commalab import read_commalab
from topo_opt.model import Demand, Design, Link, Node, Routing, build_network
from topo_opt.model.validation import replace_network
from topo_opt.evaluators.design_check import check_design
from topo_opt.solve.lp_methods import solve_max_utilization
from conftest import real_file



def _two_routes(rate, capacity=5.0, extra_demands=()):
    """s -> a -> t and s -> b -> t (directed), every link of ``capacity``; demand s -> t."""
    links = [Link(f"{u}{v}", u, v, capacity) for u, v in [("s", "a"), ("a", "t"), ("s", "b"), ("b", "t")]]
    return build_network(name="two", nodes=[Node(n) for n in "sabt"], links=links,
                         demands=[Demand("st", "s", "t", rate), *extra_demands],
                         link_model="directed", rate_unit="packet/s")


def _max_utilisation(net, routing):
    load = net.queue_load(routing.arc_flow(net.demand_rate, net.n_arcs))
    return float(np.max(load / net.queue_capacity()))


@pytest.mark.parametrize("name", ["planar/planar30", "grid/grid2", "planar/planar50"])
def test_strictly_feasible_flow_where_min_hop_saturates(name):
    net = read_commalab(real_file("commalab", *name.split("/")))
    start = find_feasible_flow(net)
    assert start.max_utilization_upper_bound < 1.0
    assert start.max_utilization_upper_bound == pytest.approx(_max_utilisation(net, start.routing), rel=1e-12)
    assert 0.0 <= start.max_utilization_lower_bound <= start.max_utilization_upper_bound
    assert check_design(net, Design.for_network(net, start.routing)) == []


def test_split_demand_is_feasible_below_the_cut():
    net = _two_routes(8.0)  # U* = 8/10
    start = find_feasible_flow(net)
    assert start.max_utilization_upper_bound < 1.0
    assert check_design(net, Design.for_network(net, start.routing)) == []


def test_demand_above_the_min_cut_is_infeasible_with_the_cut_and_the_demand():
    net = _two_routes(12.0, extra_demands=[Demand("ab", "a", "b", 0.1)])  # a -> b has no path
    with pytest.raises(InfeasibleError, match="demand 'ab' cannot be routed"):
        find_feasible_flow(net)
    net = _two_routes(12.0)  # U* = 12/10
    with pytest.raises(InfeasibleError, match=r"^two: infeasible: max utilisation >= 1\.\d+; saturated links .* "
                                              r"\(capacity 10 packet/s\) cannot carry demands 'st' \(12 packet/s\)$") as err:
        find_feasible_flow(net)
    details = err.value.details
    assert 1.0 <= details["max_utilization_lower_bound"] <= 1.2 + 1e-9
    assert details["demands"] == ["st"] and details["cut_capacity"] == 10.0 and details["cut_demand"] == 12.0
    cut = set(details["saturated_links"])
    assert cut in ({"sa", "sb"}, {"at", "bt"}, {"sa", "bt"}, {"at", "sb"}) or cut == {"sa", "sb", "at", "bt"}


def _triangle(rate_ac, extra=(), link_model="duplex"):
    """a-c directly (capacity 5) or through b (ab 10, bc 20); node e isolated."""
    links = [Link("ab", "a", "b", 10.0), Link("bc", "b", "c", 20.0), Link("ac", "a", "c", 5.0)]
    return build_network(name="tri", nodes=[Node(n) for n in "abce"], links=links,
                         demands=[Demand("d", "a", "c", rate_ac), *extra], rate_unit="packet/s",
                         link_model=link_model)


def test_demand_above_the_min_cut_names_the_cut_and_the_demand():
    # cut {ab, ac} has capacity 15 < 20 (U* = 4/3); b -> c (rate 1) is not separated by it
    net = _triangle(20.0, extra=[Demand("small", "b", "c", 1.0)])
    with pytest.raises(InfeasibleError, match=r"^tri: infeasible: max utilisation >= 1\.\d+; saturated links "
                                              r"'a[bc]', 'a[bc]' \(capacity 15 packet/s\) cannot carry demands "
                                              r"'d' \(20 packet/s\)$") as info:
        find_feasible_flow(net)
    details = info.value.details
    assert 1.0 <= details["max_utilization_lower_bound"] <= 4 / 3 * (1 + 1e-9)
    assert set(details["saturated_links"]) == {"ab", "ac"} and details["demands"] == ["d"]
    assert details["cut_capacity"] == pytest.approx(15.0) and details["cut_demand"] == pytest.approx(20.0)


def test_directed_links_are_one_way_and_zero_capacity_links_carry_nothing():
    net = _triangle(1.0, extra=[Demand("back", "c", "a", 1.0)], link_model="directed")
    with pytest.raises(InfeasibleError, match="demand 'back' cannot be routed: no usable path"):
        find_feasible_flow(net)
    with pytest.raises(InfeasibleError, match="demand 'd' cannot be routed: no capacity on any path") as info:
        find_feasible_flow(_triangle(1.0), link_capacity=np.array([0.0, 20.0, 0.0]))
    assert info.value.details == {"reason": "no_capacity", "demands": ["d"]}


def test_the_lower_bound_certifies_the_cut_value():
    # one bottleneck link of capacity 3 shared by two demands of 2: U* = 4/3
    links = [Link("xy", "x", "y", 3.0), Link("ax", "a", "x", 10.0), Link("bx", "b", "x", 10.0)]
    net = build_network(name="bottleneck", nodes=[Node(n) for n in "abxy"], links=links,
                        demands=[Demand("ay", "a", "y", 2.0), Demand("by", "b", "y", 2.0)],
                        link_model="directed", rate_unit="packet/s")
    with pytest.raises(InfeasibleError) as err:
        find_feasible_flow(net)
    assert 1.0 <= err.value.details["max_utilization_lower_bound"] <= 4.0 / 3.0  # weak duality
    assert err.value.details["saturated_links"] == ["xy"]
    assert sorted(err.value.details["demands"]) == ["ay", "by"]


def test_column_generation_decides_when_the_budget_does_not():
    net = read_commalab(real_file("commalab", "grid", "grid2"))
    start = find_feasible_flow(net, max_iterations=1)  # one Frank–Wolfe step cannot decide grid2
    u_star = solve_max_utilization(net).lower_bound  # the arc formulation, by Pyomo and HiGHS
    assert start.max_utilization_upper_bound == pytest.approx(_max_utilisation(net, start.routing), rel=1e-12)
    assert start.max_utilization_lower_bound <= u_star * (1 + 1e-7)
    assert u_star <= start.max_utilization_upper_bound * (1 + 1e-7) and start.max_utilization_upper_bound < 1.0
    assert check_design(net, Design.for_network(net, start.routing)) == []


def test_column_generation_respects_the_time_limit():
    """Spent time limit: no master LP is started; the answer says undecided with the bracket
    (gabriel/100/0 at 0.999 of its max concurrent flow ran 67 s past a 30 s limit here)."""
    net = read_commalab(real_file("commalab", "grid", "grid2"))
    with pytest.raises(TopoOptError, match=r"undecided within the time limit: the least max utilisation is in \["):
        find_feasible_flow(net, max_iterations=1, time_limit_s=0.0)


def test_feasible_start_prefers_min_hop_and_checks_a_given_start():
    net = _two_routes(4.0)
    paths, flow = feasible_start(net, None, None, None)
    assert paths.n_paths == 1 and flow[0] == 4.0          # min-hop is strictly feasible
    paths, flow = feasible_start(net, np.full(4, 3.0), None, None)
    assert _max_utilisation(replace_network(net, links=[Link(k.id, k.source, k.target, 3.0) for k in net.links]),
                            paths.carrying(flow, net.n_demands)) < 1.0
    one_path = Routing(np.array([0]), np.array([1.0]), np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(InvalidInputError, match=r"start routing: link 'sa' carries 4 packet/s, not below "
                                                r"its capacity 4 packet/s"):
        feasible_start(net, np.full(4, 4.0), one_path, None)


@pytest.mark.parametrize("rate, feasible", [(9.99, True), (10.01, False)])
def test_column_generation_prices_in_the_second_route(rate, feasible):
    net = _two_routes(rate)  # U* = rate / 10; one Frank–Wolfe step routes all on one route (U = rate / 5)
    if feasible:
        start = find_feasible_flow(net, max_iterations=1)
        assert start.max_utilization_upper_bound == pytest.approx(rate / 10, rel=1e-9)
        assert start.routing.n_paths == 2
    else:
        with pytest.raises(InfeasibleError, match=r"max utilisation >= 1\.001") as err:
            find_feasible_flow(net, max_iterations=1)
        assert err.value.details["max_utilization_lower_bound"] == pytest.approx(rate / 10, rel=1e-9)
        assert err.value.details["demands"] == ["st"]


def test_the_warm_master_has_the_optimum_of_the_same_paths_solved_from_scratch():
    """The master grown by columns (re-solved from its last basis) against scipy's HiGHS on the
    whole path set at once, after each of three pricing rounds; its path flows, mapped back to
    the grouped path set, carry every demand."""
    from scipy.optimize import linprog

    from topo_opt.algorithms.max_concurrent_flow import _Master
    from topo_opt.algorithms.shortest_paths import (
        ArcGraph, demand_shortest_paths, extend_with_shortest_paths, shortest_path_forest,
    )

    net = read_commalab(real_file("commalab", "grid", "grid2"))
    capacity_q, usable = net.queue_capacity(), net.queue_capacity() > 0
    graph = ArcGraph.from_network(net)
    indptr, arcs = demand_shortest_paths(shortest_path_forest(graph, np.ones(net.n_arcs), net.demand_source), net)
    paths = Routing(np.arange(net.n_demands), np.ones(net.n_demands), indptr, arcs)
    master = _Master(net, capacity_q, paths)
    values = []
    for _ in range(3):
        status, flow, price = master.solve(60.0, paths.n_paths)
        assert status == "optimal"
        np.testing.assert_allclose(np.bincount(paths.demand, weights=flow, minlength=net.n_demands),
                                   net.demand_rate, rtol=1e-7)
        load = net.queue_load(paths.carried_flow(flow, net.n_arcs))
        incidence = np.zeros((net.n_queues, paths.n_paths))
        np.add.at(incidence, (net.arc_queue[paths.arcs], np.repeat(np.arange(paths.n_paths), np.diff(paths.indptr))),
                  1.0)
        demand_rows = np.zeros((net.n_demands, paths.n_paths))
        demand_rows[paths.demand, np.arange(paths.n_paths)] = 1.0
        scratch = linprog(np.r_[np.zeros(paths.n_paths), 1.0],
                          A_ub=np.c_[incidence[usable], -capacity_q[usable]], b_ub=np.zeros(int(usable.sum())),
                          A_eq=np.c_[demand_rows, np.zeros(net.n_demands)], b_eq=net.demand_rate, method="highs")
        assert float(np.max(load[usable] / capacity_q[usable])) == pytest.approx(scratch.fun, rel=1e-7)
        values.append(scratch.fun)
        weight_q = np.zeros(net.n_queues)
        weight_q[usable] = price + 1e-3  # positive: every round prices in new paths
        arc_weight = weight_q[net.arc_queue]
        extended, label, _, _ = extend_with_shortest_paths(
            paths, np.arange(1.0, paths.n_paths + 1), shortest_path_forest(graph, arc_weight, net.demand_source),
            net, arc_weight)
        assert extended is not paths
        master.grow(extended, label)
        paths = extended
    assert values[-1] < values[0]  # the rounds did grow the master


def _grid2_master():
    from topo_opt.algorithms.max_concurrent_flow import _Master
    from topo_opt.algorithms.shortest_paths import ArcGraph, demand_shortest_paths, shortest_path_forest

    net = read_commalab(real_file("commalab", "grid", "grid2"))
    graph = ArcGraph.from_network(net)
    indptr, arcs = demand_shortest_paths(shortest_path_forest(graph, np.ones(net.n_arcs), net.demand_source), net)
    paths = Routing(np.arange(net.n_demands), np.ones(net.n_demands), indptr, arcs)
    return _Master(net, net.queue_capacity(), paths), paths


def test_the_master_time_limit_counts_from_the_start_of_its_solve():
    """HiGHS compares an LP's time_limit with its run time summed over every run of the object
    (:mod:`topo_opt.algorithms.highs_runs`): after ten cold solves that ran R in all, one more
    cold solve with a limit of R/2 (about five solves' time) is optimal, not stopped at once."""
    master, paths = _grid2_master()
    for _ in range(10):
        master.highs.clearSolver()
        assert master.solve(60.0, paths.n_paths)[0] == "optimal"
    master.highs.clearSolver()
    assert master.solve(master.highs.getRunTime() / 2, paths.n_paths)[0] == "optimal"


def test_ctrl_c_while_sigint_is_cancelled_calls_cancel_and_restores_the_handler():
    import signal

    from topo_opt.algorithms.highs_runs import cancel_on_sigint

    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background run ignores SIGINT
    try:
        called = []
        with cancel_on_sigint(lambda: called.append(1)) as received:
            signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt
        assert received == [signal.SIGINT] and called == [1]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_ctrl_c_stops_the_master_run_and_raises_keyboard_interrupt(monkeypatch):
    """Ctrl-C at the start of a master solve (its cancel called as the run begins): HiGHS stops
    at its first interrupt callback (model status "Interrupted by user"), and the solve raises
    KeyboardInterrupt instead of returning.  Presolve off: it alone solves grid2's first master,
    before any interior-point or simplex iteration calls back."""
    import contextlib
    import signal

    import topo_opt.algorithms.max_concurrent_flow as mcf

    @contextlib.contextmanager
    def pressed_at_once(cancel):
        cancel()
        yield [signal.SIGINT]

    master, paths = _grid2_master()
    master.highs.setOptionValue("presolve", "off")
    monkeypatch.setattr(mcf, "cancel_on_sigint", pressed_at_once)
    with pytest.raises(KeyboardInterrupt):
        master.solve(60.0, paths.n_paths)
    assert master.highs.modelStatusToString(master.highs.getModelStatus()) == "Interrupted by user"
