"""Candidate paths for the path-based MILPs and the GA: k shortest and all simple paths.

A path is an ``int64`` array of arc indices (see :mod:`topo_opt.algorithms.path_operators`);
the first two functions return, per demand, a list of such arrays, the last two a
:class:`~topo_opt.model.design.Routing` (the path container).

* :func:`k_shortest_paths` -- up to k shortest loop-free paths under arc weights (Yen, "Finding
  the k shortest loopless paths in a network", Management Science 17(11), 1971, via networkx);
* :func:`all_simple_paths` -- every loop-free path, when each demand has at most a given number;
* :func:`candidate_paths` -- the candidates of the single-path MILPs: all loop-free paths on
  small networks, else the k shortest (and whether they are complete);
* :func:`demand_bound_paths` -- those candidates within a per-demand delay bound at zero load.
"""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

from topo_opt.algorithms.shortest_paths import ArcGraph, merged_paths
from topo_opt.errors import InfeasibleError
from topo_opt.evaluators.delay import DelayObjective, zero_load_delay_s
from topo_opt.model.design import Routing
from topo_opt.model.network import Network

#: Loop-free paths are enumerated only up to this many nodes: the depth-first search behind
#: networkx's enumeration can take exponential time between two paths on larger graphs
#: (germany50: over a minute for one demand before the per-demand limit is reached).
MAX_ENUMERATION_NODES = 20


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


def candidate_paths(network: Network, *, k_shortest: int, max_simple_paths: int,
                    extra: Routing | None = None) -> tuple[Routing, bool]:
    """Candidate paths of every demand (grouped, distinct) and whether they are all its
    loop-free paths.

    All loop-free paths when the network has at most :data:`MAX_ENUMERATION_NODES` nodes and
    every demand has at most ``max_simple_paths``; else the
    ``k_shortest`` shortest under the zero-load marginal delay plus the paths of ``extra``.
    """
    enumerate_all = max_simple_paths > 0 and network.n_nodes <= MAX_ENUMERATION_NODES
    per_demand = all_simple_paths(network, max_simple_paths) if enumerate_all else None
    complete = per_demand is not None
    if not complete:
        weight = DelayObjective.for_network(network).arc_gradient(np.zeros(network.n_arcs))
        per_demand = k_shortest_paths(network, weight, max(k_shortest, 1))
    if extra is not None and not complete:
        per_demand = [[*mine, *theirs] for mine, theirs in zip(per_demand, extra.to_lists(network.n_demands))]
    paths = Routing.from_lists(per_demand)
    paths, _ = merged_paths(network, paths.demand, paths.indptr, paths.arcs, np.zeros(paths.n_paths))
    return paths, complete


def demand_bound_paths(network: Network, max_demand_delay_s: float, *, k_shortest: int = 8,
                       max_simple_paths: int = 50, rtol: float = 1e-6) -> tuple[Routing, bool]:
    """Candidate paths of the per-demand bound and whether they are all the feasible ones.

    The candidates of :func:`candidate_paths` (every loop-free path
    on small networks, else the ``k_shortest``) whose zero-load delay Σ_a (L̄/C_a + τ_a) is at
    most D_max·(1 + ``rtol``) (the others exceed D_max at any load).

    Raises
    ------
    InfeasibleError
        A demand without a candidate within D_max at zero load (named; a proof when the
        candidates are complete).
    """
    paths, complete = candidate_paths(network, k_shortest=k_shortest, max_simple_paths=max_simple_paths)
    zero_load = paths.path_sums(zero_load_delay_s(network))
    keep = zero_load <= max_demand_delay_s * (1 + rtol)
    kept = np.bincount(paths.demand[keep], minlength=network.n_demands)
    if np.any(kept == 0):
        k = int(np.flatnonzero(kept == 0)[0])
        d = network.demands[k]
        shortest = zero_load[paths.demand == k].min()
        scope = "of its loop-free paths" if complete else f"of its {k_shortest} shortest candidate paths"
        raise InfeasibleError(
            f"{network.name}: demand {d.id!r} ({d.source!r} -> {d.target!r}): none {scope} meets "
            f"D_max = {max_demand_delay_s:.6g} s even at zero load (shortest {shortest:.6g} s)",
            {"reason": "demand_delay_bound", "demand": d.id, "min_path_delay_s": float(shortest)})
    return paths.select(np.flatnonzero(keep)), complete
