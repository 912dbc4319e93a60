"""Worst-case end-to-end delay bounds of shaped traffic on a design (network calculus).

The description (:class:`ServerFlowSystem`) is built once from a network, a design and the
traffic descriptors (:mod:`topo_opt.model.traffic`); each analysis is a separate strategy over
it (as DiscoDNC and panco do), and an unbounded result is a result (``inf`` with its reason),
never an exception or a finite wrong number.

* **Servers** -- one per transmission queue (:attr:`Network.arc_queue`; both directions of an
  ``undirected`` link share one), FIFO, strict rate-latency β_{R,T}: R the queue's capacity,
  T = M/R + processing at the node that sends onto it (M the largest packet).
* **Flows** -- one per used routing path of a demand: the demand's dual-bucket arrival curve
  min(p t + M, β + f ρ t) with f the path's fraction.  The burst is *not* divided among paths (a
  hash split can send a whole burst one way); the rate is.  Propagation is a pure delay and is
  added to the bound, it does not change arrival curves.

Strategies (Le Boudec and Thiran, *Network Calculus*, 2001, §6.2–6.4; Schmitt and Zdarsky,
DiscoDNC, 2006; Bouillard, Boyer and Le Corronc, *Deterministic Network Calculus*, 2018):

``tfa`` -- total flow analysis: per server the FIFO delay of the aggregate,
    D_s = h(Σ_{f∋s} α_f(· + Σ_{u before s on f} D_u), β_s); a flow's bound is Σ_{s∈f} D_s.
    With token buckets D = c + A D, A_{su} = Σ_{f: u before s} r_f/R_s.
``sfa`` -- separated flow analysis with pay-bursts-only-once: at every hop a flow gets the
    blind-multiplexing leftover β_{R−r_x, (b_x+RT)/(R−r_x)} (r_x, b_x: the other flows' rate and
    bursts there); the hops are concatenated, β = β_{min R_left, Σ T_left}, and the source
    curve pays its burst once: bound h(α_f, β).  The bursts σ of every flow at every hop solve
    σ_{f,j+1} = σ_{f,j} + r_f (b_x + R T)/(R − r_x) (the output of the leftover server), again
    σ = b + M σ (NCBounds' ``SFAFixPointAnalyzer``).
``regulated`` -- interleaved regulators at every hop reshape each flow to its source curve, so
    the bursts never grow and D_s = h(Σ_{f∋s} α_f, β_s) = T_s + Σ β_f/R_s (token buckets):
    finite whenever every server's load is below its rate, and convex in the capacities.
    Shaping is for free: the bound of FIFO server plus regulator equals the FIFO bound
    (Le Boudec, *A theory of traffic regulators for deterministic networks with application
    to interleaved regulators*, IEEE/ACM ToN 26(6), 2018).  It is the bound of a network *with*
    regulators, not of this one without them.

**Cyclic dependencies** (every real topology under min-hop routing has them): the bursts
depend on each other around cycles, so x = b + M x has a finite non-negative solution only
when the spectral radius ρ(M) < 1.  The time-stopping argument (L&T §6.4.2) shows that the
true bursts satisfy x ≤ b + M x; if some v > 0 satisfies b + M v ≤ v then ρ(M) < 1 and
x ≤ (I − M)⁻¹ b ≤ v.  :func:`certified_fixed_point` iterates x ← b + M x (monotone from
below), extrapolates, and accepts a bound only after checking b + M v ≤ v in floating point;
its ``contraction`` max_i (M v)_i / v_i < 1 bounds ρ(M) (Collatz–Wielandt).  Otherwise every
flow is reported unbounded with the estimated spectral radius: ``inf``, never a finite guess.
The peak-rate pieces are then used in a few monotone steps D ← Φ(D) from the token-bucket
fixed point, each of which stays a valid bound (Φ is monotone and x ≤ Φ(x)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.network_calculus import (
    ArrivalCurve, RateLatency, aggregate, delay_bound,
)
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.traffic import TrafficDescriptors

METHODS = ("tfa", "sfa", "regulated")
MAX_ITERATIONS = 20_000
PEAK_REFINEMENTS = 20
_CERTIFY_MARGIN = 1e-9


@dataclass(frozen=True)
class ServerFlowSystem:
    """Servers (rate-latency) and flows (arrival curve, path of servers) of one design.

    Paths are flat like :class:`~topo_opt.model.design.Routing`: flow f crosses servers
    ``flow_servers[flow_indptr[f]:flow_indptr[f+1]]`` in order.  Rates in the network's rate unit,
    bursts in rate unit × s, times in s.
    """

    server_rate: np.ndarray
    server_latency_s: np.ndarray
    flow_curve: tuple[ArrivalCurve, ...]
    flow_indptr: np.ndarray
    flow_servers: np.ndarray
    flow_fixed_delay_s: np.ndarray
    server_name: tuple[str, ...] = ()
    flow_demand: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def build(cls, rates, latencies, flows, fixed=None, names=()) -> "ServerFlowSystem":
        """From ``flows`` = [(ArrivalCurve, [server, ...]), ...] (for tests and small examples)."""
        curves = tuple(curve for curve, _ in flows)
        lengths = [len(path) for _, path in flows]
        indptr = np.zeros(len(flows) + 1, np.int64)
        np.cumsum(lengths, out=indptr[1:])
        servers = np.asarray([s for _, path in flows for s in path], np.int64)
        fixed = np.zeros(len(flows)) if fixed is None else np.asarray(fixed, float)
        return cls(np.asarray(rates, float), np.asarray(latencies, float), curves, indptr, servers,
                   fixed, tuple(names), np.arange(len(flows)))

    @property
    def n_servers(self) -> int:
        return len(self.server_rate)

    @property
    def n_flows(self) -> int:
        return len(self.flow_curve)

    @property
    def hop_flow(self) -> np.ndarray:
        """Flow of each hop (a hop = one flow at one server)."""
        return np.repeat(np.arange(self.n_flows), np.diff(self.flow_indptr))

    @property
    def flow_rate(self) -> np.ndarray:
        return np.array([c.rate for c in self.flow_curve])

    @property
    def flow_burst(self) -> np.ndarray:
        """Burst of each flow's token-bucket part (the long-term piece)."""
        return np.array([c.token_bucket_part[0] for c in self.flow_curve])

    def server_load(self) -> np.ndarray:
        """Σ_{f∋s} r_f per server (rate unit)."""
        return np.bincount(self.flow_servers, weights=self.flow_rate[self.hop_flow],
                           minlength=self.n_servers)

    def first_hop(self) -> np.ndarray:
        """True at each flow's first hop."""
        first = np.zeros(len(self.flow_servers), bool)
        first[self.flow_indptr[:-1][np.diff(self.flow_indptr) > 0]] = True
        return first

    def upstream_sum(self, per_hop: np.ndarray) -> np.ndarray:
        """For each hop, the sum of ``per_hop`` over the same flow's earlier hops."""
        total = np.cumsum(per_hop) - per_hop  # exclusive prefix sums over all hops
        lengths = np.diff(self.flow_indptr)
        starts = np.minimum(self.flow_indptr[:-1], max(len(per_hop) - 1, 0))
        return total - np.repeat(total[starts], lengths) if len(per_hop) else total


