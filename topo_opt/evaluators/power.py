"""Power drawn by the routers of a design (EARP-style device model, models.md §4).

Per node n (Chabarek et al. 2008; Van Heddeghem et al. 2012; Restrepo et al. 2009):

    P_n = P_chassis·z_n + Σ_{ports p of n} ( P_port·y_p + P_load(F_p) )

* ``z_n`` -- the node is on (``Design.node_on``);
* a link has one port at each end node; ``y_p`` -- the port's link is on (``Design.link_on``);
* ``F_p`` -- the traffic the port transmits: the flow of the arc that leaves node n over the
  port's link (for a directed link the head-end port transmits nothing);
* ``P_load(F) = P_full·h(F/C_ref)`` -- the load-dependent part, with ``C_ref`` the profile's
  reference capacity, ``P_full = w_per_gbps·C_ref/10⁹`` the load power at full reference load
  and the shape ``h``:

  ============== =================================================================
  ``on-off``     h(u) = 1 if u > 0 else 0 (full load power as soon as traffic flows)
  ``linear``     h(u) = u  (an energy per bit: P_load = w_per_gbps·F/10⁹)
  ``cubic``      h(u) = u³ (rate-adaptive hardware)
  ``log``        h(u) = log₂(1 + u)  (concave, h(1) = 1)
  ``proportional`` ideal energy-proportional port: no idle port power; the port draws
                 (P_port + P_full)·u, i.e. P_port is charged in proportion to load
  ============== =================================================================

All watt values come from the device profile cards in ``models/power/*.toml`` (loaded by
:func:`topo_opt.io.power_profile.load_power_profile`), never from code.  Flows are converted
from the network's rate unit to bit/s (``packet/s`` × L̄).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.design import Design
from topo_opt.model.network import Network

# h(u) per load shape, u = F/C_ref; "proportional" is linear in u, its idle port power being
# folded into the load part by NodePowerModel
_SHAPE_FUNCTIONS = {
    "on-off": lambda u: (u > 0).astype(float),
    "linear": lambda u: u,
    "cubic": lambda u: u ** 3,
    "log": lambda u: np.log1p(u) / np.log(2.0),
    "proportional": lambda u: u,
}
LOAD_SHAPES = tuple(_SHAPE_FUNCTIONS)
BITS_PER_GBIT = 1e9


@dataclass(frozen=True)
class PowerProfile:
    """A device power profile (one TOML card).

    Attributes
    ----------
    name : str
    chassis_w : float
        Power of the chassis when the node is on (W).
    port_w : float
        Idle power of one active port, i.e. one end of a link that is on (W).
    load_shape : {"on-off", "linear", "cubic", "log", "proportional"}
    load_w_per_gbps : float
        Load-dependent power per Gbit/s transmitted at full reference load (W per Gbit/s).
    reference_capacity_bps : float
        Port rate C_ref at which ``load_w_per_gbps`` is quoted (bit/s).
    source : str
        Where the numbers come from.
    description : str
    """

    name: str
    chassis_w: float
    port_w: float
    load_shape: str
    load_w_per_gbps: float
    reference_capacity_bps: float
    source: str = ""
    description: str = ""

    @property
    def full_load_w(self) -> float:
        """P_full = w_per_gbps · C_ref / 10⁹: load-dependent power of a port at full load (W)."""
        return self.load_w_per_gbps * self.reference_capacity_bps / BITS_PER_GBIT


Profiles = Union[PowerProfile, Mapping[str, PowerProfile], "NodePowerModel"]


def _shape_value(shape: np.ndarray, u: np.ndarray) -> np.ndarray:
    """h(u) of each port's load shape (``shape`` holds indices into :data:`LOAD_SHAPES`)."""
    h = np.empty_like(u)
    for code, function in enumerate(_SHAPE_FUNCTIONS.values()):
        mask = shape == code
        h[mask] = function(u[mask])
    return h


@dataclass(frozen=True)
class NodePowerModel:
    """Per-node arrays of the profiles of one network, ready for vectorised evaluation.

    ``idle_port_w`` is P_port (0 for a ``proportional`` profile) and ``full_load_w`` is P_full
    (P_port + P_full for a ``proportional`` profile), so that every shape reads
    P_port(F) = idle_port_w·y + full_load_w·h(F/C_ref).
    """

    chassis_w: np.ndarray
    idle_port_w: np.ndarray
    full_load_w: np.ndarray
    reference_capacity_bps: np.ndarray
    shape: np.ndarray
    bits_per_rate_unit: float

    @classmethod
    def for_network(cls, network: Network, profiles: Profiles) -> "NodePowerModel":
        """Resolve ``profiles`` (one for all nodes, or node id → profile) to per-node arrays.

        Raises
        ------
        InvalidInputError
            A node without a profile, or a profile with an unknown load shape.
        """
        if isinstance(profiles, NodePowerModel):
            return profiles
        if isinstance(profiles, PowerProfile):
            per_node = [profiles] * network.n_nodes
        else:
            missing = [n.id for n in network.nodes if n.id not in profiles]
            if missing:
                raise InvalidInputError(
                    f"node {missing[0]!r}: no power profile ({len(missing)} nodes without one)")
            per_node = [profiles[n.id] for n in network.nodes]
        for profile in per_node:
            if profile.load_shape not in LOAD_SHAPES:
                raise InvalidInputError(f"power profile {profile.name!r}: load shape must be one of "
                                        f"{', '.join(LOAD_SHAPES)}, got {profile.load_shape!r}")
        proportional = np.array([p.load_shape == "proportional" for p in per_node], dtype=bool)
        port = np.array([p.port_w for p in per_node], dtype=float)
        full = np.array([p.full_load_w for p in per_node], dtype=float)
        return cls(
            chassis_w=np.array([p.chassis_w for p in per_node], dtype=float),
            idle_port_w=np.where(proportional, 0.0, port),
            full_load_w=np.where(proportional, port + full, full),
            reference_capacity_bps=np.array([p.reference_capacity_bps for p in per_node], dtype=float),
            shape=np.array([LOAD_SHAPES.index(p.load_shape) for p in per_node], dtype=np.int64),
            bits_per_rate_unit=network.packet_length_bits * network.packets_per_rate_unit,
        )

    def port_load_w(self, node: np.ndarray, egress: np.ndarray) -> np.ndarray:
        """P_full·h(F/C_ref) of ports at nodes ``node`` transmitting ``egress`` (rate unit), W."""
        u = egress * self.bits_per_rate_unit / self.reference_capacity_bps[node]
        return self.full_load_w[node] * _shape_value(self.shape[node], u)


