"""Flow decomposition: source-aggregated arc flows -> per-demand paths with fractions."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse import csgraph

from topo_opt.algorithms.flow_decomposition import decompose_source_flows, routing_source_flows
from topo_opt.errors import InvalidInputError
from topo_opt.formulations.multicommodity import source_supply
from topo_opt.model import Demand, Link, Node, Routing, build_network
from topo_opt.evaluators.design_check import check_design
from topo_opt.model.design import Design
from conftest import real_file



def _arc(net, tail, head):
    match = (net.arc_tail == net.node_index[tail]) & (net.arc_head == net.node_index[head])
    return int(np.flatnonzero(match)[0])


@pytest.fixture
def square():
    """a-b-c-d square plus the diagonal b-d, duplex; demands from a to c and to d."""
    nodes = [Node(i) for i in "abcd"]
    links = [Link("ab", "a", "b", 10), Link("bc", "b", "c", 10), Link("cd", "c", "d", 10),
             Link("da", "d", "a", 10), Link("bd", "b", "d", 10)]
    demands = [Demand("ac", "a", "c", 4.0), Demand("ad", "a", "d", 2.0)]
    return build_network(name="square", nodes=nodes, links=links, demands=demands)


def _flows(net, arcs_rates):
    x = np.zeros(net.n_arcs)
    for (tail, head), rate in arcs_rates.items():
        x[_arc(net, tail, head)] += rate
    return x


def _path_nodes(net, routing, p):
    arcs = routing.path_arcs(p)
    return [int(net.arc_tail[arcs[0]])] + net.arc_head[arcs].tolist()


def test_acyclic_flow_is_reproduced_exactly(square):
    x = _flows(square, {("a", "b"): 3.0, ("b", "c"): 3.0, ("a", "d"): 3.0, ("d", "c"): 1.0})
    sources, supply = source_supply(square)
    np.testing.assert_allclose(square.node_arc_incidence @ x, supply[0])
    routing = decompose_source_flows(square, sources, x[None, :])
    np.testing.assert_allclose(routing.arc_flow(square.demand_rate, square.n_arcs), x, rtol=1e-12)
    sums = np.bincount(routing.demand, weights=routing.fraction, minlength=2)
    np.testing.assert_allclose(sums, 1.0)
    assert check_design(square, Design.for_network(square, routing)) == []


def test_cycles_are_cancelled_and_paths_are_simple(square):
    path = {("a", "b"): 4.0, ("b", "c"): 4.0, ("a", "d"): 2.0}
    cycle = {("b", "d"): 1.5, ("d", "a"): 1.5, ("a", "b"): 1.5}        # b -> d -> a -> b
    both = dict(path)
    for key, rate in cycle.items():
        both[key] = both.get(key, 0.0) + rate
    x = _flows(square, both)
    sources, _ = source_supply(square)
    routing = decompose_source_flows(square, sources, x[None, :])
    np.testing.assert_allclose(routing.arc_flow(square.demand_rate, square.n_arcs),
                               _flows(square, path),
                               atol=1e-12)
    for p in range(routing.n_paths):
        nodes = _path_nodes(square, routing, p)
        assert len(nodes) == len(set(nodes)), nodes


def test_dust_paths_are_dropped_and_fractions_renormalised(square):
    x = _flows(square, {("a", "b"): 4.0 - 1e-14, ("b", "c"): 4.0 - 1e-14, ("a", "d"): 2.0 + 1e-14,
                        ("d", "c"): 1e-14})
    sources, _ = source_supply(square)
    routing = decompose_source_flows(square, sources, x[None, :])
    assert routing.n_paths == 2
    np.testing.assert_allclose(routing.fraction, [1.0, 1.0])


def test_flow_that_does_not_reach_a_target_is_rejected(square):
    x = _flows(square, {("a", "b"): 4.0, ("b", "c"): 4.0})
    with pytest.raises(InvalidInputError, match="no flow from node 'a' reaches 'd'"):
        decompose_source_flows(square, np.array([0]), x[None, :])


def _random_multipath_routing(net, rng, n_alternatives=3):
    """Every demand split over shortest paths for random arc weights (shared, overlapping)."""
    paths = []
    for _ in range(n_alternatives):
        weight = rng.uniform(1.0, 10.0, net.n_arcs)
        graph = sp.csr_matrix((weight, (net.arc_tail, net.arc_head)), shape=(net.n_nodes,) * 2)
        sources = np.unique(net.demand_source)
        _, pred = csgraph.dijkstra(graph, indices=sources, return_predecessors=True)
        arc_of = {pair: a for a, pair in
                  enumerate(zip(net.arc_tail.tolist(), net.arc_head.tolist()))}
        for k, (s, t) in enumerate(zip(net.demand_source.tolist(), net.demand_target.tolist())):
            row = pred[np.searchsorted(sources, s)]
            arcs, v = [], t
            while v != s:
                arcs.append(arc_of[(int(row[v]), v)])
                v = int(row[v])
            paths.append((k, arcs[::-1], 1.0 / n_alternatives))
    return Routing.from_paths(paths)


@pytest.mark.parametrize("name", ["planar/planar30", "planar/planar150"])
def test_real_instance_flows_are_reproduced(name):
    read_commalab = pytest.importorskip("topo_opt.io.commalab").read_commalab
    net = read_commalab(real_file("commalab", *name.split("/")))
    routing = _random_multipath_routing(net, np.random.default_rng(7))
    sources, _ = source_supply(net)
    x = routing_source_flows(net, routing, sources)
    np.testing.assert_allclose(routing.arc_flow(net.demand_rate, net.n_arcs), x.sum(axis=0), rtol=1e-12)
    decomposed = decompose_source_flows(net, sources, x)
    flow = decomposed.arc_flow(net.demand_rate, net.n_arcs)
    # random shortest paths can form cycles within one source's flow: only those may disappear
    residual = x.sum(axis=0) - flow
    assert residual.min() > -1e-9 * flow.max()
    np.testing.assert_allclose(net.node_arc_incidence @ residual, 0.0, atol=1e-9 * flow.max())
    back = routing_source_flows(net, decomposed, sources)
    np.testing.assert_allclose(net.node_arc_incidence @ back.T, (net.node_arc_incidence @ x.T),
                               atol=1e-9 * flow.max())
    problems = check_design(net, Design.for_network(net, decomposed), strict_capacity=False)
    assert [p for p in problems if "exceeds capacity" not in p] == []  # random paths ignore capacity


def test_every_demand_source_needs_a_flow_row(square):
    with pytest.raises(InvalidInputError, match=r"source flows missing for demand sources \['a'\]"):
        decompose_source_flows(square, np.array([1]), np.zeros((1, square.n_arcs)))
