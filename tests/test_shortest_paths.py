"""Shortest-path forests, path extraction, all-or-nothing flows and path sets, against networkx."""

import networkx as nx
import numpy as np
import pytest

from topo_opt.algorithms.shortest_paths import (
    ArcGraph, all_or_nothing, demand_distances, demand_shortest_paths,
    extend_with_shortest_paths, grouped_paths, hop_distances, shortest_path_forest,
)
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.io.commalab import read_commalab
from topo_opt.model import Demand, Link, Node, Routing, build_network
from conftest import real_file

PLANAR30 = real_file("commalab", "planar", "planar30")


def _parallel_network():
    """a -> b by two parallel arcs (ab1, ab2), then b -> c; demands a->c and b->c (directed)."""
    return build_network(
        name="par", nodes=[Node("a"), Node("b"), Node("c")],
        links=[Link("ab1", "a", "b", 10.0), Link("ab2", "a", "b", 10.0), Link("bc", "b", "c", 10.0)],
        demands=[Demand("ac", "a", "c", 1.0), Demand("bc", "b", "c", 2.0)],
        link_model="directed", rate_unit="packet/s")


def _forest(net, weight):
    return shortest_path_forest(ArcGraph.from_network(net), weight, net.demand_source)


def test_parallel_arcs_pick_the_cheapest_and_paths_are_arc_indices():
    net = _parallel_network()
    indptr, arcs = demand_shortest_paths(_forest(net, np.array([3.0, 1.0, 2.0])), net)
    np.testing.assert_array_equal(indptr, [0, 2, 3])
    np.testing.assert_array_equal(arcs, [1, 2, 2])  # ab2 (cheaper), then bc; bc alone
    indptr, arcs = demand_shortest_paths(_forest(net, np.array([1.0, 3.0, 2.0])), net)
    np.testing.assert_array_equal(arcs, [0, 2, 2])


def test_zero_weights_are_edges_and_infinite_weights_are_not():
    net = _parallel_network()
    forest = _forest(net, np.array([np.inf, 0.0, 0.0]))
    np.testing.assert_array_equal(demand_distances(forest, net), [0.0, 0.0])
    np.testing.assert_array_equal(demand_shortest_paths(forest, net)[1], [1, 2, 2])


def test_distances_paths_and_all_or_nothing_match_networkx_on_planar30():
    net = read_commalab(PLANAR30)
    weight = np.random.default_rng(7).uniform(0.5, 2.0, net.n_arcs)
    forest = _forest(net, weight)
    graph = nx.DiGraph()
    for a in range(net.n_arcs):
        graph.add_edge(int(net.arc_tail[a]), int(net.arc_head[a]), weight=weight[a])
    expected = [nx.dijkstra_path_length(graph, int(s), int(t))
                for s, t in zip(net.demand_source, net.demand_target)]
    np.testing.assert_allclose(demand_distances(forest, net), expected, rtol=1e-12)

    indptr, arcs = demand_shortest_paths(forest, net)
    for k in range(net.n_demands):
        path = arcs[indptr[k]:indptr[k + 1]]
        assert net.arc_tail[path[0]] == net.demand_source[k]
        assert net.arc_head[path[-1]] == net.demand_target[k]
        np.testing.assert_array_equal(net.arc_head[path[:-1]], net.arc_tail[path[1:]])
        assert weight[path].sum() == pytest.approx(expected[k], rel=1e-12)

    flow = np.zeros(net.n_arcs)
    for k in range(net.n_demands):
        flow[arcs[indptr[k]:indptr[k + 1]]] += net.demand_rate[k]
    np.testing.assert_allclose(all_or_nothing(forest, net), flow)


def test_unreachable_target_names_the_demand():
    net = build_network(name="cut", nodes=[Node("a"), Node("b"), Node("c")],
                        links=[Link("ab", "a", "b", 1.0)],
                        demands=[Demand("ab", "a", "b", 0.5), Demand("to-c", "a", "c", 0.5)],
                        link_model="directed")
    forest = _forest(net, np.ones(net.n_arcs))
    with pytest.raises(InfeasibleError, match=r"demand 'to-c' cannot be routed: no usable path from 'a' to 'c'") as err:
        demand_shortest_paths(forest, net)
    assert err.value.details["demands"] == ["to-c"]


def test_negative_or_nan_weights_are_rejected():
    net = _parallel_network()
    with pytest.raises(InvalidInputError, match=r"arc 1: shortest-path weight must be >= 0, got -1.0"):
        _forest(net, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(InvalidInputError, match=r"arc 2: .* got nan"):
        _forest(net, np.array([1.0, 1.0, np.nan]))


def test_hop_distances_both_directions():
    net = _parallel_network()
    graph = ArcGraph.from_network(net)
    np.testing.assert_array_equal(hop_distances(graph, np.array([0])), [[0, 1, 2]])
    np.testing.assert_array_equal(hop_distances(graph, np.array([2]), towards=True), [[2, 1, 0]])


def test_path_set_grouping_extension_and_routing():
    net = _parallel_network()
    start = Routing(np.array([1, 0]), np.array([1.0, 1.0]), np.array([0, 1, 3]), np.array([2, 0, 2]))
    paths = grouped_paths(start, net)
    np.testing.assert_array_equal(paths.demand, [0, 1])
    np.testing.assert_array_equal(paths.arcs, [0, 2, 2])
    np.testing.assert_array_equal(paths.demand_ptr(net.n_demands), [0, 1, 2])
    np.testing.assert_allclose(paths.path_sums(np.array([1.0, 2.0, 4.0])), [5.0, 4.0])
    np.testing.assert_allclose(paths.carried_flow(np.array([1.0, 2.0]), net.n_arcs), [1.0, 0.0, 3.0])

    weight = np.array([3.0, 1.0, 1.0])  # a->c is shorter through ab2 now
    flow = np.array([1.0, 2.0])
    extended, new_flow, chosen, distance = extend_with_shortest_paths(
        paths, flow, _forest(net, weight), net, weight)
    assert extended.n_paths == 3
    np.testing.assert_array_equal(extended.demand, [0, 0, 1])
    np.testing.assert_array_equal(extended.arcs, [0, 2, 1, 2, 2])
    np.testing.assert_allclose(new_flow, [1.0, 0.0, 2.0])
    np.testing.assert_array_equal(chosen, [1, 2])
    np.testing.assert_allclose(distance, [2.0, 1.0])

    # no shorter path: nothing added; drop_empty removes a path without flow unless shortest
    same, _, _, _ = extend_with_shortest_paths(extended, new_flow, _forest(net, weight), net, weight)
    assert same is extended
    dropped, kept_flow, _, _ = extend_with_shortest_paths(
        extended, np.array([0.0, 1.0, 2.0]), _forest(net, weight), net, weight, drop_empty=True)
    np.testing.assert_array_equal(dropped.arcs, [1, 2, 2])
    np.testing.assert_allclose(kept_flow, [1.0, 2.0])

    routing = extended.carrying(np.array([0.25, 0.75, 2.0]), net.n_demands)
    np.testing.assert_allclose(routing.fraction, [0.25, 0.75, 1.0])
    np.testing.assert_allclose(routing.arc_flow(net.demand_rate, net.n_arcs), [0.25, 0.75, 3.0])


def test_routing_without_a_path_for_a_demand_is_rejected():
    net = _parallel_network()
    only_one = Routing(np.array([1]), np.array([1.0]), np.array([0, 1]), np.array([2]))
    with pytest.raises(InvalidInputError, match=r"routing: demand 'ac' has no path"):
        grouped_paths(only_one, net)
