"""The tie rule of shortest-path trees (``topo_opt.algorithms.shortest_paths`` docstring) against a
plain-Python reading of it, on graphs made of ties: unit weights, grids, small integer weights,
zero-length arcs and cycles, parallel arcs, unreachable nodes."""

import numpy as np
import pytest

from topo_opt.algorithms.shortest_paths import ArcGraph, demand_shortest_paths, shortest_path_forest
from topo_opt.model import Demand, Link, Node, build_network


def _rule_tree_arc(tail, head, weight, d, source, v):
    """The tree arc into ``v`` by the rule, from the distances ``d`` of one source, in Python."""
    n = len(d)
    tight = [a for a in range(len(tail)) if d[tail[a]] < np.inf and d[tail[a]] + weight[a] == d[head[a]]]
    gaining = [a for a in tight if d[tail[a]] < d[head[a]]]
    into = [a for a in gaining if head[a] == v]
    if into:
        return min(into)
    level = [a for a in tight if d[tail[a]] == d[head[a]]]
    z = [0 if x == source or any(head[a] == x for a in gaining) else np.inf for x in range(n)]
    for _ in range(n):  # Bellman–Ford on the zero-length tight arcs
        for a in level:
            z[head[a]] = min(z[head[a]], z[tail[a]] + 1)
    return min(a for a in level if head[a] == v and z[tail[a]] == z[v] - 1)


def _check_rule(n_nodes, tail, head, weight, sources):
    graph = ArcGraph.from_arcs(tail, head, n_nodes)
    forest = shortest_path_forest(graph, weight, sources)
    rows, nodes = np.nonzero(np.isfinite(forest.distance))
    keep = nodes != forest.sources[rows]
    rows, nodes = rows[keep], nodes[keep]
    chosen = forest.tree_arcs(rows, nodes)
    for r, v, a in zip(rows.tolist(), nodes.tolist(), chosen.tolist()):
        d = forest.distance[r]
        assert a == _rule_tree_arc(tail, head, weight, d, int(forest.sources[r]), v)
    # the trees lead back to their sources (no cycle) through tight arcs
    for r in range(len(forest.sources)):
        for v in np.flatnonzero(np.isfinite(forest.distance[r])).tolist():
            node, steps = v, 0
            while node != forest.sources[r]:
                a = int(forest.tree_arcs(np.array([r]), np.array([node]))[0])
                assert forest.distance[r, tail[a]] + weight[a] == forest.distance[r, node]
                node, steps = int(tail[a]), steps + 1
                assert steps < n_nodes
    return forest


def _random_arcs(rng, n_nodes, n_arcs, weights):
    tail = rng.integers(0, n_nodes, n_arcs)
    head = rng.integers(0, n_nodes, n_arcs)
    keep = tail != head  # parallel arcs stay: the draws repeat pairs
    return tail[keep], head[keep], rng.choice(weights, size=int(keep.sum()))


@pytest.mark.parametrize("seed", range(6))
def test_tree_arcs_follow_the_rule_with_ties_zero_lengths_parallel_arcs_and_unreachable_nodes(seed):
    rng = np.random.default_rng(seed)
    n_nodes = int(rng.integers(3, 25))
    tail, head, weight = _random_arcs(rng, n_nodes, int(rng.integers(n_nodes, 4 * n_nodes)),
                                      np.array([0.0, 0.0, 1.0, 1.0, 2.0, 3.0, np.inf]))
    _check_rule(n_nodes, tail, head, weight, np.arange(n_nodes))


def _fresh_forest_and_its_tree_arcs(seed):
    """A random graph's all-origin forest not yet asked anything, and the tree arcs of every
    reached (row, node) pair (not the sources) from a twin forest asked everything at once:
    (rng, n_nodes, fresh forest, rows, nodes, expected arcs)."""
    rng = np.random.default_rng(seed)
    n_nodes = int(rng.integers(3, 25))
    tail, head, weight = _random_arcs(rng, n_nodes, int(rng.integers(n_nodes, 4 * n_nodes)),
                                      np.array([0.0, 0.0, 1.0, 1.0, 2.0, 3.0, np.inf]))
    graph = ArcGraph.from_arcs(tail, head, n_nodes)
    at_once, fresh = (shortest_path_forest(graph, weight, np.arange(n_nodes)) for _ in range(2))
    rows, nodes = np.nonzero(np.isfinite(at_once.distance))
    keep = nodes != at_once.sources[rows]
    rows, nodes = rows[keep], nodes[keep]
    return rng, n_nodes, fresh, rows, nodes, at_once.tree_arcs(rows, nodes)


