"""The numpy Dijkstra of small graphs against scipy's on random graphs with ties, zero-length arcs
and unreachable pairs, and both branches of the one entry point (``shortest_path_forest``)."""

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from topo_opt.algorithms import shortest_paths
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, dense_dijkstra, demand_shortest_paths, hop_distances, shortest_path_forest, unreachable_demands,
)
from topo_opt.model import Demand, Link, Node, build_network


def _random_pairs(rng, n_nodes, n_pairs, weights):
    """Distinct (tail, head) pairs without self-loops and a weight drawn from ``weights`` each."""
    keys = rng.choice(n_nodes * n_nodes, size=n_pairs, replace=False)
    tail, head = np.divmod(keys, n_nodes)
    keep = tail != head
    return tail[keep], head[keep], rng.choice(weights, size=int(keep.sum()))


def _check_against_scipy(n_nodes, tail, head, weight, sources):
    distance, predecessor = dense_dijkstra(n_nodes, tail, head, weight, sources)
    finite = np.isfinite(weight)
    graph = csr_matrix((weight[finite], (tail[finite], head[finite])), shape=(n_nodes, n_nodes))
    expected = dijkstra(graph, directed=True, indices=sources)
    np.testing.assert_array_equal(distance, expected)  # same sums in path order: identical
    w = np.full((n_nodes, n_nodes), np.inf)
    w[tail, head] = weight
    for row, s in enumerate(sources.tolist()):
        assert predecessor[row, s] == -9999
        for v in range(n_nodes):
            if v == s or not np.isfinite(distance[row, v]):
                assert v == s or predecessor[row, v] == -9999
                continue
            u = int(predecessor[row, v])
            assert distance[row, u] + w[u, v] == distance[row, v]  # a shortest-path tree arc
            node, steps = v, 0
            while node != s:  # the tree leads back to the source
                node, steps = int(predecessor[row, node]), steps + 1
                assert node >= 0 and steps < n_nodes


@pytest.mark.parametrize("seed", range(8))
def test_dense_dijkstra_matches_scipy_with_ties_zero_lengths_and_unreachable_pairs(seed):
    rng = np.random.default_rng(seed)
    n_nodes = int(rng.integers(2, 40))
    n_pairs = int(rng.integers(1, n_nodes * n_nodes // 3 + 2))
    # small integer weights make many ties; 0 and inf arcs; sparse draws leave nodes unreachable
    tail, head, weight = _random_pairs(rng, n_nodes, n_pairs, np.array([0.0, 1.0, 1.0, 2.0, 3.0, np.inf]))
    sources = np.unique(rng.integers(0, n_nodes, size=int(rng.integers(1, n_nodes + 1))))
    _check_against_scipy(n_nodes, tail, head, weight, sources)


def test_dense_dijkstra_matches_scipy_on_real_weights():
    rng = np.random.default_rng(11)
    tail, head, _ = _random_pairs(rng, 60, 500, np.ones(1))
    weight = rng.exponential(1.0, size=len(tail))
    _check_against_scipy(60, tail, head, weight, np.arange(60))


def test_both_branches_of_the_entry_point_give_the_same_forest_and_paths(monkeypatch):
    """Dense (numpy) and scipy branches: same distances, same demand path lengths, same hop
    distances and reachability, on a network with parallel arcs and an unreachable node."""
    rng = np.random.default_rng(3)
    names = [f"n{i}" for i in range(25)]
    links = [Link(f"l{i}", names[a], names[b], 10.0)
             for i, (a, b) in enumerate(zip(rng.integers(0, 24, 70).tolist(), rng.integers(0, 24, 70).tolist()))
             if a != b]
    links.append(Link("par", links[0].source, links[0].target, 10.0))  # a parallel arc
    demands = [Demand(f"d{i}", names[a], names[b], 1.0)
               for i, (a, b) in enumerate(zip(rng.integers(0, 25, 40).tolist(), rng.integers(0, 25, 40).tolist()))
               if a != b]  # node n24 has no links: demands to and from it are unreachable
    net = build_network(name="r", nodes=[Node(n) for n in names], links=links, demands=demands,
                        link_model="directed", rate_unit="packet/s")
    graph = ArcGraph.from_network(net)
    weight = rng.integers(1, 4, net.n_arcs).astype(float)
    results = []
    for threshold in (shortest_paths.DENSE_MAX_NODES, 0):
        monkeypatch.setattr(shortest_paths, "DENSE_MAX_NODES", threshold)
        forest = shortest_path_forest(graph, weight, net.demand_source)
        blocked = unreachable_demands(net, np.ones(net.n_arcs, bool))
        ok = np.setdiff1d(np.arange(net.n_demands), blocked)
        indptr, arcs = demand_shortest_paths(forest, net, ok)
        lengths = np.add.reduceat(weight[arcs], indptr[:-1])
        results.append((forest.distance, blocked, lengths,
                        hop_distances(graph, np.arange(5), towards=True), hop_distances(graph, np.arange(5))))
    assert results[0][1].size and len(results[0][1]) < net.n_demands  # some demands are cut off, not all
    for dense, sparse in zip(*results):
        np.testing.assert_array_equal(dense, sparse)
