"""Rounded cut-set inequalities for modular capacity design (Pyomo builder, never solves).

For a node set S, the demand leaving S, d(S, V∖S), must cross the queues of the arcs leaving S
(the same for the demand entering S).  With the load F_q ≤ u C_q of every queue (utilisation
cap u) and the delay bound Σ_q F_q/(C_q − F_q) ≤ N_max (queueing packets available: γ T_max
less the least fixed-delay packets), the capacity C_S = Σ_{q ∈ δ(S)} C_q across the cut obeys

    C_S ≥ D_S · max(1/u, 1 + 1/N_max),     D_S = d(S, V∖S),

since F_S = Σ_{q∈δ(S)} F_q ≥ D_S and Σ_{q∈δ(S)} F_q/(C_q − F_q) ≥ F_S/(C_S − F_S) ≥ D_S/(C_S − D_S)
(every C_q − F_q ≤ C_S − F_S).  An undirected link (one queue for both directions) carries
d(S, V∖S) + d(V∖S, S) on the same cut.  In the levels y_i of the MILP this reads
Σ_{i on δ(S)} c_i y_i ≥ R_S, which the LP relaxation already implies through the flows; the
strength is in the **Chvátal–Gomory rounding** with the smallest module capacity m on the cut:

    Σ_{i on δ(S)} ⌈c_i/m⌉ y_i ≥ ⌈R_S/m⌉,

valid because the left side is an integer at least Σ c_i y_i/m ≥ R_S/m (the classic cut-set
inequalities of network loading, Magnanti, Mirchandani and Vachani 1993; Barahona 1996).  The
sets used are every single node and every pair of linked nodes.
"""
from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo

from topo_opt.formulations.multicommodity import linear_expression
from topo_opt.model.costs import CapacityLevels
from topo_opt.model.network import Network

#: Tolerance of the rounding ⌈x − ε⌉ (module counts are integers up to float noise).
ROUNDING_TOL = 1e-9


def candidate_node_sets(network: Network) -> list[np.ndarray]:
    """Every single node and both ends of every link (as boolean node masks, duplicates once)."""
    seen, sets = set(), []
    for members in [(v,) for v in range(network.n_nodes)] + sorted(
            {tuple(sorted(pair)) for pair in zip(network.link_source.tolist(), network.link_target.tolist())}):
        if members not in seen and len(set(members)) == len(members):
            seen.add(members)
            mask = np.zeros(network.n_nodes, dtype=bool)
            mask[list(members)] = True
            sets.append(mask)
    return sets


def cut_requirements(network: Network, inside: np.ndarray, links: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """(crossing links, demand to carry) of the cut around ``inside``, per direction (one
    undirected row), counting only ``links`` (the links that can get capacity)."""
    tail_in, head_in = inside[network.arc_tail], inside[network.arc_head]
    usable = np.isin(network.arc_link, links)
    source_in, target_in = inside[network.demand_source], inside[network.demand_target]
    rate = network.demand_rate
    out_arcs, in_arcs = usable & tail_in & ~head_in, usable & ~tail_in & head_in
    out_demand = float(rate[source_in & ~target_in].sum())
    in_demand = float(rate[~source_in & target_in].sum())
    if network.link_model == "undirected":
        return [(np.unique(network.arc_link[out_arcs | in_arcs]), out_demand + in_demand)]
    return [(np.unique(network.arc_link[arcs]), demand) for arcs, demand in ((out_arcs, out_demand), (in_arcs, in_demand))]


def add_cut_set_inequalities(model: pyo.ConcreteModel, network: Network, *, max_utilization: float = 1.0,
                             max_queue_packets: float = math.inf) -> list:
    """Add the rounded cut-set inequalities of the module docstring to ``model.cut_sets``.

    ``model`` is a modular-capacity model (``levels``, ``level_on``); ``max_queue_packets`` is
    N_max (math.inf without a delay bound).  Returns the new constraint data.
    """
    levels: CapacityLevels = model.levels
    links = np.unique(levels.link)
    factor = max(1.0 / max_utilization, 1.0 + 1.0 / max_queue_packets)
    smallest_module = np.full(network.n_links, math.inf)
    for position, l in enumerate(links.tolist()):
        sizes = [module.capacity for module in levels.modules[position] if module.capacity > 0]
        smallest_module[l] = min(sizes, default=math.inf)
    rows: dict[tuple[int, ...], float] = {}
    for inside in candidate_node_sets(network):
        for crossing, demand in cut_requirements(network, inside, links):
            key = tuple(crossing.tolist())
            if demand > 0 and key:
                rows[key] = max(rows.get(key, 0.0), demand * factor)
    if not hasattr(model, "cut_sets"):
        model.cut_sets = pyo.ConstraintList()
    added = []
    for key, required in rows.items():
        module = smallest_module[list(key)].min()
        if not math.isfinite(module):  # only levels without modules (installed capacity kept)
            module = required
        mine = np.flatnonzero(np.isin(levels.link, key) & (levels.capacity > 0))
        coefficient = np.ceil(levels.capacity[mine] / module - ROUNDING_TOL)
        rhs = math.ceil(required / module - ROUNDING_TOL)
        if mine.size:
            added.append(model.cut_sets.add(linear_expression(
                coefficient.tolist(), [model.level_on[i] for i in mine.tolist()]) >= rhs))
    return added

