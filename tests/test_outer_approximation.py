"""Tangent-cut outer approximation: closed forms, an independent NLP solver, real instances."""
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from topo_opt.algorithms.flow_decomposition import routing_source_flows
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.multicommodity import source_supply
from topo_opt.model import Demand, Link, Node, build_network, replace_network
from topo_opt.model.result import Status
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.outer_approximation import solve_min_delay_cuts
from conftest import parallel_links, real_file



def _check(net, result, gap=1e-6):
    assert result.status is Status.OPTIMAL
    assert result.gap <= gap
    assert result.lower_bound <= result.objective
    assert check_result(net, result) == []  # routing reproduces the objective, capacities hold


def test_undirected_link_shares_one_queue_and_capacity_override_applies():
    # both directions load one M/M/1 queue: T = (1/r) * r/(C - r) = 1/(C - r), r = 3 + 2
    net = build_network(name="u", nodes=[Node("a"), Node("b")], links=[Link("l", "a", "b", 10.0)],
                        demands=[Demand("ab", "a", "b", 3.0), Demand("ba", "b", "a", 2.0)],
                        rate_unit="packet/s", link_model="undirected")
    assert solve_min_delay_cuts(net).objective == pytest.approx(1 / 5, rel=1e-9)
    # capacities given per link replace the installed ones: T = 1/(C - r/2) with C = 6
    par = parallel_links(10.0, 10.0, 8.0)
    result = solve_min_delay_cuts(par, link_capacity=np.array([6.0, 6.0]))
    assert result.objective == pytest.approx(1 / 2, rel=1e-9)
    assert check_result(par, result) == []


def _five_nodes():
    nodes = [Node(i) for i in "abcde"]
    links = [Link("ab", "a", "b", 10.0, length_m=4e5), Link("bc", "b", "c", 8.0),
             Link("cd", "c", "d", 12.0),
             Link("de", "d", "e", 6.0), Link("ea", "e", "a", 9.0), Link("ac", "a", "c", 5.0),
             Link("bd", "b", "d", 7.0)]
    demands = [Demand("ac", "a", "c", 6.0), Demand("ad", "a", "d", 3.0), Demand("bd", "b", "e", 4.0),
               Demand("db", "d", "b", 5.0), Demand("ea", "e", "c", 2.5)]
    return build_network(name="five", nodes=nodes, links=links, demands=demands,
                         rate_unit="packet/s", propagation_speed_mps=2e8)


def test_agrees_with_scipy_slsqp_on_the_arc_formulation():
    net = _five_nodes()
    objective = DelayObjective.for_network(net)
    sources, supply = source_supply(net)
    n_s, n_a = len(sources), net.n_arcs
    # A x_s = b_s per source (x flattened row-major); one node row per source is redundant and
    # makes SLSQP's least-squares subproblem singular, so it is left out
    eq = np.kron(np.eye(n_s), net.node_arc_incidence.toarray()[:-1])
    rhs = supply[:, :-1].ravel()

    def fun(x):
        return objective.value(x.reshape(n_s, n_a).sum(axis=0))

    def jac(x):
        return np.tile(objective.arc_gradient(x.reshape(n_s, n_a).sum(axis=0)), n_s)

    start = solve_min_delay_cuts(net, max_iterations=1)  # a feasible start, far from optimal
    x0 = routing_source_flows(net, start.design.routing, sources).ravel()
    capacity_rows = np.tile(np.eye(n_a), n_s)  # duplex: one queue per arc
    nlp = minimize(fun, x0, jac=jac, method="SLSQP", bounds=[(0, None)] * (n_s * n_a),
                   constraints=[{"type": "eq", "fun": lambda x: eq @ x - rhs, "jac": lambda x: eq},
                                {"type": "ineq", "fun": lambda x: 0.999 * objective.queue_capacity
                                 - capacity_rows @ x, "jac": lambda x: -capacity_rows}],
                   options={"ftol": 1e-15, "maxiter": 1000})
    assert nlp.success, nlp.message
    result = solve_min_delay_cuts(net)
    _check(net, result)
    assert result.objective == pytest.approx(nlp.fun, rel=1e-6)
    assert result.lower_bound <= nlp.fun * (1 + 1e-9)  # the certificate holds against SLSQP too


def test_iteration_limit_keeps_a_valid_design_and_bound():
    net = _five_nodes()
    seen = []
    result = solve_min_delay_cuts(net, max_iterations=2, gap=0.0, callback=seen.append)
    assert result.status is Status.ITERATION_LIMIT and result.iterations == 2
    assert [r["iteration"] for r in seen] == [1, 2] and seen == result.history
    assert result.lower_bound <= result.objective
    assert check_result(net, result) == []


def test_time_limit_reports_the_incumbent():
    result = solve_min_delay_cuts(_five_nodes(), time_limit_s=0.0, gap=0.0)
    assert result.status is Status.TIME_LIMIT
    assert result.design is not None and math.isfinite(result.objective)


def test_infeasible_and_degenerate_inputs_are_refused():
    with pytest.raises(InfeasibleError, match="saturated links 'l1', 'l2'"):
        solve_min_delay_cuts(parallel_links(1.0, 1.0, 2.0))
    with pytest.raises(InvalidInputError, match="no demands"):
        solve_min_delay_cuts(replace_network(parallel_links(1.0, 1.0, 1.0), demands=()))
    with pytest.raises(InvalidInputError, match="link 'l2': capacity must be > 0 for min-delay"):
        solve_min_delay_cuts(parallel_links(1.0, 1.0, 1.0), link_capacity=np.array([5.0, 0.0]))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["grid/grid1", "planar/planar30"])
def test_real_instances_reach_the_certified_gap(name):
    read_commalab = pytest.importorskip("topo_opt.io.commalab").read_commalab
    net = read_commalab(real_file("commalab", *name.split("/")))
    result = solve_min_delay_cuts(net)
    _check(net, result)
    lower = [h["lower_bound"] for h in result.history]
    assert np.all(np.diff(lower) >= -1e-12 * lower[-1])  # cuts only tighten the relaxation
