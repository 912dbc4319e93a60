"""EARP-style energy-aware routing heuristic (Gelenbe and Morfopoulou 2011; models.md §4).

Flows are routed one at a time, largest rate first, starting from a network where every router
and link is off.  For each flow, among its candidate paths (the ``k`` shortest loop-free paths
by zero-load delay Σ_a (L̄/C_a + τ_a)) that

* keep every link at utilisation ≤ α,
* give the flow an end-to-end delay ≤ D_max (each arc's M/M/1 sojourn 1/(μ − λ) at the loads
  with the flow added, plus propagation and tail-node processing), and
* keep the average delay of the flows routed so far ≤ T_max,

it takes the one with the least incremental power
(:func:`topo_opt.evaluators.power.incremental_power_w`: chassis and ports it switches on plus
the load power it adds), ties broken by the smaller delay.  Later flows raise the delay of
earlier ones, so the finished design is evaluated again (true per-demand and network delays);
while a bound is violated a repair pass moves flows, largest first, to the candidate that
lowers the worst relative violation max(T/T_max, max_k D_k/D_max).

Reference: E. Gelenbe and C. Morfopoulou, "A framework for energy-aware routing in packet
networks", The Computer Journal 54(6), 2011 (EARP: energy-aware routing protocol).
"""
from __future__ import annotations

import math
import time

import numpy as np

from topo_opt.algorithms.path_enumeration import k_shortest_paths
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.evaluators.delay import DelayObjective, arc_delay_s, zero_load_delay_s
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.evaluators.power import NodePowerModel, Profiles, incremental_power_w, network_power, powered_elements
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status

DEFAULT_CANDIDATES = 8
#: Relative tolerance on the delay bounds (rounding).
BOUND_RTOL = 1e-9


class _State:
    """Arc flows, on/off states and path choices of the partial design."""

    def __init__(self, network: Network, power: NodePowerModel, alpha: float):
        self.network, self.power = network, power
        self.flow = np.zeros(network.n_arcs)
        self.link_on = np.zeros(network.n_links, dtype=bool)
        self.node_on = np.zeros(network.n_nodes, dtype=bool)
        self.capacity = network.queue_capacity()
        self.limit = alpha * self.capacity
        self.chosen = np.full(network.n_demands, -1, dtype=np.int64)

    def path_delay_s(self, path: np.ndarray, extra: float) -> float:
        """End-to-end delay (s) of ``path`` once ``extra`` more flow runs on it; inf if saturated."""
        flow = self.flow.copy()
        np.add.at(flow, path, extra)
        return float(arc_delay_s(self.network, flow, self.capacity)[path].sum())

    def fits(self, path: np.ndarray, extra: float) -> bool:
        net = self.network
        load = net.queue_load(self.flow)
        np.add.at(load, net.arc_queue[path], extra)
        q = net.arc_queue[path]
        return bool(np.all(load[q] <= self.limit[q] * (1 + BOUND_RTOL)))

    def add(self, path: np.ndarray, rate: float) -> None:
        np.add.at(self.flow, path, rate)
        self.link_on[self.network.arc_link[path]] = True
        self.node_on[self.network.arc_tail[path]] = True
        self.node_on[self.network.arc_head[path]] = True


def _violation(network: Network, design: Design, objective: DelayObjective,
               max_delay_s: float | None, max_demand_delay_s: float | None) -> tuple[float, float, float]:
    """(worst relative violation, network T in s, worst demand delay in s); ≤ 1 means met."""
    metrics = evaluate_design(network, design)
    t = objective.value(design.arc_flow(network))
    worst = float(np.max(metrics.demand_delay_s)) if not metrics.saturated else math.inf
    ratios = [0.0]
    if max_delay_s is not None:
        ratios.append(t / max_delay_s)
    if max_demand_delay_s is not None:
        ratios.append(worst / max_demand_delay_s)
    return max(ratios), t, worst


