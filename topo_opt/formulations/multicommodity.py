"""Source-aggregated arc formulation of the multicommodity flow (Pyomo builder, never solves).

All demands leaving the same source node form one commodity s: they can share flow until they
split towards their targets, so one variable per (source, arc) is enough and the LP has
``n_sources × n_arcs`` flow columns instead of ``n_demands × n_arcs``:

    x[s, a] ≥ 0,  A x_s = b_s        (flow conservation, A the node–arc incidence)
    F_a = Σ_s x[s, a]                (arc flow, a variable)
    F_q = Σ_{a ∈ q} F_a              (queue load, an expression)

with b_s[s] = Σ_{k: s_k = s} r_k, b_s[t] = −Σ_{k: s_k = s, t_k = t} r_k.  Undirected links feed
one queue from both arcs (``Network.arc_queue``).

Flows are expressed in units of ``layout.flow_scale`` rate units (the largest queue capacity, or
the total demand when nothing is installed), so that the LP's numbers are O(1) whatever the
instance's rate unit (capacities of ~1e9 bit/s would meet HiGHS's absolute tolerances badly).
:class:`FlowLayout` converts back.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from topo_opt.model.network import Network


@dataclass(frozen=True)
class FlowLayout:
    """How a flow model indexes the network.

    Attributes
    ----------
    sources : ndarray of int
        Node index of each source position s (nodes that originate demand, sorted).
    supply : ndarray, shape (n_sources, n_nodes)
        b_s in rate units: +Σ rates at the source, −rate at each target.
    arcs : ndarray of int
        Network arcs that carry flow variables (all arcs unless restricted).
    queues : ndarray of int
        Network queues fed by those arcs (sorted, unique).
    flow_scale : float
        Rate units per LP flow unit.
    """

    sources: np.ndarray
    supply: np.ndarray
    arcs: np.ndarray
    queues: np.ndarray
    flow_scale: float

    def source_flows(self, values: np.ndarray, n_arcs: int) -> np.ndarray:
        """x[s, a] in rate units over all network arcs from the LP values of ``source_flow``."""
        out = np.zeros((len(self.sources), n_arcs))
        out[:, self.arcs] = np.asarray(values, float).reshape(len(self.sources), len(self.arcs))
        return out * self.flow_scale


def source_supply(network: Network, per_demand: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Source nodes and their supply vectors b_s (rate units), shape (n_sources, n_nodes); with
    ``per_demand`` one commodity per demand k, b_k = r_k (e_s − e_t), rows in demand order."""
    sources, position = (network.demand_source.copy(), np.arange(network.n_demands)) if per_demand \
        else np.unique(network.demand_source, return_inverse=True)
    supply = np.zeros((len(sources), network.n_nodes))
    rate = network.demand_rate
    np.add.at(supply, (position, network.demand_source), rate)
    np.add.at(supply, (position, network.demand_target), -rate)
    return sources, supply


def flow_layout(network: Network, arc_mask: np.ndarray | None = None,
                link_capacity: np.ndarray | None = None, per_demand: bool = False) -> FlowLayout:
    """The layout of a flow model on ``network``, optionally restricted to ``arc_mask`` arcs, with
    one commodity per source (or per demand, :func:`source_supply`)."""
    arcs = np.arange(network.n_arcs) if arc_mask is None else np.flatnonzero(arc_mask)
    queues = np.unique(network.arc_queue[arcs])
    capacity = network.queue_capacity(link_capacity)[queues]
    scale = float(capacity.max()) if capacity.size else 0.0
    if scale <= 0:  # capacity-design instances install nothing yet: size flows by the demand
        scale = network.total_demand or 1.0
    sources, supply = source_supply(network, per_demand)
    return FlowLayout(sources, supply, arcs, queues, scale)


def linear_expression(coefs, variables) -> LinearExpression:
    """Σ_i coefs[i]·variables[i] built directly (no operator overloading on long sums)."""
    return LinearExpression(constant=0, linear_coefs=list(coefs), linear_vars=list(variables))


def define_index_sets(model: pyo.ConcreteModel, network: Network, layout: FlowLayout) -> None:
    """NODES, SOURCES (positions in ``layout.sources``), ARCS and QUEUES (network indices)."""
    model.layout = layout
    model.NODES = pyo.Set(initialize=range(network.n_nodes), ordered=True)
    model.SOURCES = pyo.Set(initialize=range(len(layout.sources)), ordered=True)
    model.ARCS = pyo.Set(initialize=layout.arcs.tolist(), ordered=True)
    model.QUEUES = pyo.Set(initialize=layout.queues.tolist(), ordered=True)


