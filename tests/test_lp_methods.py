"""LP methods: min max-utilisation, min-hop (infeasible: the saturated cut), Fortz–Thorup."""

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.common.base import Availability

from topo_opt.errors import InfeasibleError, SolverUnavailableError, TopoOptError
from topo_opt.formulations.max_utilization import build_max_utilization_model
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.lp_methods import solve_fortz_thorup, solve_max_utilization, solve_min_hop
from topo_opt.model.result import Status
from topo_opt.solve.highs import HighsSolver
from conftest import parallel_links


def _triangle(rate_ac, extra=(), ab=10.0, bc=20.0, ac=5.0, link_model="duplex"):
    """a-c directly (capacity ``ac``) or through b (min(ab, bc))."""
    nodes = [Node("a"), Node("b"), Node("c"), Node("e")]
    links = [Link("ab", "a", "b", ab), Link("bc", "b", "c", bc), Link("ac", "a", "c", ac)]
    demands = [Demand("d", "a", "c", rate_ac), *extra]
    return build_network(name="tri", nodes=nodes, links=links, demands=demands,
                         rate_unit="packet/s", link_model=link_model)


def test_max_utilization_matches_hand_computation():
    # split x on a-c (capacity 5), 12 - x on a-b-c (capacity 10): x/5 = (12 - x)/10 -> U* = 0.8
    net = _triangle(12.0)
    result = solve_max_utilization(net)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(0.8, rel=1e-9)
    assert result.lower_bound == pytest.approx(0.8, rel=1e-9)
    assert set(result.details["saturated_links"]) == {"ab", "ac"}
    assert check_result(net, result) == []
    flow = result.design.arc_flow(net)
    assert flow[net.arc_link == net.link_index["ac"]].max() == pytest.approx(4.0, rel=1e-9)


def test_disconnected_demand_is_named_before_any_lp():
    net = _triangle(1.0, extra=[Demand("lost", "a", "e", 1.0)])
    with pytest.raises(InfeasibleError, match=r"demand 'lost' cannot be routed: no usable path "
                                              r"from 'a' to 'e'") as info:
        solve_max_utilization(net)
    assert info.value.details == {"reason": "unreachable", "demands": ["lost"]}


def test_min_hop_uses_the_direct_link_up_to_its_capacity():
    net = _triangle(12.0)
    result = solve_min_hop(net)
    # 5 on the one-hop path, 7 on the two-hop path: sum of arc flows 5 + 2 * 7 = 19
    assert result.objective == pytest.approx(19.0, rel=1e-9)
    assert result.lower_bound == pytest.approx(19.0, rel=1e-9)
    assert result.objective_unit == "packet/s"
    assert check_result(net, result) == []


def test_min_hop_over_capacity_reports_the_cut():
    with pytest.raises(InfeasibleError, match=r"max utilisation >= 1\.\d+; saturated links 'a[bc]', 'a[bc]' "
                                              r"\(capacity 15 packet/s\) cannot carry demands 'd' \(20 packet/s\)"):
        solve_min_hop(_triangle(20.0))


def test_fortz_thorup_splits_evenly_on_parallel_links():
    # two parallel links of capacity 3, demand 4: 2 + 2 costs Φ(2) = 1 + 3 = 4 each
    net = parallel_links(3.0, 3.0, 4.0)
    result = solve_fortz_thorup(net)
    assert result.objective == pytest.approx(8.0, rel=1e-9)
    assert result.lower_bound == pytest.approx(8.0, rel=1e-9)
    np.testing.assert_allclose(result.design.arc_flow(net), [2.0, 2.0], rtol=1e-9)
    assert check_result(net, result) == []


def test_highs_wrapper_translates_statuses_and_keeps_highs_text(monkeypatch):
    model = pyo.ConcreteModel()
    model.x = pyo.Var(within=pyo.NonNegativeReals)
    model.objective = pyo.Objective(expr=-model.x)
    with pytest.raises(TopoOptError, match="HiGHS stopped without a usable answer: Unbounded"):
        HighsSolver(model).solve()
    model.limit = pyo.Constraint(expr=model.x <= 2.5)
    solver = HighsSolver(model)
    outcome = solver.solve()
    assert (outcome.status, outcome.message, outcome.objective, outcome.bound) == \
        (Status.OPTIMAL, "Optimal", -2.5, -2.5)
    np.testing.assert_array_equal(solver.values(model.x), [2.5])
    lp = HighsSolver(build_max_utilization_model(_triangle(12.0)))
    assert lp.solve(time_limit_s=0.0).status is Status.TIME_LIMIT
    assert lp.solve().status is Status.OPTIMAL  # the limit was for that call only
    monkeypatch.setattr("topo_opt.solve.highs.Highs.available", lambda self: Availability.NotFound)
    with pytest.raises(SolverUnavailableError, match="install the 'highspy' package"):
        HighsSolver(model)
