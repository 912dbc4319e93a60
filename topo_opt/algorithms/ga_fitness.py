"""Fitness of a whole GA population at once: delay, power or security rejection of routings.

A population of P single-path routings is evaluated from its arc-flow matrix F (P × arcs, rate
unit), itself one sparse product ``S @ M`` (S: P × pool paths with the demand rates at the
chosen paths, M: pool paths × arcs, 0/1), so no Python loop runs over individuals (except
for the composite goal, whose evaluator takes one design).

Every fitness returns the objective ``value`` (what the result reports) and the ``penalised``
value the GA ranks by.  Saturated individuals (a queue at or beyond capacity) are kept and
ranked, with a penalty proportional to their overload:

* **delay** -- Kleinrock's T (:class:`~topo_opt.evaluators.delay.DelayObjective`); its value
  is +inf when saturated.  The penalised form replaces g(F) = F/(C − F) beyond utilisation
  u* = :data:`PENALTY_UTILIZATION` by its tangent at u*C, g(u*C) + g'(u*C)(F − u*C), which is
  convex, increasing, equal to g below u*C, and grows linearly with the overload;
* **power** -- Σ_n P_n (W) of :func:`~topo_opt.evaluators.power.network_power` with the links
  and nodes that carry no traffic switched off (the nodes where demands start or end stay on);
* **rejection** -- rate-weighted mean path rejection Σ_k r_k r_sum(k, P_k) / Σ_k r_k
  (:func:`~topo_opt.evaluators.security.path_rejection`);

and the composite goal G (:mod:`topo_opt.evaluators.composite`, per individual).
For power and rejection ``penalised = value + penalty · Σ_q max(0, F_q − C_q)/C_q``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.evaluators.composite import CompositeWeights, composite_goal
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.power import NodePowerModel, Profiles
from topo_opt.evaluators.security import path_rejection
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network

#: Utilisation beyond which the delay fitness continues g(F) = F/(C − F) by its tangent.
PENALTY_UTILIZATION = 0.99


def _arc_to(index: np.ndarray, n_columns: int) -> sp.csr_matrix:
    """0/1 matrix (arcs × n_columns) mapping each arc to ``index[arc]``."""
    n = len(index)
    return sp.csr_matrix((np.ones(n), (np.arange(n), index)), shape=(n, n_columns))


@dataclass
class PopulationFitness:
    """Base: queue loads and overload of a population's arc flows; subclasses add the value.

    Attributes
    ----------
    network : Network
    queue_capacity : ndarray
        C_q (rate unit).
    penalty : float
        Objective units per unit of relative overload Σ_q max(0, F_q − C_q)/C_q (power and
        rejection; the delay penalty is built in).
    """

    network: Network
    queue_capacity: np.ndarray
    penalty: float = 1.0
    objective_name: str = ""
    objective_unit: str = ""
    needs_routings = False  # class attribute: evaluate() needs set_routings() first
    _arc_queue: sp.csr_matrix = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._arc_queue = _arc_to(self.network.arc_queue, self.network.n_queues)

    def queue_loads(self, arc_flow: np.ndarray) -> np.ndarray:
        """F_q of every individual (P × queues)."""
        return np.asarray(arc_flow @ self._arc_queue)

    def overload(self, load: np.ndarray) -> np.ndarray:
        """Σ_q max(0, F_q − C_q)/C_q per individual."""
        return np.maximum(load - self.queue_capacity, 0.0) @ (1.0 / self.queue_capacity)

    def violates_capacity(self, arc_flow: np.ndarray) -> np.ndarray:
        """True for individuals loading some queue beyond its capacity."""
        return np.any(self.queue_loads(arc_flow) > self.queue_capacity, axis=1)

    def base_weight(self) -> np.ndarray:
        """Arc weights of the initial shortest paths and of mutation (default: hop count)."""
        return np.ones(self.network.n_arcs)

    def marginal_weight(self, arc_flow: np.ndarray) -> np.ndarray | None:
        """Marginal cost of each arc at one individual's flows, for guided mutation (or None)."""
        return None

    def path_cost(self, routing: Routing) -> np.ndarray | None:
        """Additive per-path cost whose sum over the chosen paths enters the value, or None."""
        return None

    def evaluate(self, arc_flow: np.ndarray, path_cost_sum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(value, penalised)`` per individual."""
        raise NotImplementedError

    def design(self, routing: Routing) -> Design:
        """The design a routing stands for (everything on unless the objective switches off)."""
        return Design.for_network(self.network, routing)


@dataclass
class DelayFitness(PopulationFitness):
    """Average network delay T (s), tangent-continued beyond :data:`PENALTY_UTILIZATION`."""

    include_fixed_delay: bool = True
    objective_name: str = "average_delay_s"
    objective_unit: str = "s"

    @property
    def objective(self) -> DelayObjective:
        return DelayObjective(self.network, self.queue_capacity, self.include_fixed_delay)

    def violates_capacity(self, arc_flow):
        """M/M/1 needs F_q < C_q: a queue at capacity already violates it."""
        return np.any(self.queue_loads(arc_flow) >= self.queue_capacity, axis=1)

    def base_weight(self):
        """∂T/∂F_a at zero flow: (1/γ)(1/C_q + ρ d_a)."""
        return self.objective.arc_gradient(np.zeros(self.network.n_arcs))

    def marginal_weight(self, arc_flow):
        """∂T/∂F_a of the penalised T at ``arc_flow`` (one individual): first derivative lengths."""
        objective = self.objective
        cap = self.queue_capacity
        load = np.minimum(self.network.queue_load(arc_flow), PENALTY_UTILIZATION * cap)
        derivative = cap / (cap - load) ** 2
        return objective.scale * (derivative[self.network.arc_queue] + objective.arc_linear_cost)

    def evaluate(self, arc_flow, path_cost_sum):
        objective = self.objective
        load = self.queue_loads(arc_flow)
        cap = self.queue_capacity
        knee = PENALTY_UTILIZATION * cap
        with np.errstate(divide="ignore"):
            exact = np.where(load < cap, load / np.maximum(cap - load, 0.0), np.inf)
        # g(u*C) + g'(u*C)(F − u*C) with g'(F) = C/(C − F)²
        extended = knee / (cap - knee) + cap / (cap - knee) ** 2 * (load - knee)
        linear = arc_flow @ objective.arc_linear_cost
        value = objective.scale * (exact.sum(axis=1) + linear)
        penalised = objective.scale * (np.where(load <= knee, exact, extended).sum(axis=1) + linear)
        return value, penalised


@dataclass
class PowerFitness(PopulationFitness):
    """Network power (W) with idle links and nodes off; ``profiles`` as for network_power."""

    profiles: Profiles | None = None
    objective_name: str = "power_w"
    objective_unit: str = "W"

    def __post_init__(self) -> None:
        super().__post_init__()
        net = self.network
        self._model = NodePowerModel.for_network(net, self.profiles)
        self._arc_link = _arc_to(net.arc_link, net.n_links)
        self._endpoints = np.zeros(net.n_nodes, dtype=bool)
        self._endpoints[net.demand_source] = self._endpoints[net.demand_target] = True

    def _states(self, arc_flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        net = self.network
        link_on = np.asarray(arc_flow @ self._arc_link) > 0
        node_on = np.zeros((len(arc_flow), net.n_nodes), dtype=bool)
        node_on[:, self._endpoints] = True
        rows, links = np.nonzero(link_on)
        node_on[rows, net.link_source[links]] = True
        node_on[rows, net.link_target[links]] = True
        return link_on, node_on

    def evaluate(self, arc_flow, path_cost_sum):
        net, model = self.network, self._model
        link_on, node_on = self._states(arc_flow)
        ports = model.idle_port_w[net.link_source] + model.idle_port_w[net.link_target]
        tails = np.broadcast_to(net.arc_tail, arc_flow.shape)
        value = node_on @ model.chassis_w + link_on @ ports + \
            model.port_load_w(tails, arc_flow).sum(axis=1)
        return value, value + self.penalty * self.overload(self.queue_loads(arc_flow))

    def design(self, routing):
        flow = routing.arc_flow(self.network.demand_rate, self.network.n_arcs)[None, :]
        link_on, node_on = self._states(flow)
        return Design.for_network(self.network, routing, link_on=link_on[0], node_on=node_on[0])


@dataclass
class RejectionFitness(PopulationFitness):
    """Rate-weighted mean security rejection r_sum (dimensionless)."""

    tolerance_by_class: dict | None = None
    objective_name: str = "rejection"
    objective_unit: str = "1"

    def path_cost(self, routing):
        weight = self.network.demand_rate[routing.demand] / self.network.total_demand
        return weight * path_rejection(self.network, routing, self.tolerance_by_class).path_sum

    def evaluate(self, arc_flow, path_cost_sum):
        value = np.asarray(path_cost_sum, dtype=float)
        return value, value + self.penalty * self.overload(self.queue_loads(arc_flow))


@dataclass
class CompositeFitness(PopulationFitness):
    """Composite goal G = a·r/R₀ + b·Q/Q₀ + c·E/E₀ (dimensionless) of
    :func:`~topo_opt.evaluators.composite.composite_goal`, everything on.

    That evaluator works on one design, so this fitness is the one that loops over the
    individuals.  G is +inf on a saturated design (when b > 0); such individuals rank by
    ``penalty · (1 + overload)``.
    """

    weights: CompositeWeights = field(default_factory=CompositeWeights)
    profiles: Profiles | None = None
    tolerance_by_class: dict | None = None
    objective_name: str = "composite_goal"
    objective_unit: str = "1"
    needs_routings = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self._model = NodePowerModel.for_network(self.network, self.profiles)
        # the documented reference of the normalisers: min-hop routing, everything on
        reference = Design.for_network(self.network, min_hop_routing(self.network))
        self.weights = self.weights.resolve(self.network, reference, self._model, self.tolerance_by_class)
        self._routings: list[Routing] = []

    def set_routings(self, routings: list[Routing]) -> None:
        """The routings of the population about to be evaluated (same order as its flows)."""
        self._routings = routings

    def evaluate(self, arc_flow, path_cost_sum):
        value = np.array([composite_goal(self.network, Design.for_network(self.network, r),
                                         self.weights, self._model, self.tolerance_by_class).total
                          for r in self._routings])
        overload = self.overload(self.queue_loads(arc_flow))
        return value, np.where(np.isfinite(value), value, self.penalty * (1.0 + overload))
