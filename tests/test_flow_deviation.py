"""Flow deviation, its Frank–Wolfe bound and the exact line search on T."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from topo_opt.algorithms.flow_deviation import (
    delay_line_search, frank_wolfe_bound, solve_min_delay_fd,
)
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.algorithms.shortest_paths import ArcGraph, all_or_nothing, demand_distances, shortest_path_forest
from topo_opt.errors import InfeasibleError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.io.commalab import read_commalab
from topo_opt.model.result import Status
from topo_opt.evaluators.design_check import check_result
from conftest import parallel_links, real_file

GRID1 = real_file("commalab", "grid", "grid1")


@pytest.mark.parametrize("slope_share", [0.0, 0.5])
def test_line_search_is_exact(slope_share):
    """argmin of T(F + βΔF) + βs against scipy's bounded search; s > 0 (a linear cost, as in
    the composite goal) stops the step earlier than T alone."""
    net = read_commalab(GRID1)
    objective = DelayObjective.for_network(net)
    flow = find_feasible_flow(net).routing.arc_flow(net.demand_rate, net.n_arcs)
    forest = shortest_path_forest(ArcGraph.from_network(net), objective.arc_gradient(flow), net.demand_source)
    direction = all_or_nothing(forest, net) - flow
    slope = -slope_share * float(objective.arc_gradient(flow) @ direction)  # s < |φ'(0)|: still descends
    beta = delay_line_search(objective, flow, direction, linear_slope=slope)
    load, step = net.queue_load(flow), net.queue_load(direction)
    rising = step > 0
    boundary = np.min((objective.queue_capacity - load)[rising] / step[rising])
    reference = minimize_scalar(lambda b: objective.value(flow + b * direction) + b * slope,
                                bounds=(0.0, min(1.0, boundary) * (1 - 1e-12)), method="bounded",
                                options={"xatol": 1e-12})
    assert objective.value(flow + beta * direction) + beta * slope <= reference.fun * (1 + 1e-12)
    assert beta == pytest.approx(reference.x, rel=1e-5)
    if slope > 0:
        assert beta < delay_line_search(objective, flow, direction)
    assert delay_line_search(objective, flow, -direction, linear_slope=slope) == 0.0  # ascent: no step


def test_frank_wolfe_bound_is_below_the_optimum_everywhere():
    net = read_commalab(GRID1)
    objective = DelayObjective.for_network(net)
    optimum = solve_min_delay_gp(net, gap=1e-10).objective
    graph = ArcGraph.from_network(net)
    start = find_feasible_flow(net).routing.arc_flow(net.demand_rate, net.n_arcs)
    best = solve_min_delay_gp(net, gap=1e-3).design.arc_flow(net)
    for weight in (0.0, 0.5, 0.9, 1.0):
        flow = (1 - weight) * start + weight * best
        gradient = objective.arc_gradient(flow)
        distance = demand_distances(shortest_path_forest(graph, gradient, net.demand_source), net)
        bound = frank_wolfe_bound(objective.value(flow), gradient, flow, distance, net.demand_rate)
        assert bound <= optimum * (1 + 1e-12)
    assert bound >= optimum * (1 - 1e-3)  # tight near the optimum


def test_grid1_to_a_certified_gap():
    net = read_commalab(GRID1)
    records = []
    result = solve_min_delay_fd(net, gap=1e-3, callback=records.append)
    assert result.status is Status.OPTIMAL and result.gap <= 1e-3
    assert check_result(net, result) == []
    assert result.details["lower_bound_source"] == "frank_wolfe_linearisation"
    assert result.details["n_shortest_path_calls"] == len(records) == result.iterations
    bounds = [r["lower_bound"] for r in records]
    assert bounds == sorted(bounds)
    assert np.all(np.diff([r["objective"] for r in records]) <= 1e-15)  # exact line search descends


def test_iteration_limit_and_infeasible_instances():
    net = read_commalab(GRID1)
    result = solve_min_delay_fd(net, gap=1e-9, max_iterations=3)
    assert result.status is Status.ITERATION_LIMIT and result.iterations == 3
    assert result.lower_bound <= result.objective and check_result(net, result) == []
    with pytest.raises(InfeasibleError, match=r"cannot carry demands 'ab'"):
        solve_min_delay_fd(parallel_links(5.0, 5.0, 10.5))
