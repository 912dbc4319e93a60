"""A design: link capacities, on/off states and a routing (paths with fractions per demand).

The routing is stored flat, like a CSR matrix, so that millions of paths stay arrays:
path ``p`` belongs to demand ``demand[p]``, carries ``fraction[p]`` of that demand's rate and
uses arcs ``arcs[indptr[p]:indptr[p+1]]`` in order from source to target.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from topo_opt.model.network import Network


@dataclass(frozen=True)
class Routing:
    """Paths with fractions for every demand (flat CSR layout, see module docstring)."""

    demand: np.ndarray
    fraction: np.ndarray
    indptr: np.ndarray
    arcs: np.ndarray

    @classmethod
    def from_paths(cls, paths: Iterable[tuple[int, Sequence[int], float]]) -> "Routing":
        """Build from ``(demand index, arc indices, fraction)`` triples."""
        demand, fraction, lengths, arcs = [], [], [], []
        for k, path_arcs, frac in paths:
            demand.append(k)
            fraction.append(frac)
            lengths.append(len(path_arcs))
            arcs.extend(path_arcs)
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return cls(np.asarray(demand, dtype=np.int64), np.asarray(fraction, dtype=float),
                   indptr, np.asarray(arcs, dtype=np.int64))

    @property
    def n_paths(self) -> int:
        return len(self.demand)

    def path_arcs(self, p: int) -> np.ndarray:
        return self.arcs[self.indptr[p]:self.indptr[p + 1]]

    def path_arc_matrix(self, n_arcs: int) -> sp.csr_matrix:
        """0/1 matrix (n_paths × n_arcs): entry (p, a) is 1 when path p uses arc a."""
        data = np.ones(len(self.arcs))
        return sp.csr_matrix((data, self.arcs, self.indptr), shape=(self.n_paths, n_arcs))

    def path_rates(self, demand_rate: np.ndarray) -> np.ndarray:
        """Rate carried by each path (rate unit): fraction × demand rate."""
        return self.fraction * demand_rate[self.demand]

    def arc_flow(self, demand_rate: np.ndarray, n_arcs: int) -> np.ndarray:
        """Arc flows F_a = Σ_p rate_p [a ∈ p] (rate unit)."""
        rates = np.repeat(self.path_rates(demand_rate), np.diff(self.indptr))
        return np.bincount(self.arcs, weights=rates, minlength=n_arcs)


@dataclass(frozen=True)
class Design:
    """Capacities per link (rate unit), on/off states of links and nodes, and the routing."""

    link_capacity: np.ndarray
    routing: Routing
    link_on: np.ndarray
    node_on: np.ndarray

    @classmethod
    def for_network(cls, network: Network, routing: Routing,
                    link_capacity: np.ndarray | None = None,
                    link_on: np.ndarray | None = None,
                    node_on: np.ndarray | None = None) -> "Design":
        """A design on ``network``: installed capacities and everything on unless given."""
        cap = network.link_capacity.copy() if link_capacity is None else np.asarray(link_capacity, float)
        links = np.ones(network.n_links, bool) if link_on is None else np.asarray(link_on, bool)
        nodes = np.ones(network.n_nodes, bool) if node_on is None else np.asarray(node_on, bool)
        return cls(cap, routing, links, nodes)

    def arc_flow(self, network: Network) -> np.ndarray:
        """Arc flows of the routing (rate unit)."""
        return self.routing.arc_flow(network.demand_rate, network.n_arcs)
