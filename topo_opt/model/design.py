"""A design: link capacities, on/off states and a routing (paths with fractions per demand).

:class:`Routing` is the one path container of topo-opt, stored flat like a CSR matrix so that
millions of paths stay arrays: path ``p`` belongs to demand ``demand[p]``, carries
``fraction[p]`` of that demand's rate and uses arcs ``arcs[indptr[p]:indptr[p+1]]`` in order
from source to target.  With the 0/1 path–arc matrix M (paths × arcs), path sums are ``M w``
and arc flows ``Mᵀ x``.  Solvers whose path flows change every step (gradient projection, path
equilibration, the path MILPs) keep a routing *grouped by demand* (``demand`` non-decreasing;
the paths of demand k are ``demand_ptr(n)[k]:demand_ptr(n)[k + 1]``) with their flows in their
own array, and turn it into a design's routing with :meth:`Routing.carrying`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from topo_opt.model.network import Network

if TYPE_CHECKING:  # scipy.sparse costs ~0.15 s of start-up: imported where a matrix is built
    import scipy.sparse as sp


def gather_rows(indptr: np.ndarray, values: np.ndarray,
                rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``rows`` of a CSR-like ``(indptr, values)`` pair, as a new ``(indptr, values)``."""
    lengths = indptr[rows + 1] - indptr[rows]
    new_indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    offset = np.repeat(indptr[rows] - new_indptr[:-1], lengths)
    return new_indptr, values[np.arange(new_indptr[-1]) + offset]


