"""Metric inequalities: which queue loads can carry the demands (separation by one LP).

Loads L_q (rate unit, per queue) can carry every demand — some routing has queue loads ≤ L —
if and only if, for every weight vector μ ≥ 0 on the queues,

    Σ_q μ_q L_q  ≥  Σ_k r_k dist_μ(s_k, t_k),                                  (metric inequality)

dist_μ the shortest-path distance with arc lengths μ_{q(a)} (the "Japanese theorem": Iri 1971,
Onaga and Kakusho 1971; its use in network loading: Avella, Mattia and Sassano 2007, *Metric
inequalities and the network loading problem*, Discrete Optim. 4).  Each inequality holds for
every routing, whatever μ: a routing's Σ_q μ_q L_q is Σ_k r_k times the mean μ-length of k's
paths, at least the shortest.  The right side is computed here by Dijkstra from μ itself, so a
cut stays valid even when the μ that found it is inexact.

Separation at loads L*: the LP  min Σ_q e_q  s.t. source-aggregated flows x carry the demands,
Σ_{a∈q} Σ_s x_{s,a} − e_q ≤ L*_q,  x, e ≥ 0.  Its optimum is 0 iff L* can carry the demands;
otherwise the duals μ ∈ [0, 1] of the load rows give a metric inequality that L* violates by
the LP value (LP duality).  Solved by HiGHS (:func:`scipy.optimize.linprog`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from topo_opt.algorithms.shortest_paths import ArcGraph, demand_distances, shortest_path_forest
from topo_opt.errors import InfeasibleError, TopoOptError
from topo_opt.model.network import Network

#: A cut is returned only when L* violates it by more than this share of its right side.
VIOLATION_TOL = 1e-6


@dataclass(frozen=True)
class MetricInequality:
    """Σ_q ``weight[q]`` L_q ≥ ``rhs`` (weights per network queue, rhs in rate units)."""

    weight: np.ndarray
    rhs: float

    def violation(self, load: np.ndarray) -> float:
        """rhs − Σ μ_q L_q at ``load`` (per network queue, rate unit): > 0 when violated."""
        return self.rhs - float(self.weight @ load)


def metric_inequality(network: Network, weight: np.ndarray, arc_mask: np.ndarray) -> MetricInequality:
    """The metric inequality of queue weights ``weight`` (≥ 0) over the arcs ``arc_mask``.

    The right side is +inf when some demand has no path over ``arc_mask`` (no loads can carry
    the demands).
    """
    weight = np.maximum(np.asarray(weight, float), 0.0)
    length = np.where(arc_mask, weight[network.arc_queue], np.inf)
    forest = shortest_path_forest(ArcGraph.from_network(network), length, network.demand_source)
    distance = demand_distances(forest, network)
    return MetricInequality(weight, float(network.demand_rate @ distance))


def separate_metric_inequality(network: Network, load: np.ndarray,
                               arc_mask: np.ndarray) -> MetricInequality | None:
    """A metric inequality violated by the queue loads ``load`` (rate unit, per network queue)
    over the arcs ``arc_mask``, or None when those loads can carry the demands (module doc).

    Raises
    ------
    InfeasibleError
        Some demand has no path over ``arc_mask``.
    """
    arcs = np.flatnonzero(arc_mask)
    origins, origin_of_demand = np.unique(network.demand_source, return_inverse=True)
    queues = np.unique(network.arc_queue[arcs])
    n_s, n_a, n_q = len(origins), len(arcs), len(queues)
    scale = float(network.demand_rate.max())  # LP numbers O(1) whatever the rate unit
    supply = np.zeros((n_s, network.n_nodes))
    np.add.at(supply, (origin_of_demand, network.demand_source), network.demand_rate / scale)
    np.add.at(supply, (origin_of_demand, network.demand_target), -network.demand_rate / scale)
    balance = sp.hstack([sp.kron(sp.identity(n_s), network.node_arc_incidence[:, arcs]),
                         sp.csr_matrix((n_s * network.n_nodes, n_q))])
    row_of_arc = np.searchsorted(queues, network.arc_queue[arcs])
    queue_of_arc = sp.csr_matrix((np.ones(n_a), (row_of_arc, np.arange(n_a))), shape=(n_q, n_a))
    load_rows = sp.hstack([sp.kron(np.ones((1, n_s)), queue_of_arc), -sp.identity(n_q)])
    cost = np.concatenate([np.zeros(n_s * n_a), np.ones(n_q)])
    lp = linprog(cost, A_ub=load_rows.tocsc(), b_ub=np.maximum(load[queues], 0.0) / scale,
                 A_eq=balance.tocsc(), b_eq=supply.ravel(), bounds=(0, None), method="highs")
    if lp.status == 2:
        raise InfeasibleError(f"{network.name}: some demand has no path over the links that can get capacity")
    if lp.status != 0:
        raise TopoOptError(f"{network.name}: the metric separation LP did not solve: {lp.message}")
    if lp.fun <= VIOLATION_TOL * network.total_demand / scale:
        return None
    weight = np.zeros(network.n_queues)
    weight[queues] = np.clip(-lp.ineqlin.marginals, 0.0, None)
    if not weight.any():
        return None
    cut = metric_inequality(network, weight / weight.max(), arc_mask)
    return cut if cut.violation(load) > VIOLATION_TOL * cut.rhs else None
