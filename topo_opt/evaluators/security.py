"""Security rejection of paths (models.md §5).

The rejection of element e (a node, or a link) by demand k is

    r(k, e) = max(0, S(e) − T(k))

with S(e) the estimated insecurity of the element (``Node.insecurity``, ``Link.insecurity``;
unknown counts as 0) and T(k) the tolerance of the demand's class (0 unless given).  A path P
visits its nodes (source, intermediate nodes and target) and its links, and is rejected by

    r_sum(k, P) = Σ_{e ∈ P} r(k, e)    and    r_max(k, P) = max_{e ∈ P} r(k, e).

A demand routed over several paths gets the flow-weighted mean Σ_P x_P r(k, P) / Σ_P x_P of
each form (x_P the path fractions), which keeps the rejection additive along arcs, so that
shortest-path algorithms can use it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.design import Routing
from topo_opt.model.network import Network


@dataclass(frozen=True)
class Rejection:
    """Security rejection per path and per demand (dimensionless, ≥ 0).

    Attributes
    ----------
    path_sum, path_max : ndarray
        r_sum(k, P) and r_max(k, P) of each path of the routing.
    demand_sum, demand_max : ndarray
        Flow-weighted mean over the demand's paths (NaN for a demand without paths).
    """

    path_sum: np.ndarray
    path_max: np.ndarray
    demand_sum: np.ndarray
    demand_max: np.ndarray


def node_insecurity(network: Network) -> np.ndarray:
    """S of every node (0 where unknown)."""
    return np.array([n.insecurity or 0.0 for n in network.nodes], dtype=float)


def link_insecurity(network: Network) -> np.ndarray:
    """S of every link (0 where unknown)."""
    return np.array([link.insecurity or 0.0 for link in network.links], dtype=float)


def demand_tolerance(network: Network, tolerance_by_class: Mapping[str, float] | None) -> np.ndarray:
    """T(k) of every demand from its class (0 for a class not in the mapping).

    Raises
    ------
    InvalidInputError
        A tolerance that is not a finite number >= 0.
    """
    tolerance_by_class = tolerance_by_class or {}
    for name, value in tolerance_by_class.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0:
            raise InvalidInputError(
                f"security tolerance of demand class {name!r} must be a finite number >= 0, got {value!r}")
    return np.array([tolerance_by_class.get(d.demand_class, 0.0) for d in network.demands], dtype=float)


def rejection(insecurity: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """r = max(0, S − T), elementwise (broadcasting): the one place the formula is written."""
    return np.maximum(insecurity - tolerance, 0.0)


def element_rejection(network: Network, tolerance_by_class: Mapping[str, float] | None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """r(k, n) per (demand, node) and r(k, l) per (demand, link), shape (n_demands, ·)."""
    t = demand_tolerance(network, tolerance_by_class)[:, None]
    return rejection(node_insecurity(network)[None, :], t), rejection(link_insecurity(network)[None, :], t)


def arc_rejection(network: Network, tolerance_by_class: Mapping[str, float] | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Sum-form rejection split over arcs: (n_demands, n_arcs) with each arc charged its tail node
    and its link, plus r(k, t_k) of each demand's target, so r_sum(k, P) = Σ_{a∈P} ρ_ka + r(k, t_k)."""
    node_r, link_r = element_rejection(network, tolerance_by_class)
    return (node_r[:, network.arc_tail] + link_r[:, network.arc_link],
            node_r[np.arange(network.n_demands), network.demand_target])


def _segment_max(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """max over each segment values[indptr[p]:indptr[p+1]] (0 for an empty one; values ≥ 0)."""
    out = np.zeros(len(indptr) - 1)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if nonempty.size:
        out[nonempty] = np.maximum.reduceat(values, indptr[nonempty])
    return out


def path_rejection(network: Network, routing: Routing,
                   tolerance_by_class: Mapping[str, float] | None = None) -> Rejection:
    """Sum and max rejection of every path of ``routing`` and of every demand.

    Parameters
    ----------
    network : Network
        Gives S per node and link and the class of each demand.
    routing : Routing
        Paths as arc lists (flat CSR layout).
    tolerance_by_class : mapping demand class -> T, optional
        Tolerance per demand class; classes not listed have T = 0.

    Returns
    -------
    Rejection

    Raises
    ------
    InvalidInputError
        A tolerance that is not a finite number >= 0.

    Notes
    -----
    Each arc contributes its tail node and its link; the head of the last arc (the target)
    is added per path.  Everything is one pass over the flat arc array.
    """
    tolerance = demand_tolerance(network, tolerance_by_class)
    node_s, link_s = node_insecurity(network), link_insecurity(network)
    lengths = np.diff(routing.indptr)
    t_path = tolerance[routing.demand]
    t_entry = np.repeat(t_path, lengths)
    r_tail = rejection(node_s[network.arc_tail[routing.arcs]], t_entry)
    r_link = rejection(link_s[network.arc_link[routing.arcs]], t_entry)
    last = routing.arcs[np.maximum(routing.indptr[1:] - 1, 0)] if len(routing.arcs) else \
        np.zeros(routing.n_paths, dtype=np.int64)
    r_target = np.where(lengths > 0, rejection(node_s[network.arc_head[last]], t_path), 0.0)

    path_of_entry = np.repeat(np.arange(routing.n_paths), lengths)
    path_sum = np.bincount(path_of_entry, weights=r_tail + r_link, minlength=routing.n_paths) + r_target
    path_max = np.maximum(_segment_max(np.maximum(r_tail, r_link), routing.indptr), r_target)

    return Rejection(path_sum, path_max, routing.demand_average(path_sum, network.n_demands),
                     routing.demand_average(path_max, network.n_demands))
