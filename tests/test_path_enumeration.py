"""k shortest and all simple paths against networkx's own enumeration (nobel-us)."""
import networkx as nx
import numpy as np

from topo_opt.algorithms.path_enumeration import all_simple_paths, k_shortest_paths
from topo_opt.algorithms.path_operators import is_loop_free
from topo_opt.io.detect import read_instance
from topo_opt.model.validation import replace_network

NETWORK = read_instance("instances/nobel-us.json")
TAIL, HEAD = NETWORK.arc_tail, NETWORK.arc_head


def test_all_simple_paths_agrees_with_networkx_count_and_limit():
    graph = nx.DiGraph(list(zip(TAIL.tolist(), HEAD.tolist())))
    d = NETWORK.demands[7]
    s, t = NETWORK.node_index[d.source], NETWORK.node_index[d.target]
    paths = all_simple_paths(replace_network(NETWORK, demands=(d,)), 10_000)[0]
    assert len(paths) == sum(1 for _ in nx.all_simple_paths(graph, s, t))
    assert all_simple_paths(NETWORK, 3) is None


def test_k_shortest_are_sorted_distinct_and_loop_free():
    weight = np.random.default_rng(1).uniform(1, 2, NETWORK.n_arcs)
    for paths in k_shortest_paths(NETWORK, weight, 4)[:10]:
        lengths = [weight[p].sum() for p in paths]
        assert lengths == sorted(lengths) and len({p.tobytes() for p in paths}) == len(paths) == 4
        assert all(is_loop_free(p, TAIL, HEAD) for p in paths)
