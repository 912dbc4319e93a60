"""Pyomo builders: structure rebuilt from the model, closed forms of cut and cost coefficients."""
import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn

from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.delay_cuts import (
    INITIAL_TANGENT_UTILIZATIONS, add_initial_tangent_cuts, add_tangent_cuts, define_delay_epigraph,
    tangent_coefficients,
)
from topo_opt.formulations.linear_objectives import fortz_thorup_cost, fortz_thorup_intercepts
from topo_opt.formulations.max_utilization import build_max_utilization_model
from topo_opt.formulations.multicommodity import build_multicommodity_model, source_supply
from topo_opt.model import Demand, Link, Node, build_network


@pytest.fixture
def net():
    nodes = [Node(i) for i in "abcd"]
    links = [Link("ab", "a", "b", 10e9), Link("bc", "b", "c", 1e9), Link("cd", "c", "d", 2e9),
             Link("bd", "b", "d", 4e9, length_m=100e3)]
    demands = [Demand("ac", "a", "c", 3e8), Demand("ad", "a", "d", 2e8), Demand("dc", "d", "c", 1e8),
               Demand("ac2", "a", "c", 1e8)]
    return build_network(name="n", nodes=nodes, links=links, demands=demands, link_model="undirected")


def _rows(constraints):
    """(coefficients by variable name, lower, upper) of every constraint, from Pyomo's repn."""
    out = []
    for con in constraints.values():
        repn = generate_standard_repn(con.body)
        coefs = {v.name: c for v, c in zip(repn.linear_vars, repn.linear_coefs)}
        out.append((coefs, pyo.value(con.lower), pyo.value(con.upper)))
    return out


def test_source_supply_aggregates_demands_per_source(net):
    sources, supply = source_supply(net)
    np.testing.assert_array_equal(sources, [0, 3])
    np.testing.assert_allclose(supply, [[6e8, 0, -4e8, -2e8], [0, 0, -1e8, 1e8]])


def test_conservation_rows_are_the_incidence_matrix(net):
    model = build_multicommodity_model(net)
    layout = model.layout
    assert layout.flow_scale == 10e9  # the largest queue capacity
    assert len(model.source_flow) == 2 * net.n_arcs
    a = net.node_arc_incidence.toarray()
    for (s, n), con in model.flow_conservation.items():
        repn = generate_standard_repn(con.body)
        row = np.zeros(net.n_arcs)
        for v, c in zip(repn.linear_vars, repn.linear_coefs):
            assert v.parent_component() is model.source_flow and v.index()[0] == s
            row[v.index()[1]] = c
        np.testing.assert_array_equal(row, a[n])
        assert pyo.value(con.upper) == pytest.approx(layout.supply[s, n] / layout.flow_scale)
    # undirected links: both arcs of a link feed its queue
    for q in model.QUEUES:
        arcs = sorted(v.index() for v in generate_standard_repn(model.queue_load[q].expr).linear_vars)
        assert arcs == np.flatnonzero(net.arc_queue == q).tolist()


def test_arc_mask_restricts_variables_and_queues(net):
    mask = net.arc_link != net.link_index["bd"]
    model = build_multicommodity_model(net, arc_mask=mask)
    assert list(model.ARCS) == np.flatnonzero(mask).tolist()
    assert net.link_index["bd"] not in list(model.QUEUES)


def test_max_utilization_rows_scale_capacity(net):
    model = build_max_utilization_model(net)
    for (coefs, lower, upper), q in zip(_rows(model.utilization_limit), model.QUEUES):
        assert upper == 0 and lower is None
        assert coefs["max_utilization"] == pytest.approx(-net.queue_capacity()[q] / 10e9)


def test_tangent_coefficients_closed_form_and_underestimation():
    capacity = np.full(5, 4.0)
    load = np.array([0.0, 1.0, 2.0, 3.0, 3.9])
    slope, intercept = tangent_coefficients(load, capacity)
    np.testing.assert_allclose(slope, 4.0 / (4.0 - load) ** 2)
    np.testing.assert_allclose(intercept, -(load / (4.0 - load)) ** 2)
    grid = np.linspace(0, 3.99, 400)
    g = grid / (4.0 - grid)
    for s, b, f in zip(slope, intercept, load):
        assert np.all(s * grid + b <= g + 1e-12)                 # below the convex g
        assert s * f + b == pytest.approx(f / (4.0 - f))         # touches it at F̂


def test_delay_epigraph_cuts_and_objective(net):
    objective = DelayObjective.for_network(net)
    model = build_multicommodity_model(net)
    define_delay_epigraph(model, objective)
    cuts = add_initial_tangent_cuts(model)
    assert len(cuts) == len(INITIAL_TANGENT_UTILIZATIONS) * net.n_queues
    (new,) = add_tangent_cuts(model, np.array([1]), np.array([0.5e9]))
    repn = generate_standard_repn(new.body)
    coefs = {v.name: c for v, c in zip(repn.linear_vars, repn.linear_coefs)}
    slope = 1e9 / (1e9 - 0.5e9) ** 2 * model.layout.flow_scale  # per LP flow unit
    assert coefs["queue_packets[1]"] == 1.0
    arcs = np.flatnonzero(net.arc_queue == 1)
    for a in arcs:
        assert coefs[f"arc_flow[{a}]"] == pytest.approx(-slope)
    assert pyo.value(new.lower) == pytest.approx(-1.0)           # -(F̂/(C-F̂))² at u = 1/2
    # objective: packets plus ρ d_a F_a on the 100 km link (0.5 ms), in flow units
    repn = generate_standard_repn(model.objective.expr)
    coefs = {v.name: c for v, c in zip(repn.linear_vars, repn.linear_coefs)}
    assert all(coefs[f"queue_packets[{q}]"] == 1.0 for q in model.QUEUES)
    bd = np.flatnonzero(net.arc_link == net.link_index["bd"])
    for a in bd:
        assert coefs[f"arc_flow[{a}]"] == pytest.approx(0.5e-3 / 8000 * model.layout.flow_scale)
    assert len([n for n in coefs if n.startswith("arc_flow")]) == 2


def test_fortz_thorup_pieces_match_the_published_cost():
    np.testing.assert_allclose(fortz_thorup_intercepts(), np.array([0, 2, 16, 178, 1468, 16318]) / 3)
    capacity = 3.0
    # slopes 1, 3, 10, 70, 500, 5000 integrated from 0
    for load, expected in [(1.0, 1.0), (2.0, 4.0), (2.7, 4.0 + 7.0), (3.0, 11.0 + 21.0),
                           (3.3, 32.0 + 150.0), (4.0, 182.0 + 5000 * 0.7)]:
        assert fortz_thorup_cost(np.array([load]), np.array([capacity]))[0] == pytest.approx(expected)
