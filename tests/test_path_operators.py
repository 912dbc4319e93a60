"""Property tests: crossover and mutation always give loop-free paths of the same demand."""
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from topo_opt.algorithms.path_operators import (
    all_simple_paths, crossover, is_loop_free, k_shortest_paths, mutate, path_nodes,
    randomised_shortest_paths, remove_loops,
)
from topo_opt.algorithms.shortest_paths import ArcGraph
from topo_opt.io.detect import read_instance
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.model.validation import replace_network

NETWORK = read_instance("instances/nobel-us.json")
GRAPH = ArcGraph.from_network(NETWORK)
TAIL, HEAD = NETWORK.arc_tail, NETWORK.arc_head


def _paths_of(k):
    return all_simple_paths(replace_network(NETWORK, demands=(NETWORK.demands[k],)), 10_000)[0]


PATHS = {k: _paths_of(k) for k in (0, 7, 40)}


def _ends(path):
    nodes = path_nodes(path, TAIL, HEAD)
    return nodes[0], nodes[-1]


@st.composite
def two_paths(draw):
    k = draw(st.sampled_from(sorted(PATHS)))
    i = draw(st.integers(0, len(PATHS[k]) - 1))
    j = draw(st.integers(0, len(PATHS[k]) - 1))
    return PATHS[k][i], PATHS[k][j]


@settings(max_examples=150, deadline=None)
@given(two_paths(), st.integers(0, 2 ** 32 - 1))
def test_crossover_children_are_loop_free_with_the_parents_ends(parents, seed):
    first, second = parents
    for child in crossover(first, second, TAIL, HEAD, np.random.default_rng(seed)):
        assert is_loop_free(child, TAIL, HEAD)
        assert _ends(child) == _ends(first)


@settings(max_examples=150, deadline=None)
@given(two_paths(), st.integers(0, 2 ** 32 - 1))
def test_mutation_is_loop_free_with_the_same_ends(parents, seed):
    path = parents[0]
    child = mutate(path, GRAPH, np.ones(NETWORK.n_arcs), np.random.default_rng(seed))
    assert is_loop_free(child, TAIL, HEAD)
    assert _ends(child) == _ends(path)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, NETWORK.n_nodes - 1), min_size=2, max_size=30))
def test_remove_loops_of_any_walk(nodes):
    """Any walk (a random node sequence made a walk by shortest hops) loses its cycles only."""
    graph = nx.DiGraph(list(zip(TAIL.tolist(), HEAD.tolist())))
    walk_nodes = [nodes[0]]
    for target in nodes[1:]:
        walk_nodes += nx.shortest_path(graph, walk_nodes[-1], target)[1:]
    if len(walk_nodes) < 2:
        return
    arc_of = {(int(t), int(h)): a for a, (t, h) in enumerate(zip(TAIL, HEAD))}
    walk = np.array([arc_of[(u, v)] for u, v in zip(walk_nodes[:-1], walk_nodes[1:])])
    if walk_nodes[0] == walk_nodes[-1]:
        return  # a closed walk erases to nothing
    path = remove_loops(walk, TAIL, HEAD)
    assert is_loop_free(path, TAIL, HEAD)
    assert _ends(path) == (walk_nodes[0], walk_nodes[-1])
    assert set(path.tolist()) <= set(walk.tolist())


def _hand_made():
    """s-a-m-b-t and s-c-m-d-t (directed arcs 0..7) plus the direct arc s-t (8)."""
    pairs = ("sa", "am", "mb", "bt", "sc", "cm", "md", "dt", "st")
    return build_network(name="x", nodes=tuple(Node(n) for n in "sacmbdt"),
                         links=tuple(Link(f"{u}{v}", u, v, 1.0) for u, v in pairs),
                         demands=(Demand("k", "s", "t", 0.1),), link_model="directed")


def test_crossover_swaps_tails_at_the_common_node():
    net = _hand_made()
    first, second = np.array([0, 1, 2, 3]), np.array([4, 5, 6, 7])
    c1, c2 = crossover(first, second, net.arc_tail, net.arc_head, np.random.default_rng(0))
    assert c1.tolist() == [0, 1, 6, 7] and c2.tolist() == [4, 5, 2, 3]


def test_crossover_without_common_node_returns_copies():
    net = _hand_made()
    direct, other = np.array([8]), np.array([0, 1, 2, 3])
    c1, c2 = crossover(direct, other, net.arc_tail, net.arc_head, np.random.default_rng(0))
    assert c1.tolist() == [8] and c2.tolist() == [0, 1, 2, 3]


def test_all_simple_paths_agrees_with_networkx_count_and_limit():
    graph = nx.DiGraph(list(zip(TAIL.tolist(), HEAD.tolist())))
    d = NETWORK.demands[7]
    s, t = NETWORK.node_index[d.source], NETWORK.node_index[d.target]
    assert len(PATHS[7]) == sum(1 for _ in nx.all_simple_paths(graph, s, t))
    assert all_simple_paths(NETWORK, 3) is None


def test_k_shortest_are_sorted_distinct_and_loop_free():
    weight = np.random.default_rng(1).uniform(1, 2, NETWORK.n_arcs)
    for paths in k_shortest_paths(NETWORK, weight, 4)[:10]:
        lengths = [weight[p].sum() for p in paths]
        assert lengths == sorted(lengths) and len({p.tobytes() for p in paths}) == len(paths) == 4
        assert all(is_loop_free(p, TAIL, HEAD) for p in paths)


def test_randomised_paths_connect_every_demand():
    indptr, arcs = randomised_shortest_paths(NETWORK, GRAPH, np.ones(NETWORK.n_arcs),
                                             np.random.default_rng(3))
    for k in range(NETWORK.n_demands):
        path = arcs[indptr[k]:indptr[k + 1]]
        assert is_loop_free(path, TAIL, HEAD)
        assert _ends(path) == (NETWORK.demand_source[k], NETWORK.demand_target[k])


@pytest.mark.parametrize("walk", [[0], []])
def test_is_loop_free_edge_cases(walk):
    assert is_loop_free(np.array(walk, dtype=np.int64), TAIL, HEAD) == bool(walk)
