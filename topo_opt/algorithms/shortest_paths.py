"""Shortest paths on arc weights for all demands at once, and path sets stored as flat arrays.

Every routing method needs the same three operations, vectorised over thousands of demands:

* **Shortest-path forest** -- Dijkstra's distances from all demand sources at once on a
  node-pair graph (:func:`shortest_path_forest`, the one entry point).  With parallel arcs
  between two nodes only the cheapest arc enters the graph; :class:`ArcGraph` keeps the map
  back to arc indices.  Arcs of infinite weight are left out (unusable).  Up to
  :data:`DENSE_MAX_NODES` nodes the sources advance together on a dense weight matrix
  (:func:`dense_dijkstra`, numpy only); above, one :func:`scipy.sparse.csgraph.dijkstra`
  call.  Importing scipy.sparse costs ~0.2 s of a command's start-up, more than a whole
  min-delay solve of a 12–50-node network.  Both give the same distances to the bit, hence
  the same trees (the tie rule below).
* **Tie rule** -- the tree is not the search's: it is read off the distances alone, so that
  every Dijkstra (scipy's, any other) gives the same paths whatever its heap order.  An arc
  ``a = (u, v)`` is *tight* when ``d(u) + w(a) == d(v)`` in floating point (the distances of
  every correct Dijkstra are the same such sums, bit for bit).  The tree arc into ``v`` is its
  **lowest-index tight arc with d(u) < d(v)**.  Only when ``v`` has none (it is reached
  through arcs of zero length, or so short that the sum rounds to ``d(v)``) does it take the
  lowest-index tight arc from a node with ``z(u) = z(v) − 1``, where ``z`` counts such
  zero-length tight arcs: ``z = 0`` at the source and at nodes with a tight arc of
  ``d(u) < d(v)``, else ``z(v) = 1 + min z(u)`` over its tight arcs.  Along the tree
  ``(d, z)`` falls strictly, so it has no cycle.  Under unit weights (min-hop routing) every
  demand's path is thus the min-hop path whose last arc, then the one before, ... has the
  lowest index (:meth:`ShortestPathForest.tree_arcs`).
* **Path extraction** -- the demands' paths, as arc indices, are read off the trees by walking
  back from all targets simultaneously (one numpy step per hop, never a Python loop per
  demand), choosing each tree arc among the in-arcs of the node reached; the all-or-nothing
  assignment ``V_a = Σ_k r_k [a ∈ P_k]`` is a
  ``bincount`` over the extracted arcs.  That costs ``O(Σ_k hops_k · in-degree)``, less than
  a sweep of whole trees (``O(sources × nodes)``: 1.2 M hops against 6.3 M entries on
  planar2500), and the methods need the paths themselves anyway.
* **Path sets** -- candidate paths are a :class:`~topo_opt.model.design.Routing` grouped by
  demand (path lengths ``M w``, arc flows ``Mᵀ x``), with the solver's path flows in their own
  array; per-demand minima are segment reductions (:func:`segment_min`).  Gradient projection
  and flow deviation grow such sets by column generation (:func:`extend_with_shortest_paths`).

An unreachable target raises :class:`~topo_opt.errors.InfeasibleError` naming the demands.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.model.design import Routing, distinct_indices, gather_rows
from topo_opt.model.network import Network

if TYPE_CHECKING:  # scipy.sparse costs ~0.2 s of start-up: imported where a large graph needs it
    import scipy.sparse as sp

DENSE_MAX_NODES = 64  # graphs up to this many nodes take dense_dijkstra (see benchmarks/BENCHMARKS.md)


@dataclass(frozen=True)
class ArcGraph:
    """The arcs of a network reduced to one csgraph entry per (tail, head) node pair.

    Attributes
    ----------
    n_nodes : int
    arc_tail, arc_head : ndarray of int
    pair_key : ndarray of int
        ``tail · n_nodes + head`` of every node pair with at least one arc, sorted.
    pair_arcs : ndarray of int
        Arc indices sorted by pair; the arcs of pair ``i`` are
        ``pair_arcs[pair_start[i]:pair_start[i + 1]]``.
    pair_start : ndarray of int
    """

    n_nodes: int
    arc_tail: np.ndarray
    arc_head: np.ndarray
    pair_key: np.ndarray
    pair_arcs: np.ndarray
    pair_start: np.ndarray

    @classmethod
    def from_network(cls, network: Network) -> "ArcGraph":
        return cls.from_arcs(network.arc_tail, network.arc_head, network.n_nodes)

    @classmethod
    def from_arcs(cls, arc_tail: np.ndarray, arc_head: np.ndarray, n_nodes: int) -> "ArcGraph":
        key = np.asarray(arc_tail, np.int64) * n_nodes + np.asarray(arc_head, np.int64)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        first = np.flatnonzero(np.diff(sorted_key, prepend=-1) != 0)  # keys are >= 0; none without arcs
        return cls(n_nodes, np.asarray(arc_tail, np.int64), np.asarray(arc_head, np.int64),
                   sorted_key[first], order, np.append(first, len(key)))

    @property
    def n_pairs(self) -> int:
        return len(self.pair_key)

    @cached_property
    def has_parallel_arcs(self) -> bool:
        return self.n_pairs < len(self.arc_tail)

    @cached_property
    def in_arcs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(in_ptr, in_arc)``: the arcs into node ``v`` are ``in_arc[in_ptr[v]:in_ptr[v + 1]]``,
        in increasing index."""
        in_arc = np.argsort(self.arc_head, kind="stable")
        in_ptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.arc_head, minlength=self.n_nodes), out=in_ptr[1:])
        return in_ptr, in_arc

    def pair_of(self, tail: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Index of the node pair (tail, head) of existing pairs (vectorised lookup)."""
        return np.searchsorted(self.pair_key, tail.astype(np.int64) * self.n_nodes + head)

    def pair_weights(self, arc_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weight of each node pair (the least of its arcs) and the arc chosen for it.

        ``pair_arc[i]`` is the first of the cheapest arcs of pair ``i``; a pair whose least
        weight is ``inf`` is unusable.

        Raises
        ------
        InvalidInputError
            A weight is negative or NaN.
        """
        w_sorted = checked_weights(arc_weight)[self.pair_arcs]
        if not self.has_parallel_arcs:
            return w_sorted, self.pair_arcs
        starts = self.pair_start[:-1]
        pair_w = np.minimum.reduceat(w_sorted, starts)
        counts = np.diff(self.pair_start)
        position = np.where(w_sorted == np.repeat(pair_w, counts), np.arange(len(w_sorted)), len(w_sorted))
        return pair_w, self.pair_arcs[np.minimum.reduceat(position, starts)]

    def csgraph(self, arc_weight: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        """The scipy csgraph for ``arc_weight`` and the arc chosen for each node pair
        (:meth:`pair_weights`); pairs of weight ``inf`` are left out."""
        import scipy.sparse as sp

        pair_w, pair_arc = self.pair_weights(arc_weight)
        usable = np.isfinite(pair_w)
        tail, head = np.divmod(self.pair_key[usable], self.n_nodes)
        indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(tail, minlength=self.n_nodes), out=indptr[1:])
        # Built from CSR arrays directly: zero weights stay explicit entries (edges), and the
        # keys are sorted, so the rows and their columns are already in order.
        graph = sp.csr_matrix((pair_w[usable], head, indptr), shape=(self.n_nodes,) * 2)
        return graph, pair_arc


def checked_weights(arc_weight: np.ndarray) -> np.ndarray:
    """``arc_weight`` as floats.

    Raises
    ------
    InvalidInputError
        A weight is negative or NaN.
    """
    w = np.asarray(arc_weight, dtype=float)
    bad = np.flatnonzero(~(w >= 0))
    if bad.size:
        raise InvalidInputError(f"arc {int(bad[0])}: shortest-path weight must be >= 0, "
                                f"got {float(w[bad[0]])!r} ({bad.size} arcs)")
    return w


@dataclass(frozen=True)
class ShortestPathForest:
    """Shortest-path trees from a set of source nodes (the tie rule of the module docstring).

    Attributes
    ----------
    graph : ArcGraph
    arc_weight : ndarray
        The arc weights the distances are for (``inf``: unusable arc).
    sources : ndarray of int
        Distinct source nodes, sorted; row ``i`` of ``distance`` belongs to ``sources[i]``.
    distance : ndarray, shape (n_sources, n_nodes)
        Shortest distance (weight units); ``inf`` where unreachable.
    """

    graph: ArcGraph
    arc_weight: np.ndarray
    sources: np.ndarray
    distance: np.ndarray

    def rows(self, source_nodes: np.ndarray) -> np.ndarray:
        """Row of each source node in the forest's matrices."""
        return np.searchsorted(self.sources, source_nodes)

    @cached_property
    def _in_weight(self) -> np.ndarray:
        """The arc weights in the order of ``graph.in_arcs``."""
        return self.arc_weight[self.graph.in_arcs[1]]

    def tree_arcs(self, row: np.ndarray, node: np.ndarray) -> np.ndarray:
        """The tree arc into each ``node[i]`` in the tree of ``sources[row[i]]``.

        Each node must be reachable and not the source.  The lowest-index tight arc with
        ``d(u) < d(v)``; for nodes without one, :meth:`_zero_length_tree_arcs`.
        """
        in_ptr, in_arc = self.graph.in_arcs
        start, count = in_ptr[node], in_ptr[node + 1] - in_ptr[node]  # >= 1: v is reached
        first = np.zeros(len(node), dtype=np.int64)
        np.cumsum(count[:-1], out=first[1:])
        position = np.arange(int(count.sum())) + np.repeat(start - first, count)  # into in_arc
        flat = row * self.graph.n_nodes
        d_head = self.distance.ravel()[flat + node]
        d_tail = self.distance.ravel()[np.repeat(flat, count) + self.graph.arc_tail[in_arc[position]]]
        d_head = np.repeat(d_head, count)
        ok = (d_tail + self._in_weight[position] == d_head) & (d_tail < d_head)
        # in_arc is in index order per node: the first hit of each node's run
        best = np.minimum.reduceat(np.where(ok, position, len(in_arc)), first)
        chosen = np.where(best < len(in_arc), in_arc[np.minimum(best, len(in_arc) - 1)], -1)
        rest = np.flatnonzero(chosen < 0)
        if rest.size:
            chosen[rest] = self._zero_length_tree_arcs(row[rest], node[rest])
        return chosen

    def _zero_length_tree_arcs(self, row: np.ndarray, node: np.ndarray) -> np.ndarray:
        """Tree arcs into nodes reached only through tight arcs with ``d(u) == d(v)``: the
        lowest-index such arc from a node with ``z(u) = z(v) − 1`` (module docstring)."""
        tail, head = self.graph.arc_tail, self.graph.arc_head
        tight, level, z, done = self._zero_length_counts
        missing = distinct_indices(row[~done[row]])
        if missing.size:
            tight[missing], level[missing], z[missing] = self._zero_length_rows(missing)
            done[missing] = True
        in_ptr, in_arc = self.graph.in_arcs
        _, arc = gather_rows(in_ptr, in_arc, node)
        entry = np.repeat(np.arange(len(node)), in_ptr[node + 1] - in_ptr[node])
        r = row[entry]
        hit = np.flatnonzero(tight[r, arc] & level[r, arc] & (z[r, tail[arc]] == z[r, head[arc]] - 1.0))
        return arc[hit[np.diff(entry[hit], prepend=-1) != 0]]

    @cached_property
    def _zero_length_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Tight arcs, arcs with ``d(u) == d(v)`` (rows × arcs), ``z`` (rows × nodes) of
        :meth:`_zero_length_rows`, and which rows hold them: each row computed once, when a
        path walk (one call per hop) first needs it."""
        shape = (len(self.sources), len(self.graph.arc_tail))
        return (np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(self.distance.shape),
                np.zeros(len(self.sources), bool))

    def _zero_length_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For the forest rows ``rows``: tight arcs, tight-or-not arcs with ``d(u) == d(v)``
        (both shape (rows, arcs)) and ``z`` per node (module docstring)."""
        tail, head = self.graph.arc_tail, self.graph.arc_head
        d = self.distance[rows]
        tight = np.isfinite(d[:, tail]) & (d[:, tail] + self.arc_weight == d[:, head])
        level = d[:, tail] == d[:, head]
        z = np.full(d.shape, np.inf)
        z[np.arange(len(rows)), self.sources[rows]] = 0.0
        i, a = np.nonzero(tight & ~level)
        z[i, head[a]] = 0.0
        i, a = np.nonzero(tight & level)  # the tight arcs that gain no distance
        while True:  # Bellman–Ford on them: at most n_nodes rounds
            reached = np.full(d.shape, np.inf)
            np.minimum.at(reached, (i, head[a]), z[i, tail[a]] + 1.0)
            if not np.any(reached < z):
                break
            np.minimum(z, reached, out=z)
        return tight, level, z


def shortest_path_forest(graph: ArcGraph, arc_weight: np.ndarray,
                         sources: np.ndarray) -> ShortestPathForest:
    """Dijkstra from every distinct node in ``sources`` at once.

    Arcs with ``inf`` weight are not used.  Memory is one ``n_sources × n_nodes`` matrix (and
    an ``n_nodes × n_nodes`` one up to :data:`DENSE_MAX_NODES` nodes): the trees follow from
    the distances (:meth:`ShortestPathForest.tree_arcs`).  The shortest paths of the routing
    methods, hop distances and reachability go through here; the algorithm depends on the size
    only (:func:`dense_dijkstra` up to :data:`DENSE_MAX_NODES` nodes, scipy's above).
    """
    unique = distinct_indices(sources)
    if graph.n_nodes <= DENSE_MAX_NODES:
        pair_w, _ = graph.pair_weights(arc_weight)
        tail, head = np.divmod(graph.pair_key, graph.n_nodes)
        distance = dense_dijkstra(graph.n_nodes, tail, head, pair_w, unique)
    else:
        from scipy.sparse.csgraph import dijkstra

        csgraph, _ = graph.csgraph(arc_weight)
        distance = dijkstra(csgraph, directed=True, indices=unique)
    return ShortestPathForest(graph, checked_weights(arc_weight), unique, distance.reshape(len(unique), -1))


def dense_dijkstra(n_nodes: int, tail: np.ndarray, head: np.ndarray, weight: np.ndarray,
                   sources: np.ndarray) -> np.ndarray:
    """Dijkstra's distances from all ``sources`` together on a dense ``n_nodes × n_nodes`` matrix.

    Step ``i`` settles, for every source ``s`` at once, its unsettled node ``u_s`` of least
    distance and relaxes its row of weights: ``d_s ← min(d_s, d_s(u_s) + W[u_s, :])``, so each
    distance is ``min_u d(u) + w(u, v)`` over the settled ``u`` in floating point, as in
    scipy's :func:`dijkstra` (the same numbers to the bit).  ``O(n_sources · n_nodes²)`` work in
    ``n_nodes`` numpy steps: on small graphs this is cheaper than importing scipy.sparse
    (~0.2 s, once per process); per call scipy's heap-based Dijkstra is 1.3–3× faster (12–150
    nodes), so it takes the graphs above :data:`DENSE_MAX_NODES` nodes.

    Parameters
    ----------
    n_nodes : int
    tail, head : ndarray of int
        The node pairs, each at most once.
    weight : ndarray
        Weight of each pair, ``>= 0``; ``inf`` for none.
    sources : ndarray of int

    Returns
    -------
    ndarray, shape (n_sources, n_nodes)
        The distances; ``inf`` where unreachable.

    References
    ----------
    E. W. Dijkstra, *A note on two problems in connexion with graphs*, Numer. Math. 1 (1959) 269–271.
    """
    w = np.full((n_nodes, n_nodes), np.inf)
    w[tail, head] = weight
    rows = np.arange(len(sources))
    distance = np.full((len(sources), n_nodes), np.inf)
    distance[rows, sources] = 0.0
    unsettled = distance.copy()  # the distances of the nodes not yet settled, inf elsewhere
    for _ in range(n_nodes):
        node = unsettled.argmin(axis=1)
        least = unsettled[rows, node]
        if not np.isfinite(least).any():
            break
        unsettled[rows, node] = np.inf
        through = least[:, None] + w[node]  # inf on the rows with nothing left to settle
        better = through < distance  # never on settled nodes: weights are >= 0
        np.copyto(distance, through, where=better)
        np.copyto(unsettled, through, where=better)
    return distance


def _demand_indices(network: Network, demands: np.ndarray | None) -> np.ndarray:
    return np.arange(network.n_demands) if demands is None else np.asarray(demands, np.int64)


def demand_distances(forest: ShortestPathForest, network: Network,
                     demands: np.ndarray | None = None) -> np.ndarray:
    """Shortest distance ``dist(s_k, t_k)`` of each demand (all, or those indexed)."""
    k = _demand_indices(network, demands)
    return forest.distance[forest.rows(network.demand_source[k]), network.demand_target[k]]


def unreachable_demands(network: Network, arc_mask: np.ndarray) -> np.ndarray:
    """Indices of demands whose target cannot be reached from their source on ``arc_mask`` arcs.

    Up to :data:`DENSE_MAX_NODES` nodes: the hop counts of :func:`shortest_path_forest`.  Above,
    ends in different weak components are unreachable, ends in one strong component reachable;
    the remaining demands (only where some arc lacks its reverse) are settled by breadth-first
    search from their sources.
    """
    src, dst = network.demand_source, network.demand_target
    if network.n_nodes <= DENSE_MAX_NODES:
        graph = ArcGraph.from_arcs(network.arc_tail[arc_mask], network.arc_head[arc_mask], network.n_nodes)
        forest = shortest_path_forest(graph, np.ones(int(arc_mask.sum())), src)
        return np.flatnonzero(~np.isfinite(forest.distance[forest.rows(src), dst]))
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    graph = sp.csr_matrix((np.ones(int(arc_mask.sum())),
                           (network.arc_tail[arc_mask], network.arc_head[arc_mask])),
                          shape=(network.n_nodes, network.n_nodes))
    _, weak = csgraph.connected_components(graph, directed=True, connection="weak")
    _, strong = csgraph.connected_components(graph, directed=True, connection="strong")
    blocked = weak[src] != weak[dst]
    unsure = np.flatnonzero(~blocked & (strong[src] != strong[dst]))
    for s in np.unique(src[unsure]).tolist():
        reached = np.zeros(network.n_nodes, dtype=bool)
        order = csgraph.breadth_first_order(graph, s, directed=True, return_predecessors=False)
        reached[order] = True
        mine = unsure[src[unsure] == s]
        blocked[mine] = ~reached[dst[mine]]
    return np.flatnonzero(blocked)


def require_no_bridge(network: Network, links: np.ndarray) -> None:
    """Raise InfeasibleError when one link's failure disconnects a demand (no design survives)."""
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    ends = np.stack([network.link_source[links], network.link_target[links]])
    for position, l in enumerate(links.tolist()):
        keep = np.arange(len(links)) != position
        graph = sp.coo_matrix((np.ones(keep.sum()), (ends[0, keep], ends[1, keep])),
                              shape=(network.n_nodes, network.n_nodes))
        _, component = csgraph.connected_components(graph, directed=False)
        split = np.flatnonzero(component[network.demand_source] != component[network.demand_target])
        if split.size:
            raise InfeasibleError(
                f"link {network.links[l].id!r} is a bridge: its failure disconnects demand "
                f"{network.demands[split[0]].id!r}, so no design survives every single link failure")


def raise_unreachable(network: Network, demands: np.ndarray, link_capacity: np.ndarray | None = None) -> None:
    """Raise :class:`InfeasibleError` for demands whose target cannot be reached.

    When the first demand's ends are joined by links that have no capacity in ``link_capacity``
    (default: the installed capacities), the message says so (``details["reason"]`` is
    ``"no_capacity"``): such links can still be given capacity, e.g. the modules of an SNDlib
    link with no installed capacity.  Otherwise the demand is cut off by the topology itself
    (``"unreachable"``).
    """
    demands = np.asarray(demands, np.int64)
    names = [network.demands[int(k)].id for k in demands]
    first = network.demands[int(demands[0])]
    more = f" and {len(names) - 1} more demands" if len(names) > 1 else ""
    capacity = network.link_capacity if link_capacity is None else np.asarray(link_capacity, float)
    empty = int(np.count_nonzero(capacity <= 0))
    if empty and int(demands[0]) not in unreachable_demands(network, np.ones(network.n_arcs, bool)):
        kind = "installed capacity" if np.array_equal(capacity, network.link_capacity) else "capacity"
        buy = "; they can be given modules with a modular-capacity card" if kind == "installed capacity" and any(
            link.modules for link, c in zip(network.links, capacity.tolist()) if c <= 0) else ""
        raise InfeasibleError(
            f"demand {first.id!r} cannot be routed: no {kind} on any path from {first.source!r} to "
            f"{first.target!r} ({empty} of {network.n_links} links have none{buy}){more}",
            {"reason": "no_capacity", "demands": names})
    raise InfeasibleError(
        f"demand {first.id!r} cannot be routed: no usable path from {first.source!r} to "
        f"{first.target!r}{more}", {"reason": "unreachable", "demands": names})


def demand_shortest_paths(forest: ShortestPathForest, network: Network,
                          demands: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shortest path of each demand as arc indices, in CSR layout ``(indptr, arcs)``.

    Path ``i`` (of demand ``demands[i]``) is ``arcs[indptr[i]:indptr[i + 1]]``, from source to
    target.  All demands are walked back from their targets together, one hop per step, on
    the tree arcs of the tie rule (:meth:`ShortestPathForest.tree_arcs`).

    Raises
    ------
    InfeasibleError
        Some target is unreachable; ``details["demands"]`` lists the demand ids.
    """
    k = _demand_indices(network, demands)
    unreachable = ~np.isfinite(demand_distances(forest, network, k))
    if np.any(unreachable):
        raise_unreachable(network, k[unreachable])
    row = forest.rows(network.demand_source[k])
    source = network.demand_source[k]
    current = network.demand_target[k].copy()
    active = np.arange(len(k))
    steps_path, steps_arc = [], []
    while active.size:
        arc = forest.tree_arcs(row[active], current[active])
        previous = forest.graph.arc_tail[arc]
        steps_path.append(active)
        steps_arc.append(arc)
        current[active] = previous
        active = active[previous != source[active]]
    path_of_entry = np.concatenate(steps_path) if steps_path else np.zeros(0, np.int64)
    hop_of_entry = np.concatenate([np.full(len(a), h) for h, a in enumerate(steps_path)]) \
        if steps_path else np.zeros(0, np.int64)
    hops = np.bincount(path_of_entry, minlength=len(k))
    indptr = np.zeros(len(k) + 1, dtype=np.int64)
    np.cumsum(hops, out=indptr[1:])
    arcs = np.empty(indptr[-1], dtype=np.int64)
    # entries were collected target-first: hop h of path p sits at position len(p) − 1 − h
    arcs[indptr[path_of_entry] + hops[path_of_entry] - 1 - hop_of_entry] = np.concatenate(steps_arc) \
        if steps_arc else np.zeros(0, np.int64)
    return indptr, arcs


def all_or_nothing(forest: ShortestPathForest, network: Network,
                   rates: np.ndarray | None = None) -> np.ndarray:
    """Arc flows of every demand sent entirely on its shortest path: V_a = Σ_k r_k [a ∈ P_k].

    ``rates`` defaults to the demand rates (rate unit).
    """
    indptr, arcs = demand_shortest_paths(forest, network)
    r = network.demand_rate if rates is None else rates
    return np.bincount(arcs, weights=np.repeat(r, np.diff(indptr)), minlength=network.n_arcs)


def hop_distances(graph: ArcGraph, nodes: np.ndarray, *, towards: bool = False) -> np.ndarray:
    """Least number of arcs from each of ``nodes`` to every node (``inf`` if unreachable).

    With ``towards=True`` the counts are from every node *to* each of ``nodes``: row ``i`` holds
    the hop distance from every node to ``nodes[i]`` (shortest paths on the reversed arcs).
    """
    if towards:
        graph = ArcGraph.from_arcs(graph.arc_head, graph.arc_tail, graph.n_nodes)
    forest = shortest_path_forest(graph, np.ones(len(graph.arc_tail)), nodes)
    return forest.distance[forest.rows(np.asarray(nodes, np.int64))]


def grouped_paths(routing: Routing, network: Network) -> Routing:
    """``routing`` grouped by demand, checked to give every demand of ``network`` a path."""
    paths = routing.grouped()
    missing = np.flatnonzero(np.diff(paths.demand_ptr(network.n_demands)) == 0)
    if missing.size:
        raise InvalidInputError(f"routing: demand {network.demands[missing[0]].id!r} has no path")
    return paths


def merged_paths(network: Network, demand: np.ndarray, indptr: np.ndarray,
                 arcs: np.ndarray, path_flow: np.ndarray) -> tuple[Routing, np.ndarray]:
    """Group paths by demand and merge identical ones, adding their flows.

    Identical paths (same demand and arc sequence) are found by sorting on two random
    64-bit arc-set hashes and then compared arc by arc, so the merge is exact.  Returns the
    grouped paths (fractions 0) and their flows.
    """
    lengths = np.diff(indptr)
    keys = [lengths]
    for seed in (1, 2):
        code = np.random.default_rng(seed).integers(1, 2 ** 63, network.n_arcs, dtype=np.uint64)
        keys.append(np.add.reduceat(code[arcs], indptr[:-1]))
    order = np.lexsort((*keys, demand))
    same_key = np.zeros(len(order), dtype=bool)
    same_key[1:] = (demand[order][1:] == demand[order][:-1]) & np.all(
        [key[order][1:] == key[order][:-1] for key in keys], axis=0)
    candidates = np.flatnonzero(same_key)  # positions in ``order`` equal in key to the previous
    _, this_arcs = gather_rows(indptr, arcs, order[candidates])
    _, prev_arcs = gather_rows(indptr, arcs, order[candidates - 1])
    starts = np.concatenate(([0], np.cumsum(lengths[order[candidates]])[:-1]))
    equal = np.logical_and.reduceat(this_arcs == prev_arcs, starts) if len(candidates) else same_key[:0]
    duplicate = np.zeros(len(order), dtype=bool)
    duplicate[candidates[equal]] = True
    group = np.cumsum(~duplicate) - 1  # runs of identical paths share a group
    first = order[~duplicate]
    flow = np.bincount(group, weights=path_flow[order])
    grouped_indptr, grouped_arcs = gather_rows(indptr, arcs, first)
    return Routing(demand[first], np.zeros(len(first)), grouped_indptr, grouped_arcs), flow


def segment_min(paths: Routing, values: np.ndarray, demand_ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per demand of grouped ``paths``: least value over its paths and the first path reaching it."""
    starts = demand_ptr[:-1]
    least = np.minimum.reduceat(values, starts)
    position = np.where(values == least[paths.demand], np.arange(paths.n_paths), paths.n_paths)
    return least, np.minimum.reduceat(position, starts)


def with_paths(paths: Routing, demand: np.ndarray, indptr: np.ndarray, arcs: np.ndarray,
               keep: np.ndarray | None = None) -> tuple[Routing, np.ndarray]:
    """The grouped ``paths`` where ``keep`` is true (default all) plus new ones (fraction 0).

    Returns the new grouped set and ``position``: the new index of each kept old path (−1 for a
    dropped one) followed by those of the added paths.
    """
    kept = np.arange(paths.n_paths) if keep is None else np.flatnonzero(keep)
    all_demand = np.concatenate([paths.demand[kept], demand])
    order = np.argsort(all_demand, kind="stable")
    rows = np.concatenate([kept, paths.n_paths + np.arange(len(demand))])[order]
    all_indptr = np.concatenate([paths.indptr, paths.indptr[-1] + indptr[1:]])
    new_indptr, new_arcs = gather_rows(all_indptr, np.concatenate([paths.arcs, arcs]), rows)
    fraction = np.concatenate([paths.fraction, np.zeros(len(demand))])[rows]
    position = np.full(paths.n_paths + len(demand), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    return Routing(all_demand[order], fraction, new_indptr, new_arcs), position


def extend_with_shortest_paths(paths: Routing, path_flow: np.ndarray, forest: ShortestPathForest,
                               network: Network, arc_weight: np.ndarray, drop_empty: bool = False
                               ) -> tuple[Routing, np.ndarray, np.ndarray, np.ndarray]:
    """Column generation: give every demand its shortest path under ``arc_weight``.

    A demand whose shortest distance is below the length of all its paths (by a relative
    1e-12, so that rounding never duplicates a path) gets the new path with zero flow;
    otherwise its shortest existing path stands for it.  With ``drop_empty``, paths without
    flow leave the set (except a demand's shortest one).

    Returns
    -------
    paths : Routing
        The new set, grouped by demand.
    path_flow : ndarray
        ``path_flow`` carried over to the new path order (0 on added paths).
    chosen : ndarray of int
        Index of each demand's shortest path in the new set.
    distance : ndarray
        Shortest distance of each demand (from ``forest``, exact).
    """
    distance = demand_distances(forest, network)
    least, argmin = segment_min(paths, paths.path_sums(arc_weight), paths.demand_ptr(network.n_demands))
    new = np.flatnonzero(distance < least * (1.0 - 1e-12))
    keep = None
    if drop_empty:
        keep = path_flow > 0
        keep[argmin] = True
    if not new.size and (keep is None or keep.all()):
        return paths, path_flow, argmin, distance
    indptr, arcs = demand_shortest_paths(forest, network, new)
    extended, position = with_paths(paths, new, indptr, arcs, keep)
    flow = np.zeros(extended.n_paths)
    old = position[:paths.n_paths]
    flow[old[old >= 0]] = path_flow[old >= 0]
    chosen = position[argmin]
    chosen[new] = position[paths.n_paths:]
    return extended, flow, chosen, distance