def describe(network: Network, design: Design, traffic: TrafficDescriptors) -> ServerFlowSystem:
    """The servers and flows of ``design`` (see the module docstring)."""
    if len(traffic.burst) != network.n_demands:
        raise InvalidInputError(f"traffic descriptors for {len(traffic.burst)} demands, network "
                                f"{network.name!r} has {network.n_demands}")
    capacity = np.where(np.asarray(design.link_on, bool), design.link_capacity, 0.0)
    rate = network.queue_capacity(capacity)
    processing = np.zeros(network.n_queues)
    np.maximum.at(processing, network.arc_queue, network.node_processing_s[network.arc_tail])
    with np.errstate(divide="ignore"):
        latency = np.where(rate > 0, traffic.max_packet / np.where(rate > 0, rate, 1.0), math.inf) + processing
    routing = design.routing
    used = np.flatnonzero(routing.fraction > 0)
    curves, servers, lengths, fixed = [], [], [], []
    for p in used.tolist():
        k = int(routing.demand[p])
        arcs = routing.path_arcs(p)
        curves.append(ArrivalCurve.dual_bucket(traffic.burst[k], routing.fraction[p] * traffic.token_rate[k],
                                               traffic.peak_rate[k], traffic.max_packet))
        servers.append(network.arc_queue[arcs])
        lengths.append(len(arcs))
        fixed.append(float(network.arc_propagation_s[arcs].sum()))
    indptr = np.zeros(len(used) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    arc_of_queue = np.empty(network.n_queues, np.int64)
    arc_of_queue[network.arc_queue[::-1]] = np.arange(network.n_arcs)[::-1]
    names = tuple(f"{network.links[network.arc_link[a]].id} from {network.nodes[network.arc_tail[a]].id}"
                  for a in arc_of_queue)
    return ServerFlowSystem(rate, latency, tuple(curves), indptr,
                            np.concatenate(servers) if servers else np.zeros(0, np.int64),
                            np.asarray(fixed, float), names, routing.demand[used])


# ---------------------------------------------------------------------------- fixed point
@dataclass(frozen=True)
class FixedPoint:
    """Outcome of :func:`certified_fixed_point`.

    ``value`` is a certified upper bound on the least solution of x = b + M x (None when none
    was certified); ``contraction`` = max_i (M v)_i / v_i ≥ ρ(M) at the certified v (NaN if
    none); ``spectral_radius`` the ratio of successive increments (an estimate); ``residual``
    max_i (b + M v − v)_i / v_i (≤ 0 when certified).
    """

    value: np.ndarray | None
    iterations: int
    contraction: float
    spectral_radius: float
    residual: float


def certified_fixed_point(b: np.ndarray, matvec: Callable[[np.ndarray], np.ndarray],
                          max_iterations: int = MAX_ITERATIONS, rtol: float = 1e-12) -> FixedPoint:
    """Least solution of x = b + M x for M ≥ 0 (given by ``matvec``) and b > 0, certified.

    Iterates x_{k+1} = b + M x_k from x_0 = b (non-decreasing).  A candidate v (the iterate
    pushed by the geometric tail of its increments, then times 1 + 1e-9) is accepted only when
    b + M v ≤ v holds in floating point: then ρ(M) ≤ max (Mv)/v < 1 and v bounds the least
    solution.  Stops unbounded when the increments stop shrinking or at ``max_iterations``.
    """
    x = np.asarray(b, float).copy()
    if x.size == 0:
        return FixedPoint(x, 0, 0.0, 0.0, 0.0)
    last_step, ratio = math.inf, math.nan
    for k in range(1, max_iterations + 1):
        new = b + matvec(x)
        step = float(np.max(new - x))
        x = new
        ratio = step / last_step if last_step > 0 else 0.0
        last_step = step
        if not np.all(np.isfinite(x)) or float(x.max()) > 1e300:
            return FixedPoint(None, k, math.nan, ratio, math.inf)
        if step <= rtol * float(x.max()) or (k % 10 == 0 and ratio < 1):
            tail = 0.0 if step <= rtol * float(x.max()) else step * ratio / (1.0 - ratio)
            for margin in (0.0, _CERTIFY_MARGIN):  # exact when the iteration has stopped moving
                v = (x + tail) * (1.0 + margin)
                mv = matvec(v)
                if np.all(b + mv <= v):
                    with np.errstate(invalid="ignore", divide="ignore"):
                        contraction = float(np.max(np.where(v > 0, mv / v, 0.0)))
                        residual = float(np.max(np.where(v > 0, (b + mv - v) / v, 0.0)))
                    return FixedPoint(v, k, contraction, ratio, residual)
        if k >= 200 and ratio >= 1.0 - 1e-12:
            break
    return FixedPoint(None, k, math.nan, ratio, math.inf)


# ---------------------------------------------------------------------------- strategies
@dataclass(frozen=True)
class WorstCaseBounds:
    """The bounds of one strategy.

    ``flow_delay_s`` per flow (end to end, propagation included; ``inf`` = unbounded),
    ``server_delay_s`` per server for the per-hop strategies (None for ``sfa``), ``hop_burst``
    the token-bucket burst of each flow entering each hop (flat, in path order; None for
    ``regulated``, where it is the source burst), ``message`` says why a bound is infinite,
    ``iterations``/``contraction``/``spectral_radius``/``residual`` describe the burst fixed
    point (0 / NaN where there is none).
    """

    method: str
    flow_delay_s: np.ndarray
    server_delay_s: np.ndarray | None
    message: str = ""
    hop_burst: np.ndarray | None = None
    iterations: int = 0
    contraction: float = math.nan
    spectral_radius: float = math.nan
    residual: float = math.nan

    @property
    def bounded(self) -> bool:
        return bool(np.all(np.isfinite(self.flow_delay_s)))


def _overloaded(system: ServerFlowSystem) -> tuple[np.ndarray, str]:
    load = system.server_load()
    over = (load > system.server_rate) | ((load > 0) & ~np.isfinite(system.server_latency_s))
    if not over.any():
        return over, ""
    s = int(np.flatnonzero(over)[0])
    name = system.server_name[s] if system.server_name else str(s)
    return over, (f"{int(over.sum())} server(s) overloaded, e.g. {name}: load {load[s]:.6g} > "
                  f"rate {system.server_rate[s]:.6g}")


def _tainted_flows(system: ServerFlowSystem, bad_server: np.ndarray) -> np.ndarray:
    hop_bad = bad_server[system.flow_servers]
    return np.bincount(system.hop_flow, weights=hop_bad, minlength=system.n_flows) > 0


def _per_hop_total(system: ServerFlowSystem, server_delay: np.ndarray) -> np.ndarray:
    total = np.bincount(system.hop_flow, weights=server_delay[system.flow_servers], minlength=system.n_flows)
    return total + system.flow_fixed_delay_s


def _server_delays(system: ServerFlowSystem, hop_shift: np.ndarray) -> np.ndarray:
    """D_s = h(Σ_{f∋s} α_f(· + shift_hop), β_s) for every server.

    Token buckets only: the closed form T_s + Σ (b_f + r_f shift)/R_s (inf when Σ r_f > R_s),
    vectorised; otherwise the aggregate curve of each server.
    """
    if all(len(curve.rates) == 1 for curve in system.flow_curve):
        rate = system.flow_rate[system.hop_flow]
        burst = system.flow_burst[system.hop_flow] + rate * hop_shift
        total = np.bincount(system.flow_servers, weights=burst, minlength=system.n_servers)
        load = np.bincount(system.flow_servers, weights=rate, minlength=system.n_servers)
        carried = np.bincount(system.flow_servers, minlength=system.n_servers) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            delay = system.server_latency_s + total / system.server_rate
        delay = np.where(load > system.server_rate, np.inf, delay)
        return np.where(carried, delay, 0.0)
    by_server: dict[int, list[ArrivalCurve]] = {}
    flows = system.hop_flow
    for hop, s in enumerate(system.flow_servers.tolist()):
        by_server.setdefault(s, []).append(system.flow_curve[flows[hop]].shift(float(hop_shift[hop])))
    delay = np.zeros(system.n_servers)
    for s, curves in by_server.items():
        delay[s] = delay_bound(aggregate(curves),
                               RateLatency(float(system.server_rate[s]), float(system.server_latency_s[s])))
    return delay


def regulated(system: ServerFlowSystem) -> WorstCaseBounds:
    """Per-hop bounds with interleaved regulators: D_s = h(Σ_{f∋s} α_f, β_s), flow Σ D_s."""
    over, message = _overloaded(system)
    delay = _server_delays(system, np.zeros(len(system.flow_servers)))
    delay[over] = math.inf
    return WorstCaseBounds("regulated", _per_hop_total(system, delay), delay, message)


def total_flow_analysis(system: ServerFlowSystem) -> WorstCaseBounds:
    """FIFO total flow analysis with burst growth and a certified fixed point (module docstring)."""
    over, message = _overloaded(system)
    # servers downstream of an overloaded one on some flow inherit an infinite burst
    bad = over.copy()
    while True:
        hop_bad = system.upstream_sum(bad[system.flow_servers].astype(float)) > 0
        spread = np.bincount(system.flow_servers, weights=hop_bad, minlength=system.n_servers) > 0
        if not np.any(spread & ~bad):
            break
        bad |= spread
    rate = np.where(bad, 1.0, system.server_rate)
    hop_rate = system.flow_rate[system.hop_flow]
    keep = ~bad[system.flow_servers]
    burst_per_server = np.bincount(system.flow_servers[keep], weights=system.flow_burst[system.hop_flow][keep],
                                   minlength=system.n_servers)
    c = np.where(bad, 0.0, system.server_latency_s + burst_per_server / rate)

    def matvec(d: np.ndarray) -> np.ndarray:
        upstream = system.upstream_sum(d[system.flow_servers])
        return np.bincount(system.flow_servers[keep], weights=(hop_rate * upstream)[keep],
                           minlength=system.n_servers) / rate

    fp = certified_fixed_point(c, matvec)
    if fp.value is None:
        flows = np.full(system.n_flows, math.inf)
        reason = (f"burst feedback diverges: spectral radius of the TFA dependency matrix >= 1 "
                  f"(increment ratio {fp.spectral_radius:.6g} after {fp.iterations} iterations)")
        return WorstCaseBounds("tfa", flows, np.full(system.n_servers, math.inf),
                               "; ".join(filter(None, (message, reason))), iterations=fp.iterations,
                               spectral_radius=fp.spectral_radius)
    delay = np.where(bad, math.inf, fp.value)
    # monotone refinement with the peak-rate pieces: each step keeps a valid bound
    if any(len(curve.rates) > 1 for curve in system.flow_curve):
        for _ in range(PEAK_REFINEMENTS):
            shift = system.upstream_sum(np.where(bad, 0.0, delay)[system.flow_servers])
            new = np.where(bad, math.inf, np.minimum(delay, _server_delays(system, shift)))
            if np.allclose(new, delay, rtol=1e-12, atol=0):
                delay = new
                break
            delay = new
    flows = _per_hop_total(system, delay)
    flows[_tainted_flows(system, bad)] = math.inf
    finite = np.where(bad, 0.0, delay)[system.flow_servers]
    hop_burst = system.flow_burst[system.hop_flow] + hop_rate * system.upstream_sum(finite)
    hop_burst[system.upstream_sum(bad[system.flow_servers].astype(float)) > 0] = math.inf
    return WorstCaseBounds("tfa", flows, delay, message, hop_burst, fp.iterations, fp.contraction,
                           fp.spectral_radius, fp.residual)


def separated_flow_analysis(system: ServerFlowSystem) -> WorstCaseBounds:
    """Pay-bursts-only-once with blind-multiplexing leftovers and a certified burst fixed point."""
    n_hops = len(system.flow_servers)
    hop_flow, hop_server = system.hop_flow, system.flow_servers
    r_f = system.flow_rate[hop_flow]
    rate = system.server_rate[hop_server]
    latency = system.server_latency_s[hop_server]
    cross_rate = system.server_load()[hop_server] - r_f
    spare = rate - cross_rate
    starved = ~(spare > 0) | ~np.isfinite(latency)
    flows = np.full(system.n_flows, math.inf)
    if starved.any():
        h = int(np.flatnonzero(starved)[0])
        name = system.server_name[hop_server[h]] if system.server_name else str(hop_server[h])
        message = f"no leftover service at server {name}: the other flows' rate reaches its rate"
        return WorstCaseBounds("sfa", flows, None, message)
    first = system.first_hop()
    nxt = np.flatnonzero(~first)  # hop p+1 has hop p before it
    k = r_f / spare
    b = np.where(first, system.flow_burst[hop_flow], 0.0)
    b[nxt] = (k * rate * latency)[nxt - 1]

    def matvec(sigma: np.ndarray) -> np.ndarray:
        at_server = np.bincount(hop_server, weights=sigma, minlength=system.n_servers)[hop_server]
        out = np.zeros(n_hops)
        prev = nxt - 1
        out[nxt] = sigma[prev] + k[prev] * (at_server[prev] - sigma[prev])
        return out

    fp = certified_fixed_point(b, matvec)
    if fp.value is None:
        message = (f"burst feedback diverges: spectral radius of the SFA burst system >= 1 "
                   f"(increment ratio {fp.spectral_radius:.6g} after {fp.iterations} iterations)")
        return WorstCaseBounds("sfa", flows, None, message, iterations=fp.iterations,
                               spectral_radius=fp.spectral_radius)
    sigma = fp.value
    cross_burst = np.bincount(hop_server, weights=sigma, minlength=system.n_servers)[hop_server] - sigma
    left_latency = (cross_burst + rate * latency) / spare
    for f in range(system.n_flows):
        a, z = system.flow_indptr[f], system.flow_indptr[f + 1]
        if a == z:
            flows[f] = system.flow_fixed_delay_s[f]
            continue
        chain = RateLatency(float(spare[a:z].min()), float(left_latency[a:z].sum()))
        flows[f] = delay_bound(system.flow_curve[f], chain) + system.flow_fixed_delay_s[f]
    # a flow's rate above its leftover service: a server on its path is loaded beyond its rate
    message = "" if np.all(np.isfinite(flows)) else _overloaded(system)[1]
    return WorstCaseBounds("sfa", flows, None, message, sigma, fp.iterations, fp.contraction,
                           fp.spectral_radius, fp.residual)


STRATEGIES: dict[str, Callable[[ServerFlowSystem], WorstCaseBounds]] = {
    "tfa": total_flow_analysis, "sfa": separated_flow_analysis, "regulated": regulated,
}


# ---------------------------------------------------------------------------- front door
@dataclass(frozen=True)
class WorstCaseReport:
    """Per-demand worst-case bounds of every requested strategy on one design.

    ``demand_delay_s[method]`` is the largest bound over the demand's used paths (s, ``inf`` =
    unbounded); ``best`` (``min`` of ``tfa`` and ``sfa``) is the tightest proven bound of the
    network as it is, without regulators.
    """

    network: Network
    system: ServerFlowSystem
    bounds: dict[str, WorstCaseBounds]
    demand_delay_s: dict[str, np.ndarray]

    def best(self) -> np.ndarray:
        plain = [self.demand_delay_s[m] for m in ("tfa", "sfa") if m in self.demand_delay_s]
        return np.minimum.reduce(plain) if plain else np.full(self.network.n_demands, math.nan)

    def to_dict(self) -> dict[str, Any]:
        """``summary`` per method and per-demand rows (``None`` for unbounded)."""
        def number(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        summary = {m: {"bounded": b.bounded, "max_delay_s": number(float(np.max(self.demand_delay_s[m], initial=0.0))),
                       "message": b.message, "iterations": b.iterations,
                       "contraction": number(b.contraction), "spectral_radius_estimate": number(b.spectral_radius),
                       "residual": number(b.residual)}
                   for m, b in self.bounds.items()}
        best = self.best()
        rows = []
        for k, demand in enumerate(self.network.demands):
            row = {"id": demand.id, **{f"{m}_delay_s": number(v[k]) for m, v in self.demand_delay_s.items()}}
            if "tfa" in self.bounds or "sfa" in self.bounds:
                row["worst_case_delay_s"] = number(best[k])
            rows.append(row)
        return {"methods": summary, "demands": rows}


def worst_case_delays(network: Network, design: Design, traffic: TrafficDescriptors,
                      methods: tuple[str, ...] = METHODS) -> WorstCaseReport:
    """Per-demand worst-case delay bounds of ``design`` for shaped traffic.

    Parameters
    ----------
    network, design
    traffic : TrafficDescriptors
        Token bucket (and peak rate) of every demand, :func:`topo_opt.model.traffic.traffic_descriptors`.
    methods : tuple of {"tfa", "sfa", "regulated"}

    Returns
    -------
    WorstCaseReport

    Raises
    ------
    InvalidInputError
        An unknown method, or descriptors that do not fit the network.
    """
    unknown = [m for m in methods if m not in STRATEGIES]
    if unknown:
        raise InvalidInputError(f"worst-case method must be one of {', '.join(METHODS)}, got {unknown[0]!r}")
    system = describe(network, design, traffic)
    bounds = {m: STRATEGIES[m](system) for m in methods}
    per_demand = {}
    for m, result in bounds.items():
        worst = np.full(network.n_demands, -math.inf)
        np.maximum.at(worst, system.flow_demand, result.flow_delay_s)
        worst[np.isneginf(worst)] = math.nan  # a demand without a used path
        per_demand[m] = worst
    return WorstCaseReport(network, system, bounds, per_demand)
