"""The validated, immutable network instance.

A :class:`Network` holds nodes, links and demands as tuples of small frozen records, plus the
global parameters, and derives the arrays the algorithms work on:

* **arcs** -- directed edges that carry flow.  A ``duplex`` link (the default) gives two arcs,
  each with the link's full capacity; a ``directed`` link gives one arc; an ``undirected`` link
  gives two arcs that share the link's capacity.
* **queues** -- the transmission queues the delay model charges.  Each arc of a duplex or
  directed link is its own queue; both arcs of an undirected link feed one queue.  Arc flows
  ``F`` map to queue loads by ``queue_load = incidence_arc_queue @ F`` (``np.bincount``).

Rates are in the instance's ``rate_unit``: ``"bit/s"`` (the default) or ``"packet/s"`` (CommaLab
files).  ``packets_per_rate_unit`` converts a rate into packets per second: ``1/L̄`` for bit/s
with mean packet length ``L̄`` bits, ``1`` for packet/s.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:  # scipy.sparse costs ~0.15 s of start-up: imported where a matrix is built
    import scipy.sparse as sp

LINK_MODELS = ("duplex", "directed", "undirected")
RATE_UNITS = ("bit/s", "packet/s")
DEFAULT_PACKET_LENGTH_BITS = 8000.0  # 1000-byte mean packet; override per instance
DEFAULT_PROPAGATION_SPEED_MPS = 2.0e8  # light in fibre: 5 µs per km


@dataclass(frozen=True)
class Node:
    """A router/switch site.

    ``longitude``/``latitude`` in degrees (None when unknown), ``processing_delay_s`` charged
    once per packet per visited node, ``power_profile`` names a card in ``models/power/``,
    ``insecurity`` is the estimated insecurity S of the node (security model, dimensionless).
    """

    id: str
    longitude: float | None = None
    latitude: float | None = None
    processing_delay_s: float = 0.0
    power_profile: str | None = None
    insecurity: float | None = None


@dataclass(frozen=True)
class Module:
    """A capacity module that can be installed on a link: ``capacity`` (rate unit) for ``cost``."""

    capacity: float
    cost: float


@dataclass(frozen=True)
class Link:
    """A physical link between two nodes.

    ``capacity`` (rate unit) is the installed capacity; ``installed=False`` marks a candidate
    link of a topology-design instance.  ``length_m`` (None when unknown) gives propagation.
    Costs: ``capacity_cost`` per rate unit of capacity (linear model), ``preinstalled_cost``
    for the installed capacity, ``fixed_cost`` to set the link up, ``routing_cost`` per rate
    unit of flow, ``modules`` the capacity modules (modular model).
    """

    id: str
    source: str
    target: str
    capacity: float
    length_m: float | None = None
    capacity_cost: float = 0.0
    preinstalled_cost: float = 0.0
    fixed_cost: float = 0.0
    routing_cost: float = 0.0
    modules: tuple[Module, ...] = ()
    installed: bool = True
    insecurity: float | None = None


@dataclass(frozen=True)
class Demand:
    """Traffic from ``source`` to ``target`` at ``rate`` (rate unit), of class ``demand_class``.

    ``max_path_length`` (hops) is kept from SNDlib; None means unlimited.  The optional shaper
    of the worst-case (network calculus) model, :mod:`topo_opt.model.traffic`: token bucket
    ``burst`` (rate unit × s: bits for bit/s) and ``token_rate`` (rate unit, default ``rate``),
    optional ``peak_rate`` (rate unit); None means "from the card or command line".
    """

    id: str
    source: str
    target: str
    rate: float
    demand_class: str = "default"
    max_path_length: int | None = None
    burst: float | None = None
    token_rate: float | None = None
    peak_rate: float | None = None


@dataclass(frozen=True)
class Network:
    """A validated network instance.  Build it with :func:`topo_opt.model.build_network`.

    Attributes
    ----------
    name : str
    nodes, links, demands : tuple of records
    packet_length_bits : float
        Mean packet length L̄ in bits (used when ``rate_unit == "bit/s"``).
    rate_unit : {"bit/s", "packet/s"}
    link_model : {"duplex", "directed", "undirected"}
    propagation_speed_mps : float
    metadata : mapping
        Provenance (source file, format, capacity rule, demand generator and seed, ...).
    """

    name: str
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    demands: tuple[Demand, ...]
    packet_length_bits: float = DEFAULT_PACKET_LENGTH_BITS
    rate_unit: str = "bit/s"
    link_model: str = "duplex"
    propagation_speed_mps: float = DEFAULT_PROPAGATION_SPEED_MPS
    metadata: Mapping[str, Any] = field(default_factory=dict)

    # ----------------------------------------------------------------- index maps
    @cached_property
    def node_index(self) -> dict[str, int]:
        return {n.id: i for i, n in enumerate(self.nodes)}

    @cached_property
    def link_index(self) -> dict[str, int]:
        return {link.id: i for i, link in enumerate(self.links)}

    @cached_property
    def demand_index(self) -> dict[str, int]:
        return {d.id: i for i, d in enumerate(self.demands)}

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_links(self) -> int:
        return len(self.links)

    @property
    def n_demands(self) -> int:
        return len(self.demands)

    # ----------------------------------------------------------------- units
    @property
    def packets_per_rate_unit(self) -> float:
        """Packets per second carried by one rate unit: 1/L̄ for bit/s, 1 for packet/s."""
        return 1.0 / self.packet_length_bits if self.rate_unit == "bit/s" else 1.0

    # ----------------------------------------------------------------- link arrays
    @cached_property
    def link_source(self) -> np.ndarray:
        return np.array([self.node_index[link.source] for link in self.links], dtype=np.int64)

    @cached_property
    def link_target(self) -> np.ndarray:
        return np.array([self.node_index[link.target] for link in self.links], dtype=np.int64)

    @cached_property
    def link_capacity(self) -> np.ndarray:
        return np.array([link.capacity for link in self.links], dtype=float)

    @cached_property
    def link_length_m(self) -> np.ndarray:
        """Link lengths in metres, NaN where unknown."""
        return np.array([math.nan if link.length_m is None else link.length_m
                         for link in self.links], dtype=float)

    # ----------------------------------------------------------------- arcs and queues
    @cached_property
    def _arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n_l = self.n_links
        links = np.arange(n_l, dtype=np.int64)
        if self.link_model == "directed":
            return self.link_source, self.link_target, links, links.copy()
        tail = np.concatenate([self.link_source, self.link_target])
        head = np.concatenate([self.link_target, self.link_source])
        arc_link = np.concatenate([links, links])
        if self.link_model == "duplex":
            queue = np.arange(2 * n_l, dtype=np.int64)
        else:  # undirected: both directions share one queue
            queue = arc_link.copy()
        return tail, head, arc_link, queue

    @property
    def arc_tail(self) -> np.ndarray:
        """Tail node index of each arc."""
        return self._arcs[0]

    @property
    def arc_head(self) -> np.ndarray:
        """Head node index of each arc."""
        return self._arcs[1]

    @property
    def arc_link(self) -> np.ndarray:
        """Link index of each arc."""
        return self._arcs[2]

    @property
    def arc_queue(self) -> np.ndarray:
        """Queue index of each arc."""
        return self._arcs[3]

    @property
    def n_arcs(self) -> int:
        return len(self.arc_tail)

    @cached_property
    def n_queues(self) -> int:
        return int(self.arc_queue.max()) + 1 if self.n_arcs else 0

    @cached_property
    def queue_link(self) -> np.ndarray:
        """Link index of each queue."""
        out = np.empty(self.n_queues, dtype=np.int64)
        out[self.arc_queue] = self.arc_link
        return out

    def queue_capacity(self, link_capacity: np.ndarray | None = None) -> np.ndarray:
        """Capacity of each queue (rate unit), from per-link capacities (default: installed)."""
        cap = self.link_capacity if link_capacity is None else np.asarray(link_capacity, float)
        return cap[self.queue_link]

    def queue_load(self, arc_flow: np.ndarray) -> np.ndarray:
        """Load of each queue (rate unit) from arc flows: F_q = Σ_{a in q} F_a."""
        return np.bincount(self.arc_queue, weights=arc_flow, minlength=self.n_queues)

    @cached_property
    def arc_propagation_s(self) -> np.ndarray:
        """Propagation delay of each arc in seconds (0 where the length is unknown)."""
        length = np.nan_to_num(self.link_length_m, nan=0.0)
        return (length / self.propagation_speed_mps)[self.arc_link]

    @cached_property
    def node_processing_s(self) -> np.ndarray:
        return np.array([n.processing_delay_s for n in self.nodes], dtype=float)

    @cached_property
    def arc_fixed_delay_s(self) -> np.ndarray:
        """Load-independent delay of each arc: processing at its tail node + propagation (s).

        A packet pays the processing delay of every node it leaves and the propagation of
        every arc it crosses, so both are additive per arc.
        """
        return self.arc_propagation_s + self.node_processing_s[self.arc_tail]

    @cached_property
    def node_arc_incidence(self) -> sp.csr_matrix:
        """Sparse node–arc incidence A (n_nodes × n_arcs): +1 at the tail, −1 at the head.

        Flow conservation of a commodity with supply vector b reads ``A @ x == b``.
        """
        import scipy.sparse as sp

        n_a = self.n_arcs
        rows = np.concatenate([self.arc_tail, self.arc_head])
        cols = np.concatenate([np.arange(n_a), np.arange(n_a)])
        vals = np.concatenate([np.ones(n_a), -np.ones(n_a)])
        return sp.csr_matrix((vals, (rows, cols)), shape=(self.n_nodes, n_a))

    # ----------------------------------------------------------------- demand arrays
    @cached_property
    def demand_source(self) -> np.ndarray:
        return np.array([self.node_index[d.source] for d in self.demands], dtype=np.int64)

    @cached_property
    def demand_target(self) -> np.ndarray:
        return np.array([self.node_index[d.target] for d in self.demands], dtype=np.int64)

    @cached_property
    def demand_rate(self) -> np.ndarray:
        return np.array([d.rate for d in self.demands], dtype=float)

    @property
    def total_demand(self) -> float:
        """Total offered traffic Σ_k r_k (rate unit)."""
        return float(self.demand_rate.sum())

    @property
    def total_packet_rate(self) -> float:
        """γ = Σ_k r_k in packets per second."""
        return self.total_demand * self.packets_per_rate_unit
