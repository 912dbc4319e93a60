"""Compiled loops of path equilibration: the continued queue cost and Gauss–Seidel sweeps.

**Continued queue cost.**  The M/M/1 term ``f(F) = F/(C − F)`` (packets in a queue of capacity
``C`` carrying ``F``) is kept up to ``F̄ = ρ̄ C`` and continued beyond by its second-order Taylor
polynomial there,

    f̃(F) = f(F̄) + f'(F̄)(F − F̄) + ½ f''(F̄)(F − F̄)²       (F > F̄),
    f'(F) = C/(C − F)²,   f''(F) = 2C/(C − F)³.

Since ``f''' > 0``, ``f̃ ≤ f`` everywhere: a lower bound computed on ``f̃`` is a lower bound on
the true objective, and ``f̃`` is finite, convex and C² for every ``F ≥ 0``, so any routing
(all-or-nothing shortest paths included) is a valid start and no feasibility phase is needed.
Where the optimum of ``f̃`` keeps every queue below ``F̄`` it is the optimum of ``f``.

**Sweep.**  For each demand ``k`` in turn (Gauss–Seidel), with path lengths
``d_p = Σ_{a∈p} (f̃'(F_q(a)) + ρ d_a)`` evaluated on the current loads, the cheapest path ``b``
takes from every other path ``p`` with flow the Newton step along ``e_b − e_p``

    δ_p = min(x_p, (d_p − d_b) / H_p),   H_p = Σ_q f̃''(F_q) (n_q(b) − n_q(p))²,

``n_q(p)`` the number of arcs of ``p`` on queue ``q`` (so arcs common to both paths cancel; for
duplex links this is Σ over the symmetric difference).  Loads change at once, so the next path
and the next demand see the new marginal costs.  This is the diagonally scaled projection of
Bertsekas and Gallager §5.7 done one demand and one path pair at a time, as in the path-based
gradient projection for traffic assignment of Jayakrishnan et al.

All quantities here are in packets (``N`` units); the caller scales by ``1/γ``.

References: D. Bertsekas, R. Gallager, *Data Networks*, 2nd ed., Prentice Hall 1992, §5.7;
R. Jayakrishnan, W. K. Tsai, J. N. Prashker, S. Rajadhyaksha, *A faster path-based algorithm
for traffic assignment*, Transportation Research Record 1443 (1994) 75–83.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from topo_opt.algorithms.binary_heap import heap_push, heap_replace_top

SKIP_FRACTION = 1.0  # a sweep leaves alone demands whose share of the restricted gap is below this


@njit(cache=True, inline="always")
def _cost(load: float, capacity: float, knee: float) -> tuple[float, float, float]:
    """(f̃, f̃', f̃'') of one queue at ``load``; ``knee = ρ̄ C`` (module docstring)."""
    point = min(load, knee)
    slack = capacity - point
    value = point / slack
    first = capacity / (slack * slack)
    second = 2.0 * first / slack
    excess = load - point
    return value + excess * (first + 0.5 * second * excess), first + second * excess, second


@njit(cache=True)
def continued_queue_cost(load: np.ndarray, capacity: np.ndarray,
                         knee: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays (f̃, f̃', f̃'') per queue (module docstring), for the outer iteration."""
    n = load.shape[0]
    value, first, second = np.empty(n), np.empty(n), np.empty(n)
    for q in range(n):
        value[q], first[q], second[q] = _cost(load[q], capacity[q], knee[q])
    return value, first, second


@njit(cache=True, inline="always")
def _length(start: int, stop: int, path_arcs, arc_queue, linear, first) -> float:
    """d_p = Σ_{a∈p} (f̃'(F_q(a)) + ρ d_a), with ``first`` the f̃' of every queue."""
    total = 0.0
    for i in range(start, stop):
        a = path_arcs[i]
        total += first[arc_queue[a]] + linear[a]
    return total


@njit(cache=True, inline="always")
def _move(arcs, start: int, stop: int, amount: float, arc_queue, capacity, knee, load, first, second) -> None:
    """Add ``amount`` to the loads of a path's queues and refresh their f̃', f̃''."""
    for i in range(start, stop):
        q = arc_queue[arcs[i]]
        load[q] += amount
        _, first[q], second[q] = _cost(load[q], capacity[q], knee[q])


@njit(cache=True)
def _shift(p_arcs, p0: int, p1: int, b_arcs, b0: int, b1: int, available: float, arc_queue, linear,
           capacity, knee, load, first, second, count) -> float:
    """Move flow from path p to path b by the Newton step (module docstring); return it.

    ``available`` is ``x_p``; loads and their derivatives ``first``, ``second`` are updated,
    ``count`` is scratch (zero on entry and exit).
    """
    difference = (_length(p0, p1, p_arcs, arc_queue, linear, first)
                  - _length(b0, b1, b_arcs, arc_queue, linear, first))
    if difference <= 0.0:
        return 0.0
    for i in range(b0, b1):
        count[arc_queue[b_arcs[i]]] += 1
    for i in range(p0, p1):
        count[arc_queue[p_arcs[i]]] -= 1
    curvature = 0.0
    for i in range(b0, b1):
        q = arc_queue[b_arcs[i]]
        if count[q] != 0:
            curvature += second[q] * count[q] * count[q]
            count[q] = 0
    for i in range(p0, p1):
        q = arc_queue[p_arcs[i]]
        if count[q] != 0:
            curvature += second[q] * count[q] * count[q]
            count[q] = 0
    shift = available if curvature <= 0.0 else min(available, difference / curvature)
    _move(p_arcs, p0, p1, -shift, arc_queue, capacity, knee, load, first, second)
    _move(b_arcs, b0, b1, shift, arc_queue, capacity, knee, load, first, second)
    return shift


@njit(cache=True)
def equilibrate(demand_ptr: np.ndarray, path_ptr: np.ndarray, path_arcs: np.ndarray,
                path_flow: np.ndarray, demand_rate: np.ndarray, arc_queue: np.ndarray,
                linear: np.ndarray, capacity: np.ndarray, knee: np.ndarray, load: np.ndarray,
                max_sweeps: int, target_gap: float) -> tuple[int, float]:
    """Gauss–Seidel sweeps over the demands on a fixed path set (module docstring).

    ``path_flow`` and the queue loads ``load`` are updated in place.  Each demand's excess
    ``Σ_{p∈P_k} x_p d_p − r_k min_p d_p`` (packets) is taken when it is visited; a demand whose
    excess is below its share ``target_gap / n`` is left alone.  The first sweep visits every
    demand; the next ones (active sweeps) visit only the demands whose last excess was above that
    share, the others keeping their last excess in the restricted gap (the sum of the excesses).
    When that sum meets ``target_gap`` a full sweep checks it on the current loads; the sweeps
    stop after a full sweep that meets ``target_gap``, or after ``max_sweeps``.
    Returns the number of sweeps and the last restricted gap.
    """
    n_demands = demand_ptr.shape[0] - 1
    count = np.zeros(capacity.shape[0], dtype=np.int64)
    _, first, second = continued_queue_cost(load, capacity, knee)
    negligible = SKIP_FRACTION * target_gap / n_demands
    excess = np.zeros(n_demands)
    restricted = np.inf
    full = True
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        restricted = 0.0
        for k in range(n_demands):
            first_path, end_path = demand_ptr[k], demand_ptr[k + 1]
            if end_path - first_path < 2:
                continue
            if not full and excess[k] <= negligible:
                restricted += excess[k]
                continue
            best, best_length, spent = first_path, np.inf, 0.0
            for p in range(first_path, end_path):
                length = _length(path_ptr[p], path_ptr[p + 1], path_arcs, arc_queue, linear, first)
                spent += path_flow[p] * length
                if length < best_length:
                    best, best_length = p, length
            excess[k] = spent - demand_rate[k] * best_length
            restricted += excess[k]
            if excess[k] <= negligible:
                continue
            for p in range(first_path, end_path):
                if p != best and path_flow[p] > 0.0:
                    shift = _shift(path_arcs, path_ptr[p], path_ptr[p + 1], path_arcs, path_ptr[best],
                                   path_ptr[best + 1], path_flow[p], arc_queue, linear, capacity,
                                   knee, load, first, second, count)
                    path_flow[p] -= shift
                    path_flow[best] += shift
        if restricted <= target_gap and full:
            break
        full = restricted <= target_gap
    return sweeps, restricted


@njit(cache=True)
def _dijkstra(source: int, out_ptr, out_arc, arc_head, weight, distance, predecessor, heap_key,
              heap_node, is_target, n_targets: int) -> None:
    """Shortest paths from ``source`` on arc weights (binary heap, lazy deletion).

    Fills ``distance`` and ``predecessor`` (the arc into each node, −1 at the root and
    unreachable nodes); stops once the ``n_targets`` nodes marked in ``is_target`` are settled.
    """
    distance[:] = np.inf
    predecessor[:] = -1
    distance[source] = 0.0
    heap_key[0], heap_node[0] = 0.0, source
    size, settled = 1, 0
    while size > 0:
        key, node = heap_key[0], heap_node[0]
        size -= 1
        heap_replace_top(heap_key, heap_node, size, heap_key[size], heap_node[size])
        if key > distance[node]:
            continue
        if is_target[node]:
            settled += 1
            if settled == n_targets:
                return
        for j in range(out_ptr[node], out_ptr[node + 1]):
            a = out_arc[j]
            head = arc_head[a]
            candidate = key + weight[a]
            if candidate < distance[head]:
                distance[head] = candidate
                predecessor[head] = a
                heap_push(heap_key, heap_node, size, candidate, head)
                size += 1


@njit(cache=True)
def origin_pass(origins, origin_ptr, origin_demands, demand_target, demand_rate, out_ptr, out_arc,
                arc_tail, arc_head, demand_ptr, path_ptr, path_arcs, path_flow, arc_queue, linear, capacity,
                knee, load, frozen: bool):
    """One shortest-path pass over all origins, with column generation and (unless ``frozen``)
    a Newton update of each demand right after its origin's Dijkstra.

    For each origin in turn, Dijkstra on the current marginal costs ``f̃'(F_q) + ρ d_a`` gives
    each of its demands ``k`` the distance ``dist_k``; when the shortest path is below the length
    of all of ``P_k`` (by a relative 1e-12, on the current costs) it becomes a new path of ``k``.  Unless
    ``frozen``, ``k``'s cheapest path then takes flow from the others (:func:`_shift`; a demand
    without paths sends all of ``r_k`` on the new one), so later origins see the new costs.
    With ``frozen`` nothing moves: the distances are those of one arc flow (the certificate).

    Returns ``distance`` per demand, the new paths (``new_demand``, CSR ``new_ptr``,
    ``new_arcs``, ``new_flow``) and the disequilibrium ``Σ_k (Σ_p x_p d_p − r_k dist_k)`` met
    on the way (packets).
    """
    n_nodes = out_ptr.shape[0] - 1
    n_demands = demand_target.shape[0]
    n_arcs = arc_head.shape[0]
    distance_k = np.full(n_demands, np.inf)
    dist, predecessor = np.empty(n_nodes), np.empty(n_nodes, dtype=np.int64)
    heap_key, heap_node = np.empty(n_arcs + 1), np.empty(n_arcs + 1, dtype=np.int64)
    is_target = np.zeros(n_nodes, dtype=np.bool_)
    weight = np.empty(n_arcs)
    count = np.zeros(capacity.shape[0], dtype=np.int64)
    _, first, second = continued_queue_cost(load, capacity, knee)
    new_demand = np.empty(n_demands, dtype=np.int64)
    new_ptr = np.zeros(n_demands + 1, dtype=np.int64)
    new_arcs = np.empty(4 * n_demands, dtype=np.int64)
    new_flow = np.zeros(n_demands)
    n_new = 0
    reversed_path = np.empty(n_nodes, dtype=np.int64)
    disequilibrium = 0.0
    for o in range(origins.shape[0]):
        source = origins[o]
        for a in range(n_arcs):
            weight[a] = first[arc_queue[a]] + linear[a]
        n_targets = 0
        for i in range(origin_ptr[o], origin_ptr[o + 1]):
            t = demand_target[origin_demands[i]]
            if not is_target[t]:
                is_target[t] = True
                n_targets += 1
        _dijkstra(source, out_ptr, out_arc, arc_head, weight, dist, predecessor, heap_key, heap_node,
                  is_target, n_targets)
        for i in range(origin_ptr[o], origin_ptr[o + 1]):
            is_target[demand_target[origin_demands[i]]] = False
        for i in range(origin_ptr[o], origin_ptr[o + 1]):
            k = origin_demands[i]
            t = demand_target[k]
            distance_k[k] = dist[t]
            if not np.isfinite(dist[t]):
                continue
            first_path, end_path = demand_ptr[k], demand_ptr[k + 1]
            best, best_length, spent = -1, np.inf, 0.0
            for p in range(first_path, end_path):
                length = _length(path_ptr[p], path_ptr[p + 1], path_arcs, arc_queue, linear, first)
                spent += path_flow[p] * length
                if length < best_length:
                    best, best_length = p, length
            if end_path > first_path:
                disequilibrium += spent - demand_rate[k] * dist[t]
            fresh = dist[t] < best_length * (1.0 - 1e-12)
            if fresh:
                hops, node = 0, t
                while node != source:
                    a = predecessor[node]
                    reversed_path[hops] = a
                    hops += 1
                    node = arc_tail[a]
                # flows moved since this origin's Dijkstra: compare on the current costs, so
                # that a path already in P_k never comes in twice
                fresh = _length(0, hops, reversed_path, arc_queue, linear, first) < best_length * (1.0 - 1e-12)
            if fresh:  # the shortest path joins P_k
                start = new_ptr[n_new]
                if start + hops > new_arcs.shape[0]:
                    grown = np.empty(2 * new_arcs.shape[0] + hops, dtype=np.int64)
                    grown[:start] = new_arcs[:start]
                    new_arcs = grown
                for h in range(hops):
                    new_arcs[start + h] = reversed_path[hops - 1 - h]
                new_demand[n_new] = k
                new_ptr[n_new + 1] = start + hops
                n_new += 1
            if frozen:
                continue
            if first_path == end_path:  # no path yet: all-or-nothing on the new one
                new_flow[n_new - 1] = demand_rate[k]
                _move(new_arcs, new_ptr[n_new - 1], new_ptr[n_new], demand_rate[k], arc_queue, capacity,
                      knee, load, first, second)
                continue
            b_start, b_stop = (new_ptr[n_new - 1], new_ptr[n_new]) if fresh else (path_ptr[best], path_ptr[best + 1])
            for p in range(first_path, end_path):
                if (fresh or p != best) and path_flow[p] > 0.0:
                    shift = _shift(path_arcs, path_ptr[p], path_ptr[p + 1],
                                   new_arcs if fresh else path_arcs, b_start, b_stop, path_flow[p],
                                   arc_queue, linear, capacity, knee, load, first, second, count)
                    path_flow[p] -= shift
                    if fresh:
                        new_flow[n_new - 1] += shift
                    else:
                        path_flow[best] += shift
    return distance_k, new_demand[:n_new], new_ptr[:n_new + 1], new_arcs[:new_ptr[n_new]], new_flow[:n_new], disequilibrium
