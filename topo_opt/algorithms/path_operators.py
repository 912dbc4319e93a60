"""Loop-free paths as arc sequences: loop removal, path crossover, sub-path mutation, candidates.

A path is an ``int64`` array of arc indices ``a_0, ..., a_{L-1}`` with ``head[a_i] = tail[a_{i+1}]``;
its node sequence is ``tail[a_0], head[a_0], ..., head[a_{L-1}]``.  Arcs rather than nodes, so
that parallel arcs (several links between two nodes) stay distinct.  The operators are those of
the Cognitive Packet Network genetic algorithm (Gelenbe, Liu and Lainé, "Genetic algorithms for
route discovery", IEEE Trans. SMC-B 36(6), 2006; models.md §6):

* **crossover** -- two paths of the same demand sharing an intermediate node v swap their tails
  at v; loops the swap creates are removed;
* **mutation** -- the sub-path between two random positions i < j is replaced by a random
  loop-free sub-path that avoids the other nodes of the path;
* **candidates** -- randomised shortest paths for all demands at once (k shortest and all simple
  paths are in :mod:`topo_opt.algorithms.path_enumeration`);
* **arc sets to paths** -- one path per demand from the arcs a single-path MILP chose for it.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import dijkstra

from topo_opt.algorithms.shortest_paths import ArcGraph, demand_shortest_paths, shortest_path_forest
from topo_opt.model.design import Routing
from topo_opt.model.network import Network


def path_nodes(arcs: np.ndarray, arc_tail: np.ndarray, arc_head: np.ndarray) -> np.ndarray:
    """Node sequence of a non-empty path: its first tail followed by every head."""
    return np.concatenate(([arc_tail[arcs[0]]], arc_head[arcs]))


def is_loop_free(arcs: np.ndarray, arc_tail: np.ndarray, arc_head: np.ndarray) -> bool:
    """True when the arcs form a walk that visits no node twice."""
    if len(arcs) == 0:
        return False
    if np.any(arc_head[arcs[:-1]] != arc_tail[arcs[1:]]):
        return False
    nodes = path_nodes(arcs, arc_tail, arc_head)
    return len(np.unique(nodes)) == len(nodes)


def remove_loops(arcs: np.ndarray, arc_tail: np.ndarray, arc_head: np.ndarray) -> np.ndarray:
    """The walk with every cycle cut out: when a node recurs, the arcs since its first visit go.

    The result starts and ends where the walk does and visits each node once (loop erasure in
    visiting order).
    """
    kept: list[int] = []
    position = {int(arc_tail[arcs[0]]): 0}  # node -> number of kept arcs when it was reached
    for a in np.asarray(arcs).tolist():
        head = int(arc_head[a])
        if head in position:
            cut = position[head]
            for dropped in kept[cut:]:
                del position[int(arc_head[dropped])]
            del kept[cut:]
            position[head] = cut
        else:
            kept.append(a)
            position[head] = len(kept)
    return np.asarray(kept, dtype=np.int64)


def crossover(first: np.ndarray, second: np.ndarray, arc_tail: np.ndarray, arc_head: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Swap the tails of two paths of one demand at a random common intermediate node.

    With v the chosen node, reached after i arcs of ``first`` and j arcs of ``second``, the
    children are ``first[:i] + second[j:]`` and ``second[:j] + first[i:]``, each with loops
    removed.  Paths without a common intermediate node are returned unchanged (copies).
    """
    nodes_1 = path_nodes(first, arc_tail, arc_head)
    nodes_2 = path_nodes(second, arc_tail, arc_head)
    common = np.intersect1d(nodes_1[1:-1], nodes_2[1:-1])
    if common.size == 0:
        return first.copy(), second.copy()
    v = common[rng.integers(common.size)]
    i = int(np.flatnonzero(nodes_1 == v)[0])
    j = int(np.flatnonzero(nodes_2 == v)[0])
    child_1 = remove_loops(np.concatenate([first[:i], second[j:]]), arc_tail, arc_head)
    child_2 = remove_loops(np.concatenate([second[:j], first[i:]]), arc_tail, arc_head)
    return child_1, child_2


def random_weights(base: np.ndarray, rng: np.random.Generator, spread: float = 2.0) -> np.ndarray:
    """``base`` times independent factors log-uniform in [1/spread, spread]."""
    return base * np.exp(rng.uniform(-np.log(spread), np.log(spread), size=len(base)))


def mutate(path: np.ndarray, graph: ArcGraph, base_weight: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """Replace a random sub-path by a random loop-free one avoiding the rest of the path.

    Positions 0 ≤ i < j ≤ L of the node sequence are drawn; the nodes outside ``i..j`` are
    barred and the new sub-path from node i to node j is the shortest under randomised weights
    (:func:`random_weights`) on the remaining arcs, so the spliced path is loop-free.  When no
    such sub-path exists the path is returned unchanged (a copy).
    """
    nodes = path_nodes(path, graph.arc_tail, graph.arc_head)
    i = int(rng.integers(len(path)))
    j = int(rng.integers(i + 1, len(path) + 1))
    barred = np.zeros(graph.n_nodes, dtype=bool)
    barred[nodes[:i]] = True
    barred[nodes[j + 1:]] = True
    weight = random_weights(base_weight, rng)
    weight[barred[graph.arc_tail] | barred[graph.arc_head]] = np.inf
    csgraph, pair_arc = graph.csgraph(weight)
    start, end = int(nodes[i]), int(nodes[j])
    distance, predecessor = dijkstra(csgraph, directed=True, indices=start, return_predecessors=True)
    if not np.isfinite(distance[end]):
        return path.copy()
    sub: list[int] = []
    node = end
    while node != start:
        previous = int(predecessor[node])
        sub.append(int(pair_arc[graph.pair_of(np.array([previous]), np.array([node]))[0]]))
        node = previous
    return np.concatenate([path[:i], np.asarray(sub[::-1], dtype=np.int64), path[j:]])


def randomised_shortest_paths(network: Network, graph: ArcGraph, base_weight: np.ndarray,
                              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One random loop-free path per demand, all demands in one Dijkstra call.

    Shortest paths under :func:`random_weights` of ``base_weight``; CSR ``(indptr, arcs)`` in
    demand order.
    """
    forest = shortest_path_forest(graph, random_weights(base_weight, rng), network.demand_source)
    return demand_shortest_paths(forest, network)


def paths_from_arc_sets(network: Network, used: np.ndarray) -> Routing:
    """One path per demand from its chosen arcs (rows (k, a) of ``used``): a walk from the source that uses each chosen
    arc at most once (conservation guarantees it reaches the target), with its loops removed."""
    paths = []
    for k in range(network.n_demands):
        out: dict[int, list[int]] = {}
        for a in used[used[:, 0] == k, 1].tolist():
            out.setdefault(int(network.arc_tail[a]), []).append(a)
        node, walk = int(network.demand_source[k]), []
        while node != network.demand_target[k]:
            walk.append(out[node].pop())
            node = int(network.arc_head[walk[-1]])
        paths.append((k, remove_loops(np.asarray(walk, np.int64), network.arc_tail, network.arc_head), 1.0))
    return Routing.from_paths(paths)