@pytest.mark.parametrize("seed", range(6))
def test_tree_arcs_asked_a_few_rows_at_a_time_are_those_asked_at_once(seed):
    """The zero-length counts are kept per forest row once computed: a forest asked row by
    row (last first, each row's nodes in two halves) gives the arcs of one asked everything."""
    rng, n_nodes, piecewise, rows, nodes, expected = _fresh_forest_and_its_tree_arcs(seed)
    for r in range(n_nodes)[::-1]:
        mine = np.flatnonzero(rows == r)
        for half in (mine[: len(mine) // 2], mine[len(mine) // 2:]):
            if half.size:
                assert np.array_equal(piecewise.tree_arcs(rows[half], nodes[half]), expected[half])


@pytest.mark.parametrize("seed", range(6))
def test_tree_arcs_asked_for_rows_partly_cached_are_those_asked_at_once(seed):
    """Pricing asks one call for many rows, some already counted and some not: interleaved row
    sets (rows ≡ 0 mod 3, then rows ≡ 0 mod 2, i.e. half of them counted before, then rows ≢ 2
    mod 3, then all), their entries in shuffled order, give the arcs of a forest asked
    everything at once.  A cache that stored a row's counts under another row fails here."""
    rng, _, mixed, rows, nodes, expected = _fresh_forest_and_its_tree_arcs(seed)
    for chosen in (rows % 3 == 0, rows % 2 == 0, rows % 3 != 2, np.ones(len(rows), bool)):
        asked = rng.permutation(np.flatnonzero(chosen))
        if asked.size:
            assert np.array_equal(mixed.tree_arcs(rows[asked], nodes[asked]), expected[asked])


def test_the_random_graphs_have_what_they_are_for():
    """Across the seeds above: unreachable pairs, nodes reached only by zero-length arcs, nodes
    with several tight arcs, parallel arcs."""
    seen = set()
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n_nodes = int(rng.integers(3, 25))
        tail, head, weight = _random_arcs(rng, n_nodes, int(rng.integers(n_nodes, 4 * n_nodes)),
                                          np.array([0.0, 0.0, 1.0, 1.0, 2.0, 3.0, np.inf]))
        d = shortest_path_forest(ArcGraph.from_arcs(tail, head, n_nodes), weight, np.arange(n_nodes)).distance
        tight = np.isfinite(d[:, tail]) & (d[:, tail] + weight == d[:, head])
        gaining = tight & (d[:, tail] < d[:, head])
        into_gaining = np.zeros_like(d, dtype=int)
        for a in range(len(tail)):
            into_gaining[:, head[a]] += gaining[:, a]
        reached = np.isfinite(d) & (d > 0)
        seen |= {"unreachable"} if (~np.isfinite(d)).any() else set()
        seen |= {"zero only"} if ((into_gaining == 0) & np.isfinite(d) & ~np.eye(n_nodes, dtype=bool)).any() else set()
        seen |= {"ties"} if (into_gaining[reached] > 1).any() else set()
        seen |= {"parallel"} if len(np.unique(tail * n_nodes + head)) < len(tail) else set()
    assert seen == {"unreachable", "zero only", "ties", "parallel"}


def test_zero_length_cycles_take_the_fewest_zero_hops():
    """x -> a (1), then zero-length arcs a -> b, b -> c, c -> b: b's arc from a, c's from b,
    although c -> b has the lower index than a -> b."""
    tail, head = np.array([3, 2, 0, 1]), np.array([2, 3, 1, 2])  # c->b, b->c, x->a, a->b: x0 a1 b2 c3
    weight = np.array([0.0, 0.0, 1.0, 0.0])
    forest = _check_rule(4, tail, head, weight, np.array([0]))
    np.testing.assert_array_equal(forest.tree_arcs(np.zeros(3, np.int64), np.array([1, 2, 3])), [2, 3, 1])


def test_unit_weights_on_a_grid_take_the_lowest_index_last_arcs():
    side = 5
    node = np.arange(side * side).reshape(side, side)
    right = np.stack([node[:, :-1].ravel(), node[:, 1:].ravel()])
    down = np.stack([node[:-1].ravel(), node[1:].ravel()])
    pairs = np.concatenate([right, down, right[::-1], down[::-1]], axis=1)
    order = np.random.default_rng(1).permutation(pairs.shape[1])  # arc indices unrelated to nodes
    tail, head = pairs[0, order], pairs[1, order]
    _check_rule(side * side, tail, head, np.ones(len(tail)), np.arange(side * side))


def test_paths_are_the_trees_of_the_rule():
    """Min-hop on a square a-b-d, a-c-d: the demand a -> d goes through the lower-index arc into d."""
    links = [Link("ab", "a", "b", 1.0), Link("ac", "a", "c", 1.0), Link("cd", "c", "d", 1.0),
             Link("bd", "b", "d", 1.0)]
    net = build_network(name="sq", nodes=[Node(n) for n in "abcd"], links=links,
                        demands=[Demand("ad", "a", "d", 1.0)], link_model="directed", rate_unit="packet/s")
    forest = shortest_path_forest(ArcGraph.from_network(net), np.ones(net.n_arcs), net.demand_source)
    np.testing.assert_array_equal(demand_shortest_paths(forest, net)[1], [1, 2])  # ac, cd (cd before bd)
