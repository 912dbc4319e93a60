"""Decompose source-aggregated arc flows into per-demand paths with fractions.

LP formulations (:mod:`topo_opt.formulations.multicommodity`) return one flow x_s per source
node s, shared by all demands leaving s.  This module turns x_s into a :class:`Routing`:

1. **Path extraction, cycles cancelled on the way.**  For each target t of s with remaining
   demand, walk backwards from t along arcs that still carry flow (the widest in-arc first) until
   s is reached, then subtract δ = min(remaining demand of t, smallest arc flow on the path) from
   the path.  Conservation guarantees that such a walk exists while t has demand left; if the
   walk meets a node it already visited, the arcs between the two visits form a flow-carrying
   cycle, which is cancelled by subtracting its smallest flow (this only lowers arc flows and
   changes no node balance).  Each extraction or cancellation empties an arc or satisfies a
   target, so there are at most ``n_arcs + n_targets`` steps per source (Ahuja, Magnanti and
   Orlin, *Network Flows*, 1993, §3.5).  Flow left over at the end forms circulations and is
   dropped with them.
2. **Per-demand fractions.**  Demands with the same (source, target) pair share the paths of t;
   a path's fraction is δ/Σδ.  Paths with δ below ``dust`` × r_t are dropped and the remaining
   fractions renormalised.

:func:`top_up_shortfalls` first restores conservation where a solver's tolerances lost part of
a small demand (the source flows of a MILP), so that every target can be reached.

For an input that satisfies conservation, the resulting arc flows equal the input minus the
cancelled circulations (exact up to rounding).  The split of a source's flow among its targets is
not unique; any valid one is returned.  The loop is per source and per path in Python (paths are
short); everything per arc is array work.
"""
from __future__ import annotations

import logging

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.design import Routing
from topo_opt.model.network import Network

logger = logging.getLogger(__name__)

DUST = 1e-12
#: A source–target pair whose arriving flow falls short by more than this × its rate is topped up.
TOP_UP_RTOL = 1e-9


def _extract_paths(flow: dict[int, float], in_arcs: dict[int, list[int]], tail: list[int],
                   source: int, target: int, demand: float, tol: float):
    """Paths (arcs from ``source`` to ``target``, rate) taking ``demand`` out of ``flow``.

    ``flow`` is modified in place: extracted paths and cancelled cycles are subtracted.
    """
    paths = []
    remaining = demand
    while remaining > tol:
        walk: list[int] = []          # arcs from target backwards
        visited = {target: 0}         # node -> number of walk arcs when it was reached
        v = target
        while v != source:
            candidates = in_arcs.get(v, ())
            a = max(candidates, key=flow.__getitem__, default=-1)
            if a < 0 or flow[a] <= tol:
                return paths          # no flow left into v: only rounding dust was missing
            u = tail[a]
            if u in visited:          # flow-carrying cycle u -> ... -> v -> u: cancel it
                cycle = walk[visited[u]:] + [a]
                delta = min(flow[b] for b in cycle)
                for b in cycle:
                    flow[b] -= delta
                for b in walk[visited[u]:]:
                    del visited[tail[b]]
                del walk[visited[u]:]
                v = u
                continue
            walk.append(a)
            visited[u] = len(walk)
            v = u
        delta = min(remaining, min(flow[b] for b in walk))
        for b in walk:
            flow[b] -= delta
        remaining -= delta
        paths.append((walk[::-1], delta))
    return paths


