"""Rounded cut-set inequalities for modular capacity design (Pyomo builder, never solves).

For a node set S, the demand leaving S, d(S, V∖S), must cross the queues of the arcs leaving S
(the same for the demand entering S).  With the load F_q ≤ u C_q of every queue (utilisation
cap u) and the delay bound Σ_q F_q/(C_q − F_q) ≤ N_max (queueing packets available: γ T_max
less the least fixed-delay packets), the capacity C_S = Σ_{q ∈ δ(S)} C_q across the cut obeys

    C_S ≥ R_S = D_S · max(1/u, 1 + 1/N_max),     D_S = d(S, V∖S),

since F_S = Σ_{q∈δ(S)} F_q ≥ D_S and Σ_{q∈δ(S)} F_q/(C_q − F_q) ≥ F_S/(C_S − F_S) ≥ D_S/(C_S − D_S)
(every C_q − F_q ≤ C_S − F_S).  An undirected link (one queue for both directions) carries
d(S, V∖S) + d(V∖S, S) on the same cut.  In the levels y_i of the MILP this reads
Σ_{i on δ(S)} c_i y_i ≥ R_S, which the LP relaxation already implies through the flows; the
strength is in the **mixed-integer rounding** (MIR) with a divisor λ (a module capacity on the
cut):

    Σ_{i on δ(S)} F(min(c_i, R_S)/λ) y_i ≥ ⌈R_S/λ⌉,     F(a) = ⌊a⌋ + min(a − ⌊a⌋, f)/f,
                                                        f = R_S/λ − ⌈R_S/λ⌉ + 1 ∈ (0, 1].

Valid for every choice of levels: (i) replacing c_i by min(c_i, R_S) keeps the row (a level
that alone covers R_S satisfies both); (ii) Σ_i a_i x_i ≥ b with integers x ≥ 0 gives
Σ_i F(a_i) x_i ≥ ⌈b⌉, the MIR of −Σ a_i x_i ≤ −b (Nemhauser and Wolsey 1988, II.1.7; for b
integer f = 1 and F(a) = a, the row unrounded).  F(a) ≤ ⌈a⌉, so the row dominates the
Chvátal–Gomory rounding Σ ⌈c_i/λ⌉ y_i ≥ ⌈R_S/λ⌉ of the classic cut-set inequalities of network
loading (Magnanti, Mirchandani and Vachani 1993; Barahona 1996; with several module types,
Raack, Koster, Orlowski and Wessäly 2011).  The rows bound capacities from below only, so they
hold for every scenario of a survivable design (the intact one is among them) and for the
listed levels priced at ``bound_cost`` (a combination is replaced by a listed level of no less
capacity).

The sets used are every single node and every pair of linked nodes, with λ the smallest module
on the cut.  Separating the rows on larger node sets from the LP relaxation in a root cut loop
was measured and not kept (benchmarks/BENCHMARKS.md, *Separated cut sets*).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from topo_opt.evaluators.delay import capacity_per_load
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


@dataclass(frozen=True)
class CutSetRow:
    """Σ_j coefficient[j] y_{level[j]} ≥ rhs (levels by index in the flat list)."""

    level: np.ndarray
    coefficient: np.ndarray
    rhs: float


def rounded_row(levels: CapacityLevels, crossing: np.ndarray, required: float, divisor: float) -> CutSetRow:
    """The MIR row of the module docstring: Σ_{i on ``crossing``} c_i y_i ≥ ``required`` rounded
    with λ = ``divisor`` (capacities in the rate unit)."""
    level = np.flatnonzero(np.isin(levels.link, crossing) & (levels.capacity > 0))
    a = np.minimum(levels.capacity[level], required) / divisor
    b = required / divisor
    rhs = math.ceil(b - ROUNDING_TOL)
    f = b - (rhs - 1)
    whole = np.floor(a + ROUNDING_TOL)
    return CutSetRow(level, whole + np.minimum(np.maximum(a - whole, 0.0), f) / f, float(rhs))


def add_cut_set_rows(model: pyo.ConcreteModel, rows: list[CutSetRow]) -> list:
    """Add ``rows`` to ``model.cut_sets`` (created on first use); the new constraint data."""
    if not hasattr(model, "cut_sets"):
        model.cut_sets = pyo.ConstraintList()
    return [model.cut_sets.add(linear_expression(row.coefficient.tolist(),
                                                 [model.level_on[i] for i in row.level.tolist()]) >= row.rhs)
            for row in rows if row.level.size]


def _module_sizes(levels: CapacityLevels, n_links: int) -> list[np.ndarray]:
    """Per network link: the distinct positive capacities of its module types (empty without)."""
    sizes = [np.empty(0)] * n_links
    for position, l in enumerate(np.unique(levels.link).tolist()):
        sizes[l] = np.unique([module.capacity for module in levels.modules[position] if module.capacity > 0])
    return sizes


def add_cut_set_inequalities(model: pyo.ConcreteModel, network: Network, *, max_utilization: float = 1.0,
                             max_queue_packets: float = math.inf) -> list:
    """Add the rows of every single node and linked pair (module docstring, λ the smallest module
    on the cut) to ``model.cut_sets``.

    ``model`` is a modular-capacity model (``levels``, ``level_on``); ``max_queue_packets`` is
    N_max (math.inf without a delay bound).  Returns the new constraint data.
    """
    levels: CapacityLevels = model.levels
    links = np.unique(levels.link)
    factor = capacity_per_load(max_utilization, max_queue_packets)
    sizes = _module_sizes(levels, network.n_links)
    required: dict[tuple[int, ...], float] = {}
    for inside in candidate_node_sets(network):
        for crossing, demand in cut_requirements(network, inside, links):
            key = tuple(crossing.tolist())
            if demand > 0 and key:
                required[key] = max(required.get(key, 0.0), demand * factor)
    rows = []
    for key, need in required.items():
        module = min((float(sizes[l][0]) for l in key if sizes[l].size), default=need)  # none: installed only
        rows.append(rounded_row(levels, np.asarray(key), need, module))
    return add_cut_set_rows(model, rows)