@dataclass(frozen=True)
class PowerBreakdown:
    """Power per node (W), split into chassis, idle ports and load-dependent part."""

    chassis_w: np.ndarray
    port_w: np.ndarray
    load_w: np.ndarray

    @property
    def node_w(self) -> np.ndarray:
        """P_n per node (W)."""
        return self.chassis_w + self.port_w + self.load_w

    @property
    def total_w(self) -> float:
        """Σ_n P_n (W)."""
        return float(self.node_w.sum())


def powered_elements(network: Network, arc_flow: np.ndarray, link_on: np.ndarray | None = None,
                     node_on: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The links and nodes a design keeps on (booleans): those given, every link that carries
    flow in ``arc_flow``, both end nodes of every link on, and every demand's end points."""
    carries = np.bincount(network.arc_link, weights=arc_flow, minlength=network.n_links) > 0
    link_on = carries if link_on is None else carries | link_on
    node_on = np.zeros(network.n_nodes, dtype=bool) if node_on is None else node_on.copy()
    node_on[network.demand_source] = node_on[network.demand_target] = True
    node_on[network.link_source[link_on]] = node_on[network.link_target[link_on]] = True
    return link_on, node_on


def network_power(network: Network, design: Design, profiles: Profiles) -> PowerBreakdown:
    """Power of every node of ``design`` (see the module docstring for the model).

    Parameters
    ----------
    network : Network
    design : Design
        ``node_on`` gives z_n, ``link_on`` gives y_p for both ports of a link, the routing gives
        the arc flows F.
    profiles : PowerProfile, mapping node id -> PowerProfile, or NodePowerModel

    Returns
    -------
    PowerBreakdown
        chassis P_chassis·z_n, idle ports Σ P_port·y_p and load Σ P_load(F_p) per node (W).

    Raises
    ------
    InvalidInputError
        A node without a profile.
    """
    model = NodePowerModel.for_network(network, profiles)
    n = network.n_nodes
    on = np.asarray(design.link_on, dtype=bool)
    ends = np.concatenate([network.link_source[on], network.link_target[on]])
    return PowerBreakdown(
        chassis_w=model.chassis_w * np.asarray(design.node_on, dtype=bool),
        port_w=np.bincount(ends, weights=model.idle_port_w[ends], minlength=n),
        load_w=np.bincount(network.arc_tail, minlength=n,
                           weights=model.port_load_w(network.arc_tail, design.arc_flow(network))),
    )


def incremental_power_w(network: Network, model: NodePowerModel, arc_flow: np.ndarray,
                        link_on: np.ndarray, node_on: np.ndarray, path_arcs: np.ndarray,
                        rate: float) -> float:
    """Extra power (W) of routing ``rate`` more (rate unit) along ``path_arcs``.

    ΔP = Σ_{n ∈ path, off} P_chassis,n + Σ_{links l ∈ path, off} (P_port,tail + P_port,head)
         + Σ_{a ∈ path} [P_load,tail(a)(F_a + r) − P_load,tail(a)(F_a)]

    i.e. the chassis of nodes and the ports of links that the path switches on, plus the load
    increase of every port that transmits the extra traffic.  This is the cost the EARP
    heuristic compares across candidate paths; it equals the difference of
    :func:`network_power` before and after the change.

    Parameters
    ----------
    network : Network
    model : NodePowerModel
        From :meth:`NodePowerModel.for_network` (resolve once, evaluate many paths).
    arc_flow : ndarray
        Current arc flows (rate unit).
    link_on, node_on : ndarray of bool
        Current on/off states.
    path_arcs : ndarray of int
        Arc indices of the path.
    rate : float
        Added traffic (rate unit).

    Returns
    -------
    float
    """
    arcs, count = np.unique(np.asarray(path_arcs, dtype=np.int64), return_counts=True)
    links = np.unique(network.arc_link[arcs])
    links = links[~np.asarray(link_on, dtype=bool)[links]]
    nodes = np.unique(np.concatenate([network.arc_tail[arcs], network.arc_head[arcs]]))
    nodes = nodes[~np.asarray(node_on, dtype=bool)[nodes]]
    tail = network.arc_tail[arcs]
    flow = np.asarray(arc_flow, dtype=float)[arcs]
    load = model.port_load_w(tail, flow + rate * count) - model.port_load_w(tail, flow)
    ports = model.idle_port_w[network.link_source[links]] + model.idle_port_w[network.link_target[links]]
    return float(model.chassis_w[nodes].sum() + ports.sum() + load.sum())
