"""Synthesis of what an instance lacks: demands, link capacities and link lengths.

Every function returns a new validated :class:`Network` and records what it did (generator,
parameters, seed) in ``metadata`` so a result can be traced back to its inputs:

* :func:`gravity_demands`, :func:`uniform_demands`, :func:`scale_demands` -- traffic matrices;
* :func:`size_capacities` -- capacities from routed loads, rounded up to standard line rates;
* :func:`great_circle_m`, :func:`with_lengths_from_coordinates` -- lengths from coordinates;
* :func:`gabriel_network` -- a whole planar topology (random points, their Gabriel graph).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.network import Demand, Network
from topo_opt.model.validation import replace_network

# Standard line rates in bit/s: Fast Ethernet, GbE, OC-48/STM-16, 10GbE, 40GbE, 100GbE, 400GbE
STANDARD_LINE_RATES = (100e6, 1e9, 2.5e9, 10e9, 40e9, 100e9, 400e9)
EARTH_RADIUS_M = 6_371_000.0


# --------------------------------------------------------------------------- lengths
def great_circle_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres between points given in degrees (haversine).

    d = 2R · asin(√(sin²(Δφ/2) + cos φ₁ cos φ₂ sin²(Δλ/2))), R = 6 371 km, φ latitude,
    λ longitude.  Accepts scalars or numpy arrays (element-wise).
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def with_lengths_from_coordinates(network: Network, overwrite: bool = False) -> Network:
    """Set link lengths to the great-circle distance between their end nodes.

    Links whose ends both have coordinates get ``length_m`` (existing lengths are kept unless
    ``overwrite``); the others keep theirs.  The rule is recorded in ``metadata["lengths"]``.
    """
    lon = np.array([math.nan if n.longitude is None else n.longitude for n in network.nodes])
    lat = np.array([math.nan if n.latitude is None else n.latitude for n in network.nodes])
    src, dst = network.link_source, network.link_target
    length = great_circle_m(lon[src], lat[src], lon[dst], lat[dst]) if network.n_links else np.zeros(0)
    links, changed = [], 0
    for link, d in zip(network.links, np.atleast_1d(length).tolist()):
        if not math.isnan(d) and (overwrite or link.length_m is None):
            link = dataclasses.replace(link, length_m=d)
            changed += 1
        links.append(link)
    metadata = dict(network.metadata)
    metadata["lengths"] = {"rule": "great-circle distance between end-node coordinates (haversine)",
                           "earth_radius_m": EARTH_RADIUS_M, "links_set": changed}
    return replace_network(network, links=tuple(links), metadata=metadata)


# --------------------------------------------------------------------------- demands
def _node_masses(network: Network, masses) -> np.ndarray:
    if masses is None:
        return np.ones(network.n_nodes)
    if isinstance(masses, str):
        ends = np.concatenate([network.link_source, network.link_target])
        if masses == "degree":
            return np.bincount(ends, minlength=network.n_nodes).astype(float)
        if masses == "capacity":
            cap = np.concatenate([network.link_capacity, network.link_capacity])
            return np.bincount(ends, weights=cap, minlength=network.n_nodes)
        raise InvalidInputError(f"masses must be None, 'degree', 'capacity' or an array, got {masses!r}")
    m = np.asarray(masses, dtype=float)
    if m.shape != (network.n_nodes,):
        raise InvalidInputError(f"masses must have one value per node ({network.n_nodes}), got shape {m.shape}")
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise InvalidInputError("masses must be finite and >= 0")
    return m


def _pair_demands(network: Network, rate: np.ndarray, nodes: np.ndarray | None = None) -> tuple[Demand, ...]:
    """One demand ``"s->t"`` per ordered pair with a positive entry of the k×k matrix ``rate``
    among the node indices ``nodes`` (all n nodes when None)."""
    ids = [n.id for n in network.nodes]
    ids = ids if nodes is None else [ids[i] for i in nodes.tolist()]
    s_idx, t_idx = np.nonzero(rate > 0)
    return tuple(Demand(id=f"{ids[s]}->{ids[t]}", source=ids[s], target=ids[t], rate=r)
                 for s, t, r in zip(s_idx.tolist(), t_idx.tolist(), rate[s_idx, t_idx].tolist()))


def gravity_demands(network: Network, total_rate: float, masses=None, seed: int = 0,
                    perturbation: float = 0.0, endpoints: int | None = None) -> Network:
    """Replace the demands by a gravity traffic matrix of total ``total_rate``.

    r_st = V · m_s m_t / Σ_{u≠v} m_u m_v for every ordered pair s ≠ t, V the total rate (rate
    unit of the network) and m the node masses.  With ``perturbation`` p > 0 every entry is
    multiplied by an independent U(1 − p, 1 + p) factor (seeded) and the matrix is rescaled so
    the total stays V.

    With ``endpoints`` k, traffic originates and ends only at k nodes drawn uniformly without
    replacement (seeded; the points of presence of a backbone), the other nodes only forward it:
    their mass is set to 0, so the formula above runs over the k endpoints, gives k(k − 1)
    demands and keeps the total V.  This is the rule for large graphs, where all pairs would be
    n(n − 1) demands (10⁸ on 10,000 nodes); only the endpoints' k × k matrix is ever formed.

    Parameters
    ----------
    network : Network
    total_rate : float
        V, in the network's rate unit (bit/s or packet/s).
    masses : None, "degree", "capacity" or array
        None gives equal masses (a uniform matrix); "degree" the number of incident links;
        "capacity" the installed capacity of incident links; or one value per node.
    seed : int
        Seed of the perturbation (recorded even when unused).
    perturbation : float in [0, 1)
    endpoints : int, optional
        k ≥ 2 traffic endpoints among the nodes of positive mass (all nodes when omitted).

    Returns
    -------
    Network
        With demands ``"s->t"`` and ``metadata["demand_generator"]`` recording all parameters.

    References
    ----------
    Roughan, *Simplifying the synthesis of Internet traffic matrices*, ACM SIGCOMM CCR 35(5), 2005.
    """
    if not (isinstance(total_rate, (int, float)) and math.isfinite(total_rate) and total_rate > 0):
        raise InvalidInputError(f"total_rate must be a finite number > 0, got {total_rate!r}")
    if not 0.0 <= perturbation < 1.0:
        raise InvalidInputError(f"perturbation must be in [0, 1), got {perturbation!r}")
    m = _node_masses(network, masses)
    rng = np.random.default_rng(seed)
    if endpoints is None:
        nodes = np.arange(network.n_nodes)
    else:
        massive = np.flatnonzero(m > 0)
        if not (isinstance(endpoints, (int, np.integer)) and 2 <= endpoints <= massive.size):
            raise InvalidInputError(f"endpoints must be an integer in [2, {massive.size}] (the nodes of "
                                    f"positive mass), got {endpoints!r}")
        nodes = np.sort(rng.choice(massive, size=endpoints, replace=False))
    weight = np.outer(m[nodes], m[nodes])
    np.fill_diagonal(weight, 0.0)
    if perturbation > 0:
        weight *= rng.uniform(1.0 - perturbation, 1.0 + perturbation, size=weight.shape)
    norm = weight.sum()
    if norm <= 0:
        raise InvalidInputError("gravity_demands: every pair of distinct nodes has zero mass product")
    rate = total_rate * weight / norm
    metadata = dict(network.metadata)
    metadata["demand_generator"] = {
        "generator": "gravity", "formula": "r_st = V m_s m_t / sum_{u!=v} m_u m_v",
        "total_rate": float(total_rate), "rate_unit": network.rate_unit,
        "masses": masses if masses is None or isinstance(masses, str) else m.tolist(),
        "perturbation": perturbation, "seed": seed,
        **({} if endpoints is None else {
            "endpoints": int(endpoints), "endpoint_rule": "uniform without replacement, seeded",
            "endpoint_nodes": [network.nodes[i].id for i in nodes.tolist()]})}
    return replace_network(network, demands=_pair_demands(network, rate, nodes), metadata=metadata)


def uniform_demands(network: Network, rate_per_pair: float) -> Network:
    """Replace the demands by ``rate_per_pair`` (rate unit) for every ordered pair s ≠ t."""
    if not (isinstance(rate_per_pair, (int, float)) and math.isfinite(rate_per_pair) and rate_per_pair > 0):
        raise InvalidInputError(f"rate_per_pair must be a finite number > 0, got {rate_per_pair!r}")
    rate = np.full((network.n_nodes, network.n_nodes), float(rate_per_pair))
    np.fill_diagonal(rate, 0.0)
    metadata = dict(network.metadata)
    metadata["demand_generator"] = {"generator": "uniform", "rate_per_pair": float(rate_per_pair),
                                    "rate_unit": network.rate_unit}
    return replace_network(network, demands=_pair_demands(network, rate), metadata=metadata)


def scale_demands(network: Network, factor: float) -> Network:
    """Multiply every demand rate (and its shaper's token and peak rates, when given) by
    ``factor`` > 0; ``metadata["demand_scale"]`` accumulates it."""
    if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor > 0):
        raise InvalidInputError(f"factor must be a finite number > 0, got {factor!r}")
    def scaled(rate: float | None) -> float | None:
        return None if rate is None else rate * factor

    demands = tuple(dataclasses.replace(d, rate=d.rate * factor, token_rate=scaled(d.token_rate),
                                        peak_rate=scaled(d.peak_rate)) for d in network.demands)
    metadata = dict(network.metadata)
    metadata["demand_scale"] = float(metadata.get("demand_scale", 1.0)) * factor
    return replace_network(network, demands=demands, metadata=metadata)


# --------------------------------------------------------------------------- capacities
def size_capacities(network: Network, arc_load: np.ndarray, target_utilization: float = 0.5,
                    line_rates_bps: Sequence[float] = STANDARD_LINE_RATES) -> Network:
    """Give every link the smallest standard line rate that keeps it under a target utilisation.

    With L_e = max_{q of e} F_q the largest load of the link's queue(s) (both directions of a
    duplex link are separate queues) and u the target, the capacity is

        C_e = min{ r ∈ line rates : L_e ≤ u·r },   or   k·r_max with k = ⌈L_e / (u·r_max)⌉

    when even the largest rate is too small (k parallel modules of the largest rate).  An
    unloaded link gets the smallest rate.  Links become installed; modules are kept.

    Parameters
    ----------
    network : Network
    arc_load : array (n_arcs,)
        Arc flows of a routing in the network's rate unit, e.g.
        ``min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs)``.
    target_utilization : float in (0, 1]
    line_rates_bps : sequence of float
        Available line rates in bit/s (converted with the packet length for packet/s instances).

    Returns
    -------
    Network
        With the new capacities and ``metadata["capacity_rule"]``.
    """
    load = np.asarray(arc_load, dtype=float)
    if load.shape != (network.n_arcs,):
        raise InvalidInputError(f"arc_load must have one value per arc ({network.n_arcs}), got shape {load.shape}")
    if not np.all(np.isfinite(load)) or np.any(load < 0):
        raise InvalidInputError("arc_load must be finite and >= 0")
    if not 0.0 < target_utilization <= 1.0:
        raise InvalidInputError(f"target_utilization must be in (0, 1], got {target_utilization!r}")
    rates_bps = np.sort(np.asarray(line_rates_bps, dtype=float))
    if rates_bps.size == 0 or not np.all(np.isfinite(rates_bps)) or rates_bps[0] <= 0:
        raise InvalidInputError(f"line_rates_bps must be positive numbers, got {list(line_rates_bps)!r}")
    bps_per_unit = 1.0 if network.rate_unit == "bit/s" else network.packet_length_bits
    rates = rates_bps / bps_per_unit  # in the network's rate unit

    link_load = np.zeros(network.n_links)
    np.maximum.at(link_load, network.queue_link, network.queue_load(load))
    needed = link_load / target_utilization
    index = np.searchsorted(rates, needed, side="left")
    modules = np.ceil(needed / rates[-1])
    capacity = np.where(index < len(rates), rates[np.minimum(index, len(rates) - 1)], modules * rates[-1])

    links = tuple(dataclasses.replace(link, capacity=c, installed=True)
                  for link, c in zip(network.links, capacity.tolist()))
    metadata = dict(network.metadata)
    metadata["capacity_rule"] = {
        "rule": "smallest line rate r with max queue load <= target_utilization * r "
                "(k x largest rate above it)",
        "target_utilization": float(target_utilization), "line_rates_bps": rates_bps.tolist()}
    return replace_network(network, links=links, metadata=metadata)


# --------------------------------------------------------------------------- topologies
def gabriel_network(n_nodes: int, seed: int = 0, capacity_bps: float = STANDARD_LINE_RATES[0]) -> Network:
    """A planar topology: ``n_nodes`` points uniform in the unit square (seeded) and their
    Gabriel graph, one duplex link per edge, no demands.

    Points p_u, p_v are linked when no other point lies in the disc with diameter p_u p_v, i.e.
    (p_u − p_w)·(p_v − p_w) > 0 for every other w.  Every Gabriel edge is a Delaunay edge, and a
    Delaunay edge is Gabriel exactly when the vertices opposite it in its one or two Delaunay
    triangles see it under an acute angle (Matula and Sokal 1980), so the graph comes from one
    scipy Delaunay triangulation in O(n log n).  It is connected (it contains the Euclidean
    minimum spanning tree) and has about 2n edges.  As for topohub's Gabriel graphs, the points
    are kept in ``metadata["node_xy"]`` and links have no length.

    Parameters
    ----------
    n_nodes : int
        At least 3.
    seed : int
        Seed of the points.
    capacity_bps : float
        Capacity of every link: a placeholder, to be sized once demands are added (e.g.
        :func:`topo_opt.algorithms.baselines.min_hop_sized`, the bundled-instance rule).

    References
    ----------
    Gabriel and Sokal, *A new statistical approach to geographic variation analysis*, Systematic
    Zoology 18(3), 1969; Matula and Sokal, *Properties of Gabriel graphs relevant to geographic
    variation research*, Geographical Analysis 12(3), 1980.
    """
    from scipy.spatial import Delaunay

    from topo_opt.model.network import Link, Node
    from topo_opt.model.validation import build_network

    if not (isinstance(n_nodes, (int, np.integer)) and n_nodes >= 3):
        raise InvalidInputError(f"n_nodes must be an integer >= 3, got {n_nodes!r}")
    xy = np.random.default_rng(seed).random((n_nodes, 2))
    a, b, c = Delaunay(xy).simplices.T
    ends = np.concatenate([np.stack([b, c], 1), np.stack([c, a], 1), np.stack([a, b], 1)])
    opposite = np.concatenate([a, b, c])
    acute = np.einsum("ij,ij->i", xy[ends[:, 0]] - xy[opposite], xy[ends[:, 1]] - xy[opposite]) > 0
    ends.sort(axis=1)
    edges, index = np.unique(ends, axis=0, return_inverse=True)
    gabriel = np.ones(len(edges), dtype=bool)
    np.logical_and.at(gabriel, index.ravel(), acute)
    ids = [str(i) for i in range(n_nodes)]
    links = [Link(f"{ids[u]}-{ids[v]}", ids[u], ids[v], capacity_bps) for u, v in edges[gabriel].tolist()]
    metadata = {"source": f"gabriel_network(n_nodes={n_nodes}, seed={seed})",
                "node_xy": {i: p for i, p in zip(ids, xy.tolist())},
                "topology_generator": {"generator": "gabriel", "points": "uniform in the unit square",
                                       "n_nodes": int(n_nodes), "seed": seed,
                                       "placeholder_capacity_bps": capacity_bps}}
    return build_network(name=f"gabriel-{n_nodes}-{seed}", nodes=[Node(i) for i in ids], links=links,
                         demands=(), link_model="duplex", metadata=metadata,
                         source=f"gabriel_network({n_nodes}, {seed})")