def distinct_indices(values: np.ndarray) -> np.ndarray:
    """The distinct non-negative integers of ``values``, sorted (``np.unique`` for indices: it
    imports numpy.ma since numpy 2.3, ~10 ms of a small solve's start-up)."""
    return np.flatnonzero(np.bincount(np.asarray(values, dtype=np.int64)))


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

    @classmethod
    def from_lists(cls, per_demand: Sequence[Sequence[Sequence[int]]], fraction: float = 0.0) -> "Routing":
        """Candidate paths from nested lists (``per_demand[k]`` = the arc lists of demand k),
        grouped by demand, every fraction ``fraction`` (0: no flow yet; 1: each path alone)."""
        return cls.from_paths((k, arcs, fraction) for k, paths in enumerate(per_demand) for arcs in paths)

    def to_lists(self, n_demands: int) -> list[list[np.ndarray]]:
        """The arc arrays of each demand's paths, in path order (the inverse of :meth:`from_lists`)."""
        out: list[list[np.ndarray]] = [[] for _ in range(n_demands)]
        for p, k in enumerate(self.demand.tolist()):
            out[k].append(self.path_arcs(p))
        return out

    @property
    def n_paths(self) -> int:
        return len(self.demand)

    def path_arcs(self, p: int) -> np.ndarray:
        return self.arcs[self.indptr[p]:self.indptr[p + 1]]

    def path_nodes(self, arc_tail: np.ndarray, arc_head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(node_indptr, nodes)``: path p visits ``nodes[node_indptr[p]:node_indptr[p + 1]]``,
        the tails of its arcs and then the head of its last arc (every path has an arc)."""
        node_indptr = self.indptr + np.arange(self.n_paths + 1)
        nodes = np.empty(node_indptr[-1], dtype=np.int64)
        nodes[np.arange(len(self.arcs)) + np.repeat(np.arange(self.n_paths), np.diff(self.indptr))] = \
            arc_tail[self.arcs]
        nodes[node_indptr[1:] - 1] = arc_head[self.arcs[self.indptr[1:] - 1]]
        return node_indptr, nodes

    def on_arcs(self, arc_map: np.ndarray) -> "Routing":
        """The same paths with arc ``a`` renamed ``arc_map[a]`` (to or from a sub-network)."""
        return Routing(self.demand, self.fraction, self.indptr, np.asarray(arc_map)[self.arcs])

    def select(self, rows: np.ndarray) -> "Routing":
        """Paths ``rows`` (indices, in that order) with their fractions."""
        indptr, arcs = gather_rows(self.indptr, self.arcs, rows)
        return Routing(self.demand[rows], self.fraction[rows], indptr, arcs)

    def grouped(self) -> "Routing":
        """The same paths grouped by demand (stable order within a demand)."""
        return self.select(np.argsort(self.demand, kind="stable"))

    def demand_ptr(self, n_demands: int) -> np.ndarray:
        """Offsets of the demands' paths in a grouped routing (length ``n_demands + 1``)."""
        ptr = np.zeros(n_demands + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.demand, minlength=n_demands), out=ptr[1:])
        return ptr

    def incidence(self, n_arcs: int) -> sp.csr_matrix:
        """M (paths × arcs): 1 where the path uses the arc, column indices sorted per row."""
        import scipy.sparse as sp

        m = sp.csr_matrix((np.ones(len(self.arcs)), self.arcs.copy(), self.indptr.copy()),
                          shape=(self.n_paths, n_arcs))
        m.sort_indices()
        return m

    def path_sums(self, arc_value: np.ndarray) -> np.ndarray:
        """``M w``: Σ_{a ∈ p} w_a per path (path delays when ``w`` are arc delays); 0 for a path
        without arcs."""
        values = np.asarray(arc_value)[self.arcs]
        sums = np.zeros(self.n_paths, dtype=values.dtype)
        filled = self.indptr[:-1] < self.indptr[1:]  # reduceat of an empty row is not 0: skip them
        if filled.any():
            sums[filled] = np.add.reduceat(values, self.indptr[:-1][filled])
        return sums

    def path_rates(self, demand_rate: np.ndarray) -> np.ndarray:
        """Rate carried by each path (rate unit): fraction × demand rate."""
        return self.fraction * demand_rate[self.demand]

    def carried_flow(self, path_flow: np.ndarray, n_arcs: int) -> np.ndarray:
        """``Mᵀ x``: arc flows (rate unit) of path flows ``x``."""
        return np.bincount(self.arcs, weights=np.repeat(path_flow, np.diff(self.indptr)),
                           minlength=n_arcs).astype(float, copy=False)  # bincount of nothing is int64

    def arc_flow(self, demand_rate: np.ndarray, n_arcs: int) -> np.ndarray:
        """Arc flows F_a = Σ_p rate_p [a ∈ p] of the routing (rate unit)."""
        return self.carried_flow(self.path_rates(demand_rate), n_arcs)

    def demand_arc_fraction(self, n_demands: int, n_arcs: int) -> np.ndarray:
        """Dense (demands × arcs): the fraction of each demand's rate that crosses each arc."""
        lengths = np.diff(self.indptr)
        out = np.zeros((n_demands, n_arcs))
        np.add.at(out, (np.repeat(self.demand, lengths), self.arcs), np.repeat(self.fraction, lengths))
        return out

    def demand_average(self, path_value: np.ndarray, n_demands: int) -> np.ndarray:
        """Σ_p f_p v_p / Σ_p f_p per demand over its paths with fraction f_p > 0.

        A value on a path without flow never counts (not even NaN); a demand without such a
        path gets NaN.
        """
        used = self.fraction > 0
        weight = np.bincount(self.demand, weights=self.fraction, minlength=n_demands)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.bincount(self.demand, weights=np.where(used, self.fraction * path_value, 0.0),
                               minlength=n_demands) / weight

    def carrying(self, path_flow: np.ndarray, n_demands: int) -> "Routing":
        """The paths with ``path_flow`` > 0, with fractions x_p / Σ_{q of k(p)} x_q summing to 1."""
        rows = np.flatnonzero(path_flow > 0)
        flow = path_flow[rows]
        total = np.bincount(self.demand[rows], weights=flow, minlength=n_demands)
        indptr, arcs = gather_rows(self.indptr, self.arcs, rows)
        demand = self.demand[rows]
        return Routing(demand, flow / total[demand], indptr, arcs)


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
