"""Composite goal of a design: security rejection, delay and energy per demand (models.md §5).

For demand k routed on paths P with fractions x_P (Gelenbe's Cognitive Packet Network goal
function; Gelenbe and Morfopoulou, *A framework for energy-aware routing in packet networks*,
Computer Journal 54(6), 2011; Gelenbe, Gorbil, Wu, *Emergency cyber-physical-human systems*,
ICCCN 2012 for the security term):

    G_k = a·r_k/R₀ + b·Q_k/Q₀ + c·E_k/E₀

* r_k -- security rejection, flow-weighted over the demand's paths, in the ``sum`` or ``max``
  form (:func:`topo_opt.evaluators.security.path_rejection`);
* Q_k -- end-to-end delay (s): flow-weighted mean over the paths of Σ_a (M/M/1 sojourn
  1/(μ_a − λ_a) + propagation + tail-node processing)
  (:func:`topo_opt.evaluators.metrics.evaluate_design`);
* E_k -- power attributed to the demand (W), by **average-cost sharing**: every element's power
  is split among the demands in proportion to the traffic they send through it,

      E_k = Σ_P x_P r_k Σ_{e ∈ P} P_e / Θ_e,

  with e a node (chassis, Θ_n the traffic visiting n, counted once per visit), a link (its two
  idle ports, Θ_l the traffic on both arcs) or an arc (the load-dependent power of the port
  at its tail, Θ_a = F_a).  Σ_k E_k is the power of every element that carries traffic
  (elements that are on but idle are not attributed: ``CompositeGoal.unattributed_power_w``).

The network total is the **rate-weighted mean** G = Σ_k r_k G_k / Σ_k r_k (rates in the
network's unit), so that heavy flows count more and G does not grow with the number of
demands.  A design that saturates a queue on a demand's path has Q_k = inf, hence G = inf when
b > 0 (a GA ranks it last); a term whose weight is 0 is 0 whatever its value.

Normalisers.  R₀, Q₀ and E₀ are given, or computed from a **reference design** by
:func:`reference_normalisers` (``CompositeWeights.resolve``): Q₀ its rate-weighted mean
**zero-load** delay Σ_a (L̄/C_a + τ_a) (finite whatever the load), E₀ and R₀ its rate-weighted
mean attributed power and rejection.  A reference term equal to 0 (e.g. no insecure element)
gives a normaliser of 1 (the term is then in raw units).  The documented reference is min-hop
routing with every node and link on; the caller builds it (the GA's
:class:`~topo_opt.algorithms.ga_fitness.CompositeFitness` does), so this module stays a pure
function of the designs it is given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.evaluators.power import NodePowerModel, Profiles
from topo_opt.evaluators.security import path_rejection
from topo_opt.model.design import Design
from topo_opt.model.network import Network

REJECTION_FORMS = ("sum", "max")


@dataclass(frozen=True)
class CompositeWeights:
    """Weights a, b, c and normalisers R₀, Q₀ (s), E₀ (W) of the composite goal.

    Attributes
    ----------
    rejection, delay, energy : float
        Weights a, b, c (≥ 0).
    rejection_ref, delay_ref_s, energy_ref_w : float, optional
        R₀ (dimensionless), Q₀ (s), E₀ (W), > 0; ``None``: to be computed from a reference
        design by :meth:`resolve` before :func:`composite_goal` is called.
    rejection_form : {"sum", "max"}
        Which path rejection r_k uses.
    """

    rejection: float = 1.0
    delay: float = 1.0
    energy: float = 1.0
    rejection_ref: float | None = None
    delay_ref_s: float | None = None
    energy_ref_w: float | None = None
    rejection_form: str = "sum"

    def __post_init__(self) -> None:
        for name in ("rejection", "delay", "energy"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise InvalidInputError(f"composite weight {name!r} must be a finite number >= 0, "
                                        f"got {value!r}")
        for name in ("rejection_ref", "delay_ref_s", "energy_ref_w"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value <= 0):
                raise InvalidInputError(f"composite normaliser {name!r} must be a finite number > 0, "
                                        f"got {value!r}")
        if self.rejection_form not in REJECTION_FORMS:
            raise InvalidInputError(f"composite rejection_form must be one of "
                                    f"{', '.join(REJECTION_FORMS)}, got {self.rejection_form!r}")

    @property
    def resolved(self) -> bool:
        """True when every normaliser is set."""
        return None not in (self.rejection_ref, self.delay_ref_s, self.energy_ref_w)

    def resolve(self, network: Network, reference: Design, profiles: Profiles,
                tolerance_by_class: Mapping[str, float] | None = None) -> "CompositeWeights":
        """A copy with the missing normalisers computed on the ``reference`` design by
        :func:`reference_normalisers` (call once per network, e.g. before a GA)."""
        if self.resolved:
            return self
        r0, q0, e0 = reference_normalisers(network, reference, profiles, tolerance_by_class,
                                           self.rejection_form)
        return replace(self, rejection_ref=self.rejection_ref or r0,
                       delay_ref_s=self.delay_ref_s or q0, energy_ref_w=self.energy_ref_w or e0)


@dataclass(frozen=True)
class CompositeGoal:
    """The composite goal of one design.

    Attributes
    ----------
    total : float
        Rate-weighted mean Σ_k r_k G_k / Σ_k r_k (dimensionless; inf if saturated and b > 0).
    per_demand : ndarray
        G_k per demand.
    rejection_term, delay_term, energy_term : ndarray
        a·r_k/R₀, b·Q_k/Q₀, c·E_k/E₀ per demand (their sum is ``per_demand``).
    rejection, delay_s, energy_w : ndarray
        r_k, Q_k (s, inf on a saturated path) and E_k (W) per demand.
    unattributed_power_w : float
        Power of elements that are on but carry no traffic (W).
    weights : CompositeWeights
        The weights with the normalisers used.
    """

    total: float
    per_demand: np.ndarray
    rejection_term: np.ndarray
    delay_term: np.ndarray
    energy_term: np.ndarray
    rejection: np.ndarray
    delay_s: np.ndarray
    energy_w: np.ndarray
    unattributed_power_w: float
    weights: CompositeWeights


def attributed_power_w(network: Network, design: Design, profiles: Profiles
                       ) -> tuple[np.ndarray, float]:
    """Power attributed to each demand by average-cost sharing (module docstring), in W.

    Returns
    -------
    demand_power_w : ndarray
        E_k per demand (W); 0 for a demand of rate 0.
    unattributed_power_w : float
        Power of nodes and links that are on but carry no traffic (W).
    """
    model = NodePowerModel.for_network(network, profiles)
    routing = design.routing
    path_rate = routing.path_rates(network.demand_rate)
    arc_flow = routing.carried_flow(path_rate, network.n_arcs)
    link_flow = np.bincount(network.arc_link, weights=arc_flow, minlength=network.n_links)
    node_ptr, visit_node = routing.path_nodes(network.arc_tail, network.arc_head)
    visit_path = np.repeat(np.arange(routing.n_paths), np.diff(node_ptr))
    node_flow = np.bincount(visit_node, weights=path_rate[visit_path], minlength=network.n_nodes)

    node_on = np.asarray(design.node_on, dtype=bool)
    link_on = np.asarray(design.link_on, dtype=bool)
    chassis = model.chassis_w * node_on
    ports = (model.idle_port_w[network.link_source] + model.idle_port_w[network.link_target]) * link_on
    load = model.port_load_w(network.arc_tail, arc_flow)
    with np.errstate(invalid="ignore", divide="ignore"):  # unused elements are never read
        per_node = np.where(node_flow > 0, chassis / node_flow, 0.0)
        per_link = np.where(link_flow > 0, ports / link_flow, 0.0)
        per_arc = np.where(arc_flow > 0, load / arc_flow, 0.0) + per_link[network.arc_link]
    # W per rate unit along each path, times the path's rate
    path_price = np.bincount(visit_path, weights=per_node[visit_node], minlength=routing.n_paths) \
        + routing.path_sums(per_arc)
    demand_power = np.bincount(routing.demand, weights=path_rate * path_price,
                               minlength=network.n_demands)
    idle = chassis[node_flow <= 0].sum() + ports[link_flow <= 0].sum() + load[arc_flow <= 0].sum()
    return demand_power, float(idle)


def _rate_weighted_mean(network: Network, values: np.ndarray) -> float:
    rate = network.demand_rate
    return float(rate @ values / rate.sum())


def reference_normalisers(network: Network, reference: Design, profiles: Profiles,
                          tolerance_by_class: Mapping[str, float] | None = None,
                          rejection_form: str = "sum") -> tuple[float, float, float]:
    """(R₀, Q₀ in s, E₀ in W) of the ``reference`` design (module docstring), e.g. min-hop
    routing with everything on.

    Raises
    ------
    InvalidInputError
        A link with zero capacity (its zero-load delay L̄/C is undefined), no demands.
    """
    if network.n_demands == 0 or network.total_demand <= 0:
        raise InvalidInputError(f"{network.name}: no traffic: the composite goal is undefined")
    if np.any(network.link_capacity <= 0):
        bad = int(np.flatnonzero(network.link_capacity <= 0)[0])
        raise InvalidInputError(f"link {network.links[bad].id!r}: capacity must be > 0 for the "
                                f"composite goal's delay reference, got {network.link_capacity[bad]:g}")
    routing = reference.routing
    zero_load = 1.0 / (network.packets_per_rate_unit * network.queue_capacity()[network.arc_queue]) \
        + network.arc_fixed_delay_s
    path_zero_load = routing.path_sums(zero_load)
    demand_zero_load = routing.demand_average(path_zero_load, network.n_demands)
    q0 = _rate_weighted_mean(network, demand_zero_load)
    e0 = _rate_weighted_mean(network, attributed_power_w(network, reference, profiles)[0])
    rejection = path_rejection(network, routing, tolerance_by_class)
    r0 = _rate_weighted_mean(network, getattr(rejection, f"demand_{rejection_form}"))
    return (r0 if r0 > 0 else 1.0), q0, (e0 if e0 > 0 else 1.0)


def composite_goal(network: Network, design: Design, weights: CompositeWeights,
                   profiles: Profiles,
                   tolerance_by_class: Mapping[str, float] | None = None) -> CompositeGoal:
    """G = a·r/R₀ + b·Q/Q₀ + c·E/E₀ per demand and its rate-weighted mean (module docstring).

    Parameters
    ----------
    network : Network
    design : Design
        Routing and on/off states (a link that is off has capacity 0).
    weights : CompositeWeights
        With every normaliser set (given, or ``weights.resolve(network, reference, profiles)``).
    profiles : PowerProfile, mapping node id -> PowerProfile, or NodePowerModel
        Device power profiles (a :class:`NodePowerModel` is resolved once, cheapest in a loop).
    tolerance_by_class : mapping demand class -> tolerance, optional
        Security tolerance T per demand class (0 where not given).

    Returns
    -------
    CompositeGoal

    Raises
    ------
    InvalidInputError
        Normalisers not set, bad profiles or tolerances, a routing that does not fit the
        network, no traffic.

    References
    ----------
    Gelenbe and Morfopoulou, Computer Journal 54(6), 2011 (energy-aware CPN routing goal);
    Chabarek et al., IEEE INFOCOM 2008 (router power model).
    """
    if not weights.resolved:
        missing = [name for name in ("rejection_ref", "delay_ref_s", "energy_ref_w")
                   if getattr(weights, name) is None]
        raise InvalidInputError(f"composite normalisers {', '.join(missing)} are not set: give them or "
                                "compute them on a reference design with CompositeWeights.resolve")
    model = NodePowerModel.for_network(network, profiles)
    metrics = evaluate_design(network, design, security=tolerance_by_class or {})
    delay = np.where(np.isnan(metrics.demand_delay_s), math.inf, metrics.demand_delay_s)
    rejection = getattr(metrics.rejection, f"demand_{weights.rejection_form}")
    energy, unattributed = attributed_power_w(network, design, model)

    def term(weight: float, values: np.ndarray, reference: float) -> np.ndarray:
        return np.zeros_like(values) if weight == 0 else weight * values / reference

    rejection_term = term(weights.rejection, rejection, weights.rejection_ref)
    delay_term = term(weights.delay, delay, weights.delay_ref_s)
    energy_term = term(weights.energy, energy, weights.energy_ref_w)
    per_demand = rejection_term + delay_term + energy_term
    rate = network.demand_rate
    with np.errstate(invalid="ignore"):  # 0 rate × inf: a demand without traffic does not count
        total = float(np.where(rate > 0, rate * per_demand, 0.0).sum() / rate.sum())
    return CompositeGoal(total, per_demand, rejection_term, delay_term, energy_term, rejection,
                         delay, energy, unattributed, weights)
