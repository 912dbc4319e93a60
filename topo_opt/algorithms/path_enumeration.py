"""Candidate paths for the path-based MILPs and the GA: k shortest and all simple paths.

A path is an ``int64`` array of arc indices (see :mod:`topo_opt.algorithms.path_operators`);
each function returns, per demand, a list of such arrays.

* :func:`k_shortest_paths` -- up to k shortest loop-free paths under arc weights (Yen, "Finding
  the k shortest loopless paths in a network", Management Science 17(11), 1971, via networkx);
* :func:`all_simple_paths` -- every loop-free path, when each demand has at most a given number.
"""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

from topo_opt.algorithms.shortest_paths import ArcGraph
from topo_opt.model.network import Network


def _multidigraph(network: Network, arc_weight: np.ndarray) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(range(network.n_nodes))
    graph.add_edges_from((int(t), int(h), a, {"weight": float(w)}) for a, (t, h, w) in enumerate(
        zip(network.arc_tail, network.arc_head, arc_weight)) if np.isfinite(w))
    return graph


def k_shortest_paths(network: Network, arc_weight: np.ndarray, k: int) -> list[list[np.ndarray]]:
    """Up to ``k`` shortest loop-free paths of every demand under ``arc_weight`` (Yen 1971).

    Parallel arcs are reduced to the cheapest of each node pair.  Returns, per demand, the paths
    as arc arrays in order of non-decreasing length (fewer when the demand has fewer paths).
    """
    graph = ArcGraph.from_network(network)
    csgraph, pair_arc = graph.csgraph(arc_weight)
    simple = nx.DiGraph()
    simple.add_nodes_from(range(network.n_nodes))
    coo = csgraph.tocoo()
    simple.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
    out = []
    for s, t in zip(network.demand_source.tolist(), network.demand_target.tolist()):
        paths = []
        for nodes in itertools.islice(nx.shortest_simple_paths(simple, s, t, weight="weight"), k):
            tail, head = np.asarray(nodes[:-1]), np.asarray(nodes[1:])
            paths.append(pair_arc[graph.pair_of(tail, head)].astype(np.int64))
        out.append(paths)
    return out


def all_simple_paths(network: Network, limit: int,
                     arc_weight: np.ndarray | None = None) -> list[list[np.ndarray]] | None:
    """Every loop-free path of every demand, or None when some demand has more than ``limit``.

    Parallel arcs count as different paths.  Arcs of infinite ``arc_weight`` are left out.
    """
    weight = np.ones(network.n_arcs) if arc_weight is None else arc_weight
    graph = _multidigraph(network, weight)
    out = []
    for s, t in zip(network.demand_source.tolist(), network.demand_target.tolist()):
        paths = list(itertools.islice(nx.all_simple_edge_paths(graph, s, t), limit + 1))
        if len(paths) > limit:
            return None
        out.append([np.asarray([key for _, _, key in p], dtype=np.int64) for p in paths])
    return out
