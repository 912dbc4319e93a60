"""The one path container (model.design.Routing) against dense hand computations."""
import numpy as np

from topo_opt.model import Routing

# arcs 0: a->b, 1: b->c, 2: a->c, 3: c->a; demand 0 a->c on two paths, demand 1 c->b on one
TAIL, HEAD = np.array([0, 1, 0, 2]), np.array([1, 2, 2, 0])
PER_DEMAND = [[[0, 1], [2]], [[3, 0]]]


def _routing() -> Routing:
    paths = Routing.from_lists(PER_DEMAND)
    return Routing(paths.demand, np.array([0.25, 0.75, 1.0]), paths.indptr, paths.arcs)


def test_nested_lists_round_trip_and_start_without_flow():
    paths = Routing.from_lists(PER_DEMAND)
    np.testing.assert_array_equal(paths.demand, [0, 0, 1])
    np.testing.assert_array_equal(paths.fraction, [0.0, 0.0, 0.0])
    assert [[p.tolist() for p in demand] for demand in paths.to_lists(3)] == [*PER_DEMAND, []]
    np.testing.assert_array_equal(paths.demand_ptr(3), [0, 2, 3, 3])


def test_sums_flows_and_nodes_match_the_dense_path_arc_matrix():
    routing = _routing()
    dense = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]], dtype=float)
    np.testing.assert_array_equal(routing.incidence(4).toarray(), dense)
    weight = np.array([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_allclose(routing.path_sums(weight), dense @ weight)
    rate = np.array([4.0, 2.0])
    np.testing.assert_allclose(routing.path_rates(rate), [1.0, 3.0, 2.0])
    np.testing.assert_allclose(routing.arc_flow(rate, 4), dense.T @ [1.0, 3.0, 2.0])
    np.testing.assert_allclose(routing.demand_arc_fraction(2, 4), [[0.25, 0.25, 0.75, 0.0], [1.0, 0.0, 0.0, 1.0]])
    node_ptr, nodes = routing.path_nodes(TAIL, HEAD)
    assert [nodes[a:b].tolist() for a, b in zip(node_ptr[:-1], node_ptr[1:])] == [[0, 1, 2], [0, 2], [2, 0, 1]]


def test_demand_average_weights_by_fraction_and_ignores_paths_without_flow():
    routing = Routing(np.array([0, 0, 1, 1]), np.array([0.25, 0.75, 1.0, 0.0]),
                      np.array([0, 1, 2, 3, 4]), np.array([0, 1, 2, 3]))
    average = routing.demand_average(np.array([4.0, 8.0, 3.0, np.nan]), 3)
    np.testing.assert_allclose(average[:2], [7.0, 3.0])
    assert np.isnan(average[2])  # no path


def test_carrying_keeps_the_paths_with_flow_and_normalises_their_fractions():
    paths = Routing.from_lists(PER_DEMAND)
    routing = paths.carrying(np.array([1.0, 0.0, 5.0]), 2)
    np.testing.assert_array_equal(routing.demand, [0, 1])
    np.testing.assert_allclose(routing.fraction, [1.0, 1.0])
    np.testing.assert_array_equal(routing.arcs, [0, 1, 3, 0])
    grouped = Routing(np.array([1, 0]), np.array([1.0, 1.0]), np.array([0, 1, 3]), np.array([2, 0, 1])).grouped()
    np.testing.assert_array_equal(grouped.demand, [0, 1])
    np.testing.assert_array_equal(grouped.arcs, [0, 1, 2])


def test_path_sums_of_paths_without_arcs_are_zero_wherever_they_sit():
    weight = np.array([1.0, 10.0, 100.0, 1000.0])
    for per_demand in ([[[], [0, 1]], [[3]]], [[[0, 1], []], [[]]], [[[]], [[]]]):
        paths = Routing.from_lists(per_demand)
        dense = paths.incidence(4).toarray()
        np.testing.assert_array_equal(paths.path_sums(weight), dense @ weight)
    assert Routing.from_lists([]).path_sums(weight).shape == (0,)


def test_an_empty_routing_carries_float_zeros():
    flow = Routing.from_lists([[], []]).arc_flow(np.array([1.0, 2.0]), 4)
    assert flow.dtype == np.float64 and not flow.any() and flow.shape == (4,)