def decompose_source_flows(network: Network, sources: np.ndarray, source_flow: np.ndarray,
                           *, dust: float = DUST) -> Routing:
    """Per-demand paths with fractions from source-aggregated arc flows.

    Parameters
    ----------
    network : Network
    sources : ndarray of int
        Node index of each row of ``source_flow``; must contain the source of every demand.
    source_flow : ndarray, shape (len(sources), n_arcs)
        x[s, a] ≥ 0 in rate units, with A x_s = b_s (conservation, up to rounding).
    dust : float
        Paths carrying less than ``dust`` × (demand of their target) are dropped.

    Returns
    -------
    Routing
        Fractions of each demand sum to 1; arc flows reproduce ``source_flow.sum(0)`` minus the
        flow on cancelled cycles.
    """
    tail = network.arc_tail.tolist()
    head = network.arc_head
    position = {int(s): i for i, s in enumerate(np.asarray(sources).tolist())}
    missing = set(network.demand_source.tolist()) - position.keys()
    if missing:
        raise InvalidInputError(f"source flows missing for demand sources "
                                f"{sorted(network.nodes[s].id for s in missing)}")
    by_source: dict[int, dict[int, list[int]]] = {}
    for k, (s, t) in enumerate(zip(network.demand_source.tolist(), network.demand_target.tolist())):
        by_source.setdefault(s, {}).setdefault(t, []).append(k)
    rate = network.demand_rate
    paths = []
    lost = 0.0
    for s, i in position.items():
        targets = by_source.get(s, {}).items()
        if not targets:
            continue
        total = sum(float(rate[ks].sum()) for _, ks in targets)
        row = np.asarray(source_flow[i], float)
        support = np.flatnonzero(row > dust * total)
        flow = dict(zip(support.tolist(), row[support].tolist()))
        in_arcs: dict[int, list[int]] = {}
        for a, h in zip(support.tolist(), head[support].tolist()):
            in_arcs.setdefault(h, []).append(a)
        for t, ks in targets:
            demand = float(rate[ks].sum())
            found = [(arcs, r) for arcs, r in
                     _extract_paths(flow, in_arcs, tail, s, t, demand, dust * total)
                     if r >= dust * demand]
            carried = sum(r for _, r in found)
            lost = max(lost, 1.0 - carried / demand)
            if not found:
                raise InvalidInputError(f"no flow from node {network.nodes[s].id!r} reaches "
                                        f"{network.nodes[t].id!r}: not a flow for these demands")
            for k in ks:
                paths.extend((k, arcs, r / carried) for arcs, r in found)
    if lost > 1e-6:
        logger.warning("flow decomposition: up to %.3g of a demand was missing from the input "
                       "flows (conservation violated); fractions renormalised", lost)
    return Routing.from_paths(paths)


def routing_source_flows(network: Network, routing: Routing, sources: np.ndarray) -> np.ndarray:
    """x[s, a] (rate units, shape (len(sources), n_arcs)) of a routing: the inverse operation.

    ``sources`` must be sorted and contain the source of every demand (as from
    :func:`~topo_opt.formulations.multicommodity.source_supply`).
    """
    sources = np.asarray(sources)
    row = np.searchsorted(sources, network.demand_source[routing.demand])
    lengths = np.diff(routing.indptr)
    rates = np.repeat(routing.path_rates(network.demand_rate), lengths)
    cells = np.repeat(row, lengths) * network.n_arcs + routing.arcs
    return np.bincount(cells, weights=rates, minlength=len(sources) * network.n_arcs) \
        .reshape(len(sources), network.n_arcs)


def top_up_shortfalls(network: Network, sources: np.ndarray, supply: np.ndarray, source_flow: np.ndarray,
                      arc_on: np.ndarray) -> np.ndarray:
    """Source flows x[s, a] (rate units) with each target's shortfall (A x − b) routed on a
    least zero-load-delay path, over ``arc_on`` arcs where there is one.

    ``supply`` is b[s, v] (rate units, rows as ``sources``).  Solver tolerances are absolute in
    flow units (the largest capacity): on geant (capacities up to 1.2e12 bit/s, demands from
    1e6 bit/s = 8e-7 flow units) a MILP "delivered" demand pt -> lu as a flow of −8e-7 on the
    reverse arc, and flows on links switched off within the integrality tolerance are dropped;
    once those are set to 0 the demand has no path and :func:`decompose_source_flows` fails.
    Re-routing every demand (min-delay on the links on) raised the load power by 1.6 %; the top-up
    moves only the missing flow.  Arcs not in ``arc_on`` weigh more than any path of arcs in it,
    so they carry flow only where no such path exists (a design then switches them on).
    """
    from topo_opt.algorithms.shortest_paths import ArcGraph, demand_shortest_paths, shortest_path_forest
    from topo_opt.evaluators.delay import zero_load_delay_s

    shortfall = source_flow @ network.node_arc_incidence.T - supply  # (A x − b)ᵀ per source
    row = np.searchsorted(sources, network.demand_source)
    missing = shortfall[row, network.demand_target]
    _, first = np.unique(row * network.n_nodes + network.demand_target, return_index=True)
    pair = np.zeros(network.n_demands, dtype=bool)
    pair[first] = True  # one demand per (source, target) pair carries the pair's shortfall
    top_up = np.flatnonzero(pair & (missing > TOP_UP_RTOL * network.demand_rate))
    if not top_up.size:
        return source_flow
    weight = zero_load_delay_s(network)
    weight = np.where(arc_on, weight, weight.sum() + 1.0)
    forest = shortest_path_forest(ArcGraph.from_network(network), weight, network.demand_source[top_up])
    indptr, arcs = demand_shortest_paths(forest, network, top_up)
    out = source_flow.copy()
    np.add.at(out, (np.repeat(row[top_up], np.diff(indptr)), arcs), np.repeat(missing[top_up], np.diff(indptr)))
    logger.debug("topped up %d source-target pairs (largest shortfall %.3g)", top_up.size, missing[top_up].max())
    return out
