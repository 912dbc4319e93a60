"""The numpy Dijkstra of small graphs against scipy's: the same distances to the bit, hence the
same trees (the tie rule), on random graphs with ties, zero-length arcs, parallel arcs and
unreachable pairs, on grids of unit weights, and through the one entry point."""

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from topo_opt.algorithms import shortest_paths
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, dense_dijkstra, demand_shortest_paths, hop_distances, shortest_path_forest, unreachable_demands,
)
from topo_opt.model import Demand, Link, Node, build_network


def _random_arcs(rng, n_nodes, n_arcs, weights):
    """Random arcs without self-loops (pairs repeat: parallel arcs), a weight from ``weights`` each."""
    tail = rng.integers(0, n_nodes, n_arcs)
    head = rng.integers(0, n_nodes, n_arcs)
    keep = tail != head
    return tail[keep], head[keep], rng.choice(weights, size=int(keep.sum()))


def _grid(side, rng):
    node = np.arange(side * side).reshape(side, side)
    right = np.stack([node[:, :-1].ravel(), node[:, 1:].ravel()])
    down = np.stack([node[:-1].ravel(), node[1:].ravel()])
    pairs = np.concatenate([right, down, right[::-1], down[::-1]], axis=1)[:, rng.permutation(4 * side * (side - 1))]
    return pairs[0], pairs[1]


def _both_backends(monkeypatch, n_nodes, tail, head, weight, sources):
    """Distances and every tree arc from the numpy and the scipy branch of the entry point."""
    graph = ArcGraph.from_arcs(tail, head, n_nodes)
    out = []
    for threshold in (n_nodes, n_nodes - 1):  # dense, then scipy
        monkeypatch.setattr(shortest_paths, "DENSE_MAX_NODES", threshold)
        forest = shortest_path_forest(graph, weight, sources)
        rows, nodes = np.nonzero(np.isfinite(forest.distance))
        keep = nodes != forest.sources[rows]
        out.append((forest.distance, forest.tree_arcs(rows[keep], nodes[keep])))
    (d_dense, tree_dense), (d_scipy, tree_scipy) = out
    np.testing.assert_array_equal(d_dense, d_scipy)  # to the bit
    np.testing.assert_array_equal(tree_dense, tree_scipy)
    return d_dense


@pytest.mark.parametrize("seed", range(8))
def test_both_backends_give_the_same_distances_and_trees_with_ties_zero_lengths_parallel_arcs(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n_nodes = int(rng.integers(3, 40))
    # small integer weights make many ties; 0 and inf arcs; sparse draws leave nodes unreachable
    tail, head, weight = _random_arcs(rng, n_nodes, int(rng.integers(n_nodes, 4 * n_nodes)),
                                      np.array([0.0, 1.0, 1.0, 2.0, 3.0, np.inf]))
    sources = np.unique(rng.integers(0, n_nodes, size=int(rng.integers(1, n_nodes + 1))))
    _both_backends(monkeypatch, n_nodes, tail, head, weight, sources)


@pytest.mark.parametrize("side", [3, 6, 8])
def test_both_backends_give_the_same_trees_on_grids_of_unit_weights(side, monkeypatch):
    tail, head = _grid(side, np.random.default_rng(side))
    d = _both_backends(monkeypatch, side * side, tail, head, np.ones(len(tail)), np.arange(side * side))
    assert np.isfinite(d).all()


def test_both_backends_on_real_weights_and_unreachable_pairs(monkeypatch):
    rng = np.random.default_rng(11)
    tail, head, _ = _random_arcs(rng, 60, 150, np.ones(1))
    d = _both_backends(monkeypatch, 60, tail, head, rng.exponential(1.0, size=len(tail)), np.arange(60))
    assert not np.isfinite(d).all()


def test_dense_dijkstra_matches_scipy_directly():
    rng = np.random.default_rng(5)
    tail, head, weight = _random_arcs(rng, 30, 200, np.array([0.0, 0.5, 1.0, 1.5, np.inf]))
    key = np.unique(tail * 30 + head, return_index=True)[1]  # one arc per pair, as the entry point passes them
    tail, head, weight = tail[key], head[key], weight[key]
    from scipy.sparse import csr_matrix

    finite = np.isfinite(weight)
    graph = csr_matrix((weight[finite], (tail[finite], head[finite])), shape=(30, 30))
    sources = np.arange(0, 30, 3)
    np.testing.assert_array_equal(dense_dijkstra(30, tail, head, weight, sources),
                                  dijkstra(graph, directed=True, indices=sources))


def test_both_branches_of_the_entry_point_give_the_same_paths(monkeypatch):
    """Dense (numpy) and scipy branches: same distances, same demand paths, same hop distances
    and reachability, on a network with parallel arcs and an unreachable node."""
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
        results.append((forest.distance, blocked, indptr, arcs,
                        hop_distances(graph, np.arange(5), towards=True), hop_distances(graph, np.arange(5))))
    assert results[0][1].size and len(results[0][1]) < net.n_demands  # some demands are cut off, not all
    for dense, sparse in zip(*results):
        np.testing.assert_array_equal(dense, sparse)