def define_source_flows(model: pyo.ConcreteModel) -> None:
    """x[s, a] ≥ 0: flow of source s on arc a (flow units)."""
    model.source_flow = pyo.Var(model.SOURCES, model.ARCS, within=pyo.NonNegativeReals)


def define_flow_conservation(model: pyo.ConcreteModel, network: Network) -> None:
    """A x_s = b_s / flow_scale for every source, from the CSR rows of the incidence matrix.

    Rows of nodes without kept arcs and without supply are skipped (0 = 0).
    """
    layout: FlowLayout = model.layout
    incidence = network.node_arc_incidence[:, layout.arcs].tocsr()
    indptr, columns, values = incidence.indptr, incidence.indices, incidence.data
    flows = list(model.source_flow.values())  # row-major over (source position, kept arc)
    n_kept = len(layout.arcs)
    rhs = layout.supply / layout.flow_scale

    def rule(m, s, n):
        lo, hi = indptr[n], indptr[n + 1]
        if lo == hi and rhs[s, n] == 0:
            return pyo.Constraint.Skip
        offset = s * n_kept
        expr = linear_expression(values[lo:hi].tolist(),
                                 [flows[offset + c] for c in columns[lo:hi].tolist()])
        return expr == float(rhs[s, n])

    model.flow_conservation = pyo.Constraint(model.SOURCES, model.NODES, rule=rule)


def define_arc_flows(model: pyo.ConcreteModel) -> None:
    """F_a ≥ 0 with F_a − Σ_s x[s, a] = 0 (flow units)."""
    model.arc_flow = pyo.Var(model.ARCS, within=pyo.NonNegativeReals)
    n_sources = len(model.SOURCES)
    n_kept = len(model.ARCS)
    flows = list(model.source_flow.values())
    coefs = [1.0] + [-1.0] * n_sources

    def rule(m, a):
        j = m.ARCS.ord(a) - 1
        return linear_expression(coefs, [m.arc_flow[a]] + flows[j::n_kept]) == 0.0

    model.arc_flow_definition = pyo.Constraint(model.ARCS, rule=rule)


def define_queue_loads(model: pyo.ConcreteModel, network: Network) -> None:
    """F_q = Σ_{a ∈ q} F_a as an expression (one or two arcs per queue).

    ``model.queue_arc_flows[q]`` lists the arc-flow variables of queue q, for builders that need
    rows in F_a directly (a row on the named expression costs Pyomo more to hand to a solver).
    """
    layout: FlowLayout = model.layout
    arcs_of: dict[int, list] = {int(q): [] for q in layout.queues}
    for a, q in zip(layout.arcs.tolist(), network.arc_queue[layout.arcs].tolist()):
        arcs_of[q].append(model.arc_flow[a])
    model.queue_arc_flows = arcs_of
    model.queue_load = pyo.Expression(
        model.QUEUES, rule=lambda m, q: linear_expression([1.0] * len(arcs_of[q]), arcs_of[q]))


def build_multicommodity_model(network: Network, *, arc_mask: np.ndarray | None = None,
                               link_capacity: np.ndarray | None = None,
                               name: str = "multicommodity_flow", per_demand: bool = False) -> pyo.ConcreteModel:
    """A Pyomo model with the flow variables and conservation, without objective.

    Parameters
    ----------
    network : Network
    arc_mask : ndarray of bool, optional
        Arcs that may carry flow (e.g. those of links that are on, or of positive capacity).
    link_capacity : ndarray, optional
        Per-link capacities (rate unit) that set the flow unit; default: installed capacities.
    per_demand : bool
        One commodity per demand instead of one per source node (per-demand arc costs).

    Returns
    -------
    pyomo.environ.ConcreteModel
        Components ``NODES, SOURCES, ARCS, QUEUES, source_flow, flow_conservation, arc_flow,
        arc_flow_definition, queue_load`` and the :class:`FlowLayout` as ``model.layout``.
    """
    model = pyo.ConcreteModel(name=name)
    define_index_sets(model, network, flow_layout(network, arc_mask, link_capacity, per_demand))
    define_source_flows(model)
    define_flow_conservation(model, network)
    define_arc_flows(model)
    define_queue_loads(model, network)
    return model
