"""Fixed routing rules used as baselines: min-hop, shortest length, and OSPF-style ECMP.

They route every demand without looking at capacities or load, over all links of the network
(installed or not, whatever their capacity), so that they can also size capacities.  Paths
are loop-free; the fractions of each demand sum to 1.
"""
from __future__ import annotations

import numpy as np

from topo_opt.model.routing_rules import BASELINE_RULES
from topo_opt.algorithms.shortest_paths import (
    ArcGraph, demand_shortest_paths, gather_rows, hop_distances, raise_unreachable,
    shortest_path_forest,
)
from topo_opt.errors import TopoOptError
from topo_opt.model.design import Routing
from topo_opt.model.network import Network
from topo_opt.model.synthesis import size_capacities

HOP_TIE_BREAK_M = 1e-3
"""Length charged per hop by :func:`shortest_length_routing` (1 mm): among paths of equal
length the one with fewer hops wins, and links of unknown length cost one hop."""

DEFAULT_MAX_ECMP_PATHS = 1_000_000


def single_path_routing(network: Network, arc_weight: np.ndarray) -> Routing:
    """Each demand on its shortest path for ``arc_weight`` (one path per demand, fraction 1)."""
    forest = shortest_path_forest(ArcGraph.from_network(network), arc_weight, network.demand_source)
    indptr, arcs = demand_shortest_paths(forest, network)
    return Routing(np.arange(network.n_demands, dtype=np.int64), np.ones(network.n_demands),
                   indptr, arcs)


def min_hop_routing(network: Network) -> Routing:
    """Each demand on one path with the fewest arcs (ties broken by the shortest-path search).

    Raises
    ------
    InfeasibleError
        A demand's target cannot be reached.
    """
    return single_path_routing(network, np.ones(network.n_arcs))


def min_hop_sized(network: Network, target_utilization: float = 0.5) -> Network:
    """``network`` with every link at the smallest standard line rate keeping its min-hop load
    at or below ``target_utilization`` (the bundled-instance rule; see
    :func:`topo_opt.model.synthesis.size_capacities`)."""
    load = min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs)
    return size_capacities(network, load, target_utilization=target_utilization)


def shortest_length_routing(network: Network) -> Routing:
    """Each demand on one path of least total length ``Σ_a length_m(a)``.

    A link of unknown length (NaN) counts as 0 m.  Every arc also costs
    ``HOP_TIE_BREAK_M`` (1 mm), so among paths whose lengths differ by less than a millimetre
    per hop the one with fewer hops wins, and a network without lengths gets min-hop paths.

    Raises
    ------
    InfeasibleError
        A demand's target cannot be reached.
    """
    length = np.nan_to_num(network.link_length_m, nan=0.0)[network.arc_link]
    return single_path_routing(network, length + HOP_TIE_BREAK_M)


def ecmp_routing(network: Network, max_paths: int = DEFAULT_MAX_ECMP_PATHS) -> Routing:
    """Equal-cost multipath on hop counts, as OSPF ECMP with unit link weights.

    At every node the traffic towards a destination ``t`` is split equally among the arcs
    that lie on a min-hop path to ``t`` (arcs ``u → v`` with ``h_t(u) = h_t(v) + 1``, ``h_t``
    the hop distance to ``t``; parallel arcs are separate next hops).  A demand's routing is
    every min-hop path, with fraction ``Π_{u on the path} 1/outdeg_t(u)``.

    Parameters
    ----------
    network : Network
    max_paths : int
        Upper limit on the number of paths (their count grows combinatorially on grids).

    Raises
    ------
    InfeasibleError
        A demand's target cannot be reached.
    TopoOptError
        More than ``max_paths`` paths would be needed.
    """
    graph = ArcGraph.from_network(network)
    targets, target_row = np.unique(network.demand_target, return_inverse=True)
    hops = hop_distances(graph, targets, towards=True)
    reach = hops[target_row, network.demand_source]
    if np.any(~np.isfinite(reach)):
        raise_unreachable(network, np.flatnonzero(~np.isfinite(reach)))
    tail, head = network.arc_tail, network.arc_head
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (demand, fraction, arcs 2-D)
    n_complete = 0
    for row, t in enumerate(targets):
        h = hops[row]
        on_dag = np.isfinite(h[tail]) & (h[tail] == h[head] + 1)
        next_arcs = np.flatnonzero(on_dag)[np.argsort(tail[on_dag], kind="stable")]
        out_ptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(tail[next_arcs], minlength=network.n_nodes), out=out_ptr[1:])
        out_degree = np.diff(out_ptr)
        # frontier of partial paths: demand, node reached, fraction, arcs so far (one column per hop)
        demand = np.flatnonzero(network.demand_target == t)
        node = network.demand_source[demand]
        fraction = np.ones(len(demand))
        walked = np.zeros((len(demand), 0), dtype=np.int64)
        while demand.size:
            done = node == t
            if np.any(done):
                pieces.append((demand[done], fraction[done], walked[done]))
                n_complete += int(done.sum())
                demand, node, fraction, walked = demand[~done], node[~done], fraction[~done], walked[~done]
                if not demand.size:
                    break
            degree = out_degree[node]
            if n_complete + int(degree.sum()) > max_paths:
                raise TopoOptError(f"ECMP routing needs more than max_paths={max_paths} paths "
                                   f"(demands towards node {network.nodes[t].id!r}); raise the limit")
            parent = np.repeat(np.arange(len(demand)), degree)
            branch = np.arange(len(parent)) - np.repeat(np.cumsum(degree) - degree, degree)
            arc = next_arcs[out_ptr[node[parent]] + branch]
            demand, fraction = demand[parent], fraction[parent] / degree[parent]
            walked = np.column_stack([walked[parent], arc])
            node = head[arc]
    demand = np.concatenate([p[0] for p in pieces])
    fraction = np.concatenate([p[1] for p in pieces])
    lengths = np.concatenate([np.full(len(p[0]), p[2].shape[1]) for p in pieces])
    arcs = np.concatenate([p[2].ravel() for p in pieces])
    indptr = np.zeros(len(demand) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    order = np.argsort(demand, kind="stable")
    indptr, arcs = gather_rows(indptr, arcs, order)
    return Routing(demand[order], fraction[order], indptr, arcs)


#: Rule name (:data:`topo_opt.model.routing_rules.BASELINE_RULES`) -> routing of a network.
BASELINE_ROUTINGS = dict(zip(BASELINE_RULES, (min_hop_routing, shortest_length_routing, ecmp_routing),
                             strict=True))