def solve_earp(network: Network, profiles: Profiles, *, max_demand_delay_s: float | None = None,
               max_delay_s: float | None = None, max_utilization: float = 1.0,
               n_candidates: int = DEFAULT_CANDIDATES, candidates: list[list[np.ndarray]] | None = None,
               include_fixed_delay: bool = True, max_repair_passes: int = 20) -> SolveResult:
    """Energy-aware single-path routing by the EARP-style greedy rule (module docstring).

    Parameters
    ----------
    network : Network
    profiles : PowerProfile, mapping node id -> PowerProfile, or NodePowerModel
        Any load shape.
    max_demand_delay_s : float, optional
        D_max (s): end-to-end delay bound of every flow (queueing + propagation + processing).
    max_delay_s : float, optional
        T_max (s): bound on the average network delay.
    max_utilization : float
        α in (0, 1]: utilisation cap of every link.
    n_candidates : int
        Candidate paths per demand (k shortest by zero-load delay), when ``candidates`` is None.
    candidates : list of list of ndarray, optional
        Candidate paths (arc arrays) per demand, e.g. reused across a sweep of bounds.
    include_fixed_delay : bool
        T (network bound) includes propagation and processing; per-demand delays always do.
    max_repair_passes : int
        Passes of the repair phase over all flows.

    Returns
    -------
    SolveResult
        ``method = "earp"``, ``objective_name = "total_power_w"`` (W), status ``FEASIBLE``, no
        lower bound; ``details``: ``average_delay_s``, ``max_demand_delay_s``,
        ``delay_bound_met``, ``links_off``, ``nodes_off``, ``n_candidates``.

    Raises
    ------
    InfeasibleError
        A flow with no candidate path within the utilisation cap (names the demand), or bounds
        still violated after the repair passes (a heuristic failure, not a proof).
    InvalidInputError
        α outside (0, 1], a bound ≤ 0, n_candidates < 1.
    """
    start = time.perf_counter()
    if not 0 < max_utilization <= 1:
        raise InvalidInputError(f"max_utilization must be in (0, 1], got {max_utilization!r}")
    for name, value in (("max_demand_delay_s", max_demand_delay_s), ("max_delay_s", max_delay_s)):
        if value is not None and not value > 0:
            raise InvalidInputError(f"{name} must be > 0 s, got {value!r}")
    if n_candidates < 1:
        raise InvalidInputError(f"n_candidates must be >= 1, got {n_candidates!r}")
    power = NodePowerModel.for_network(network, profiles)
    objective = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay)
    objective.require_positive_capacity()
    if candidates is None:
        candidates = k_shortest_paths(network, zero_load_delay_s(network), n_candidates)
    rate = network.demand_rate
    state = _State(network, power, max_utilization)
    routed_rate = 0.0
    for k in np.argsort(-rate, kind="stable").tolist():
        scores = []
        for c, path in enumerate(candidates[k]):
            if not state.fits(path, rate[k]):
                continue
            delay = state.path_delay_s(path, rate[k])
            if max_demand_delay_s is not None and delay > max_demand_delay_s * (1 + BOUND_RTOL):
                continue
            if max_delay_s is not None:
                flow = state.flow.copy()
                np.add.at(flow, path, rate[k])
                partial = objective.value(flow) * network.total_demand / (routed_rate + rate[k])
                if partial > max_delay_s * (1 + BOUND_RTOL):
                    continue
            added = incremental_power_w(network, power, state.flow, state.link_on, state.node_on,
                                        path, rate[k])
            scores.append((added, delay, c))
        if not scores:
            scores = [(math.inf, state.path_delay_s(p, rate[k]), c)
                      for c, p in enumerate(candidates[k]) if state.fits(p, rate[k])]
            if not scores:
                d = network.demands[k]
                raise InfeasibleError(
                    f"EARP: demand {d.id!r} ({d.source!r} -> {d.target!r}) fits on none of its "
                    f"{len(candidates[k])} candidate paths below utilisation {max_utilization:g}",
                    {"reason": "heuristic", "demand": d.id})
        _, _, best = min(scores)
        state.chosen[k] = best
        state.add(candidates[k][best], rate[k])
        routed_rate += rate[k]

    pool = Routing.from_lists(candidates, fraction=1.0)
    first = pool.demand_ptr(network.n_demands)[:-1]

    def design_of(chosen: np.ndarray) -> Design:
        routing = pool.select(first + chosen)  # candidate chosen[k] of every demand k
        flow = routing.arc_flow(rate, network.n_arcs)
        link_on, node_on = powered_elements(network, flow)
        return Design.for_network(network, routing, link_on=link_on, node_on=node_on)

    chosen = state.chosen.copy()
    design = design_of(chosen)
    violation, t, worst = _violation(network, design, objective, max_delay_s, max_demand_delay_s)
    passes = 0
    while violation > 1 + BOUND_RTOL and passes < max_repair_passes:
        passes += 1
        improved = False
        for k in np.argsort(-rate, kind="stable").tolist():
            for c in range(len(candidates[k])):
                if c == chosen[k]:
                    continue
                trial = chosen.copy()
                trial[k] = c
                trial_design = design_of(trial)
                if not np.all(network.queue_load(trial_design.arc_flow(network))
                              <= state.limit * (1 + BOUND_RTOL)):
                    continue
                v, tt, ww = _violation(network, trial_design, objective, max_delay_s, max_demand_delay_s)
                if v < violation * (1 - 1e-12):
                    chosen, design, violation, t, worst, improved = trial, trial_design, v, tt, ww, True
            if violation <= 1 + BOUND_RTOL:
                break
        if not improved:
            break
    met = violation <= 1 + BOUND_RTOL
    if not met:
        raise InfeasibleError(
            f"EARP: the heuristic found no design meeting the delay bounds among {n_candidates} "
            f"candidate paths per demand (best: T = {t:.6g} s, worst demand delay {worst:.6g} s)",
            {"reason": "heuristic", "average_delay_s": t, "max_demand_delay_s": worst})
    value = network_power(network, design, power).total_w
    return SolveResult(
        Status.FEASIBLE, "earp", "total_power_w", "W", objective=value, design=design,
        solve_time_s=time.perf_counter() - start, iterations=passes,
        message="EARP-style greedy with repair (no lower bound)",
        details={"average_delay_s": t, "max_demand_delay_s": worst, "delay_bound_met": met,
                 "max_delay_s": max_delay_s, "max_demand_delay_bound_s": max_demand_delay_s,
                 "max_utilization_cap": max_utilization, "include_fixed_delay": include_fixed_delay,
                 "n_candidates": n_candidates, "repair_passes": passes,
                 "links_off": [network.links[i].id for i in np.flatnonzero(~design.link_on).tolist()],
                 "nodes_off": [network.nodes[i].id for i in np.flatnonzero(~design.node_on).tolist()],
                 "lower_bound_source": "none (heuristic)"})
