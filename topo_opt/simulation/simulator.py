"""Packet-level simulation of a design, next to the queueing model it is optimised with.

:func:`simulate` runs the design's routing as a network of FIFO queues (one per arc, or one per
link for ``undirected`` links, as :attr:`Network.arc_queue` says): Poisson packet arrivals per
demand at λ_k = r_k/L̄ packet/s, each packet on one of the demand's paths chosen with the
routing's fractions, service L/C at each queue, plus the processing delay of each node left and
the propagation of each arc crossed (:mod:`topo_opt.simulation.engine`).

Next to every estimate it reports the model's prediction, computed by the existing evaluators
(:func:`topo_opt.evaluators.metrics.evaluate_design` and :mod:`topo_opt.evaluators.queues`):

* Kleinrock's T (M/M/1 per queue, independence assumption): exact when lengths are redrawn at
  every hop (a Kelly network, Kelly 1979 ch. 3), an approximation otherwise;
* M/G/1 (Pollaczek–Khinchine, c_s² of the length distribution) for fixed or empirical lengths;
* M/M/1/K per queue with finite buffers in packets and exponential lengths.

Estimates carry a confidence interval from independent replications (R ≥ 2) or from batch
means of a single run (:mod:`topo_opt.simulation.confidence`).  Warm-up: the first fraction of
each replication's budget (packets in creation order, or seconds) is not measured.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.metrics import DesignMetrics, evaluate_design
from topo_opt.evaluators.queues import mm1k
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.model.validation import replace_network
from topo_opt.simulation import engine
from topo_opt.simulation.confidence import mean_interval
from topo_opt.simulation.lengths import LENGTH_MODES, Buffers, PacketLengths

CHUNK_EVENTS = 2_000_000
MAX_RING_ENTRIES = 50_000_000
PERCENTILES = (50.0, 95.0, 99.0)


@dataclass(frozen=True)
class SimulationOptions:
    """What to simulate and for how long.

    Attributes
    ----------
    packets : int, optional
        Budget per replication: (1 − ``warmup``)·packets are measured, after a warm-up of
        ``warmup``·packets.  Default when neither budget is given: 200 000.  The end-to-end
        delay of every measured packet is kept for the percentiles: 16 bytes per packet.
    duration_s : float, optional
        Budget per replication in simulated seconds (instead of ``packets``), split the same way.
    lengths : PacketLengths
    buffers : Buffers
    replications : int
        Independent replications (R ≥ 2: the CI is over replications; 1: batch means).
    warmup : float
        Fraction of each replication's budget that is not measured, in [0, 1).  The warm-up
        lasts at least twice the longest used path's processing + propagation delay (so that
        every queue carries the traffic of every path through it before measuring starts); it
        is lengthened to that when needed, the measured budget staying the same.
    batches : int
        Batches of a single run for the batch-means interval (R = 1).
    seed : int
    level : float
        Confidence level of the intervals.
    """

    packets: int | None = None
    duration_s: float | None = None
    lengths: PacketLengths = field(default_factory=PacketLengths)
    buffers: Buffers = field(default_factory=Buffers)
    replications: int = 5
    warmup: float = 0.1
    batches: int = 10
    seed: int = 0
    level: float = 0.95

    def checked(self) -> "SimulationOptions":
        """The options with the default budget filled in.

        Raises
        ------
        InvalidInputError
            Both budgets, a budget ≤ 0, replications < 1, batches < 2, warm-up outside [0, 1),
            a negative seed, a level outside (0, 1).
        """
        if self.packets is not None and self.duration_s is not None:
            raise InvalidInputError("give --packets or --duration, not both")
        if self.packets is not None and self.packets < 1:
            raise InvalidInputError(f"--packets must be >= 1, got {self.packets}")
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise InvalidInputError(f"--duration must be > 0 s, got {self.duration_s}")
        if self.replications < 1:
            raise InvalidInputError(f"--replications must be >= 1, got {self.replications}")
        if self.batches < 2:
            raise InvalidInputError(f"batches must be >= 2, got {self.batches}")
        if not 0 <= self.warmup < 1:
            raise InvalidInputError(f"--warmup must be a fraction in [0, 1), got {self.warmup}")
        if self.seed < 0:
            raise InvalidInputError(f"--seed must be >= 0, got {self.seed}")
        if not 0 < self.level < 1:
            raise InvalidInputError(f"confidence level must be in (0, 1), got {self.level}")
        if self.packets is None and self.duration_s is None:
            return replace(self, packets=200_000)
        return self


@dataclass(frozen=True)
class Estimate:
    """Simulated means with CI half-widths, and the model's predictions, for a set of items."""

    mean: np.ndarray
    half_width: np.ndarray
    model: np.ndarray

    @property
    def relative_error(self) -> np.ndarray:
        """(model − simulation)/simulation: how far the model is from the measured value."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.model - self.mean) / self.mean

    @property
    def within_ci(self) -> np.ndarray:
        """The model's value lies in the simulation's confidence interval."""
        return np.abs(self.model - self.mean) <= self.half_width


@dataclass
class SimulationResult:
    """Everything :func:`simulate` measured (``to_dict()`` for JSON).

    Delays are in seconds.  Arc arrays follow the network's arc order, demand arrays its demand
    order.  ``arc_queue_delay`` is the time in the arc's queue (waiting + transmission);
    ``network_delay`` and ``demand_delay`` are end to end (processing and propagation included);
    ``network_queueing`` is the time a delivered packet spends in queues, Σ of its hops' times in
    queue (the model's: T minus its processing and propagation part, N/γ for M/M/1).  On a
    continental network it is the part worth comparing: the end-to-end mean is dominated by
    propagation, and its confidence interval by which paths the packets happened to take.  (With
    losses, the time dropped packets spent in queues before their drop counts too.)
    """

    network: Network
    design: Design
    options: SimulationOptions
    kleinrock: DesignMetrics
    model_name: str
    arc_queue_delay: Estimate
    arc_kleinrock_queue_delay_s: np.ndarray
    arc_offered: np.ndarray
    arc_loss: Estimate
    network_delay: Estimate
    network_queueing: Estimate
    network_kleinrock_delay_s: float
    network_loss: float
    demand_delay: Estimate
    demand_offered: np.ndarray
    demand_delivered: np.ndarray
    demand_percentiles_s: np.ndarray
    delays_s: np.ndarray
    delay_demand: np.ndarray
    replications_done: int
    ci_method: str
    packet_hops: int
    wall_time_s: float
    engine_cpu_s: float
    warmup_used: float
    interrupted: bool = False

    @property
    def packet_hops_per_s(self) -> float:
        """Speed of the event loop per CPU second (compilation, set-up and statistics left out)."""
        return self.packet_hops / self.engine_cpu_s if self.engine_cpu_s > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (NaN left as float; write through ``json_clean``)."""
        net, o = self.network, self.options
        node_ids = [n.id for n in net.nodes]
        kr = self.network_kleinrock_delay_s
        summary = {
            "mean_delay_s": self.network_delay.mean[0], "ci_half_width_s": self.network_delay.half_width[0],
            "model": self.model_name, "model_delay_s": self.network_delay.model[0],
            "model_relative_error": self.network_delay.relative_error[0],
            "kleinrock_delay_s": kr,
            "kleinrock_relative_error": (kr - self.network_delay.mean[0]) / self.network_delay.mean[0],
            "model_within_ci": bool(self.network_delay.within_ci[0]),
            "queueing_delay_s": self.network_queueing.mean[0],
            "queueing_ci_half_width_s": self.network_queueing.half_width[0],
            "model_queueing_delay_s": self.network_queueing.model[0],
            "model_queueing_relative_error": self.network_queueing.relative_error[0],
            "model_queueing_within_ci": bool(self.network_queueing.within_ci[0]),
            "loss": self.network_loss, "packets_measured": int(self.demand_offered.sum()),
            "packet_hops": self.packet_hops, "wall_time_s": self.wall_time_s, "engine_cpu_s": self.engine_cpu_s,
            "packet_hops_per_s": self.packet_hops_per_s, "replications": self.replications_done,
            "ci_method": self.ci_method, "interrupted": self.interrupted,
        }
        util = self.kleinrock.arc_utilization
        arcs = [{"link": net.links[int(net.arc_link[a])].id, "from": node_ids[int(net.arc_tail[a])],
                 "to": node_ids[int(net.arc_head[a])], "utilization": util[a],
                 "queue_delay_s": self.arc_queue_delay.mean[a],
                 "ci_half_width_s": self.arc_queue_delay.half_width[a],
                 "model_queue_delay_s": self.arc_queue_delay.model[a],
                 "model_relative_error": self.arc_queue_delay.relative_error[a],
                 "kleinrock_queue_delay_s": self.arc_kleinrock_queue_delay_s[a],
                 "fixed_delay_s": self.kleinrock.arc_fixed_delay_s[a],
                 "packets": int(self.arc_offered[a]), "loss": self.arc_loss.mean[a],
                 "loss_ci_half_width": self.arc_loss.half_width[a], "model_loss": self.arc_loss.model[a]}
                for a in range(net.n_arcs) if self.arc_offered[a] > 0]
        demands = [{"id": d.id, "source": d.source, "target": d.target, "rate": d.rate,
                    "packets": int(self.demand_offered[k]), "delivered": int(self.demand_delivered[k]),
                    "loss": 1.0 - self.demand_delivered[k] / self.demand_offered[k]
                    if self.demand_offered[k] else math.nan,
                    "mean_delay_s": self.demand_delay.mean[k], "ci_half_width_s": self.demand_delay.half_width[k],
                    "model_delay_s": self.demand_delay.model[k],
                    "model_relative_error": self.demand_delay.relative_error[k],
                    **{f"p{int(q)}_delay_s": self.demand_percentiles_s[k, i] for i, q in enumerate(PERCENTILES)}}
                   for k, d in enumerate(net.demands)]
        options = {"packets": o.packets, "duration_s": o.duration_s, "lengths": o.lengths.kind,
                   "mean_length_bits": net.packet_length_bits if net.rate_unit == "bit/s" else None,
                   "length_cs2": o.lengths.cs2, "sizes_bits": list(o.lengths.sizes_bits),
                   "weights": list(o.lengths.weights), "buffer": o.buffers.default,
                   "buffer_unit": o.buffers.unit, "link_buffers": dict(o.buffers.per_link),
                   "replications": o.replications, "warmup": o.warmup,
                   ("warmup_packets" if o.packets is not None else "warmup_s"): self.warmup_used,
                   "batches": o.batches,
                   "seed": o.seed, "level": o.level}
        return {"options": options, "network": summary, "arcs": arcs, "demands": demands}


# ------------------------------------------------------------------------------ set-up
def _model_network(network: Network, lengths: PacketLengths) -> Network:
    """The network with L̄ of the length distribution (empirical lengths set their own mean)."""
    if lengths.kind != "empirical":
        return network
    if network.rate_unit != "bit/s":
        raise InvalidInputError(f"empirical packet sizes (bytes) need a bit/s instance; "
                                f"{network.name!r} has rates in {network.rate_unit}")
    return replace_network(network, packet_length_bits=lengths.mean(network.packet_length_bits))


def queue_capacity(network: Network, design: Design) -> np.ndarray:
    """Capacity of each queue (rate unit): the design's, 0 for links that are off."""
    return network.queue_capacity(np.where(np.asarray(design.link_on, bool), design.link_capacity, 0.0))


def _queue_buffers(network: Network, buffers: Buffers) -> np.ndarray:
    """Buffer of each queue (packets or bits), inf where infinite."""
    size = np.full(network.n_links, math.inf if buffers.default is None else buffers.default)
    for link_id, value in buffers.per_link.items():
        if link_id not in network.link_index:
            raise InvalidInputError(f"--link-buffer: link {link_id!r} is not in instance {network.name!r}")
        size[network.link_index[link_id]] = value
    return size[network.queue_link]


def _refuse_unstable(network: Network, kleinrock: DesignMetrics, buffer: np.ndarray) -> None:
    q = kleinrock.queues
    bad = np.flatnonzero(q.saturated & ~np.isfinite(buffer))
    carrying = network.queue_load(kleinrock.arc_flow) > 0
    dead = np.flatnonzero(carrying & (queue_capacity(network, kleinrock.design) <= 0))
    if dead.size:
        link = network.links[int(network.queue_link[dead[0]])].id
        raise InvalidInputError(f"link {link!r} carries traffic but has no capacity (off or 0 {network.rate_unit})")
    if bad.size:
        worst = bad[np.argmax(q.utilization[bad])]
        link = network.links[int(network.queue_link[worst])].id
        raise InvalidInputError(
            f"link {link!r} is saturated (utilisation {q.utilization[worst]:.6g} >= 1 with an infinite "
            f"buffer; {bad.size} saturated queue(s)): no steady state to simulate; lower the load or give --buffer")


@dataclass
class _Replication:
    """The measured arrays of one replication (batches × items)."""

    arc_sum: np.ndarray
    arc_count: np.ndarray
    arc_offered: np.ndarray
    arc_dropped: np.ndarray
    dem_sum: np.ndarray
    dem_count: np.ndarray
    dem_offered: np.ndarray
    dem_dropped: np.ndarray
    delays: np.ndarray
    demand: np.ndarray
    hops: int
    seconds: float


class _Engine:
    """The static arrays of a design, and one replication run in chunks by the compiled loop."""

    def __init__(self, network: Network, design: Design, options: SimulationOptions, buffer: np.ndarray):
        routing = design.routing
        self.n_arcs, self.n_demands = network.n_arcs, network.n_demands
        order = np.argsort(routing.demand, kind="stable")  # paths grouped by demand
        lengths = np.diff(routing.indptr)[order]
        self.path_indptr = np.zeros(routing.n_paths + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.path_indptr[1:])
        self.path_arcs = routing.arcs[np.repeat(routing.indptr[order] - self.path_indptr[:-1], lengths)
                                      + np.arange(self.path_indptr[-1])].astype(np.int64)
        demand, fraction = routing.demand[order], routing.fraction[order]
        counts = np.bincount(demand, minlength=network.n_demands)
        if (counts == 0).any():
            raise InvalidInputError(f"demand {network.demands[int(np.argmin(counts))].id!r} has no path")
        self.dem_end = np.cumsum(counts).astype(np.int64)
        self.dem_first = (self.dem_end - counts).astype(np.int64)
        # cumulative fraction of each path within its demand, the last one exactly 1
        running = np.cumsum(fraction)
        before = np.concatenate([[0.0], running])[self.dem_first]
        total = running[self.dem_end - 1] - before
        self.path_cum = (running - np.repeat(before, counts)) / np.repeat(total, counts)
        self.path_cum[self.dem_end - 1] = 1.0
        per_unit = network.packets_per_rate_unit
        self.dem_rate = network.demand_rate * per_unit
        self.arc_queue = network.arc_queue.astype(np.int64)
        processing = network.node_processing_s
        self.dem_proc = processing[network.demand_source].astype(float)
        self.arc_prop = network.arc_propagation_s.astype(float)
        self.arc_onward = self.arc_prop + processing[network.arc_head]
        self.queue_cap = queue_capacity(network, design).astype(float)
        finite = np.isfinite(buffer)
        packets = options.buffers.unit == "packets"
        self.buf_pkts = np.where(finite & packets, buffer, 0).astype(np.int64)
        self.buf_bits = np.where(finite & ~packets, buffer, np.inf)
        self.ring_off = np.concatenate([[0], np.cumsum(self.buf_pkts)[:-1]]).astype(np.int64)
        if self.buf_pkts.sum() > MAX_RING_ENTRIES:
            raise InvalidInputError(f"buffers of {int(self.buf_pkts.sum())} packets in total are too large to "
                                    f"simulate (at most {MAX_RING_ENTRIES}); use bytes or smaller buffers")
        lengths_opt = options.lengths
        self.length_mode = LENGTH_MODES[lengths_opt.kind]
        self.mean_length = 1.0 / per_unit
        self.sizes = np.asarray(lengths_opt.sizes_bits or (0.0,), dtype=float)
        self.cumulative = np.cumsum(lengths_opt.weights or (1.0,))
        self.cumulative[-1] = 1.0
        path_fixed = routing.path_sums(network.arc_fixed_delay_s)
        fill_s = 2.0 * float(path_fixed[routing.fraction > 0].max(initial=0.0))
        if options.packets is not None:
            budget, self.budget_mode = float(options.packets), engine.BY_PACKETS
            self.warm = max(options.warmup * budget, math.ceil(fill_s * self.dem_rate.sum()))
        else:
            budget, self.budget_mode = float(options.duration_s), engine.BY_DURATION
            self.warm = max(options.warmup * budget, fill_s)
        self.stop = self.warm + (1.0 - options.warmup) * budget
        self.n_batches = options.batches

    def run(self, seed: int, progress: Callable[[float], None] | None) -> _Replication:
        """One replication; ``progress`` gets the fraction of the budget done after each chunk."""
        nb, na, nk = self.n_batches, self.n_arcs, self.n_demands
        heap_t, heap_id = np.zeros(na + nk), np.zeros(na + nk, dtype=np.int64)
        tr_size = np.full(na, engine.INITIAL_RING, dtype=np.int64)
        tr_off = np.arange(na, dtype=np.int64) * engine.INITIAL_RING
        tr_head, tr_count = np.zeros(na, dtype=np.int64), np.zeros(na, dtype=np.int64)
        transit = np.zeros(na * engine.INITIAL_RING, dtype=engine.TRANSIT)
        used = transit.size
        ring_head = np.zeros(self.buf_pkts.size, dtype=np.int64)
        ring_count = np.zeros(self.buf_pkts.size, dtype=np.int64)
        ring_time = np.zeros(max(int(self.buf_pkts.sum()), 1))
        queue_free_at = np.zeros(self.queue_cap.size)
        counters = np.zeros(engine.N_COUNTERS, dtype=np.int64)
        counters[engine.C_FULL_ARC] = -1
        stats = [np.zeros((nb, na)), np.zeros((nb, na), dtype=np.int64), np.zeros((nb, na), dtype=np.int64),
                 np.zeros((nb, na), dtype=np.int64), np.zeros((nb, nk)), np.zeros((nb, nk), dtype=np.int64),
                 np.zeros((nb, nk), dtype=np.int64), np.zeros((nb, nk), dtype=np.int64)]
        n_rec = int(min(max(self.stop - self.warm, 1024), 1 << 22)) if self.budget_mode == engine.BY_PACKETS \
            else 1 << 16
        rec_delay, rec_demand = np.zeros(n_rec), np.zeros(n_rec, dtype=np.int64)
        engine.seed(seed)
        engine.start(self.dem_rate, self.dem_proc, heap_t, heap_id, counters)

        def step(max_events: int) -> int:
            return engine.run(
                self.dem_rate, self.dem_proc, self.dem_first, self.dem_end, self.path_cum, self.path_indptr,
                self.path_arcs, self.arc_queue, self.arc_onward, self.arc_prop, self.queue_cap, self.buf_pkts,
                self.buf_bits, self.ring_off, ring_head, ring_count, ring_time, self.length_mode,
                self.mean_length, self.sizes, self.cumulative, self.budget_mode, self.warm, self.stop, nb,
                heap_t, heap_id, transit, tr_off, tr_size, tr_head, tr_count, queue_free_at, counters, *stats, rec_delay, rec_demand,
                max_events)

        step(0)  # loads (or compiles) the machine code, outside the timed loop
        started = time.process_time()  # CPU time: the speed per core, whatever else the machine runs
        while True:
            status = step(CHUNK_EVENTS)
            if status == engine.DONE:
                break
            if status == engine.GROW_TRANSIT:
                transit, used = engine.grow_transit(transit, tr_off, tr_size, tr_head, tr_count,
                                                    int(counters[engine.C_FULL_ARC]), used)
                counters[engine.C_FULL_ARC] = -1
            elif status == engine.GROW_RECORDS:
                rec_delay, rec_demand = engine.grow(rec_delay, 2 * rec_delay.size), \
                    engine.grow(rec_demand, 2 * rec_demand.size)
            if progress is not None:
                done = counters[engine.C_GENERATED] if self.budget_mode == engine.BY_PACKETS \
                    else heap_t[0] if counters[engine.C_HEAP] else self.stop
                progress(min(float(done) / self.stop, 1.0))
        n = int(counters[engine.C_RECORDS])
        return _Replication(*stats, rec_delay[:n], rec_demand[:n], int(counters[engine.C_HOPS]),
                            time.process_time() - started)


# ------------------------------------------------------------------------------ front door
def simulate(network: Network, design: Design, options: SimulationOptions | None = None,
             progress: Callable[[int, float], None] | None = None) -> SimulationResult:
    """Simulate ``design`` packet by packet and compare it with the queueing model.

    Parameters
    ----------
    network : Network
    design : Design
        Capacities, on/off states and routing (paths with fractions).
    options : SimulationOptions, optional
        Budget, lengths, buffers, replications, warm-up, seed (defaults: 200 000 packets per
        replication, 5 replications, redrawn exponential lengths, infinite buffers).
    progress : callable(replication, fraction), optional
        Called after each chunk of ~2·10⁶ events with the replication index and the fraction
        of its budget done.

    Returns
    -------
    SimulationResult
        With ``interrupted = True`` and the finished replications when Ctrl-C stopped the run
        after at least one replication (with none finished, KeyboardInterrupt propagates).

    Raises
    ------
    InvalidInputError
        Bad options; a queue with an infinite buffer and utilisation ≥ 1 (no steady state);
        traffic on a link without capacity; empirical sizes on a packet/s instance.

    Notes
    -----
    Model columns: Kleinrock (M/M/1 per queue, evaluate_design), M/G/1 by Pollaczek–Khinchine
    for fixed (c_s² = 0) or empirical lengths, M/M/1/K per queue for finite buffers in
    packets with exponential lengths.  With redrawn lengths and infinite buffers the network
    is a Kelly network and Kleinrock's T is exact (Kelly 1979, Reversibility and Stochastic
    Networks, §3.1), which the tests use as the oracle.
    """
    options = (options or SimulationOptions()).checked()
    net = _model_network(network, options.lengths)
    kleinrock = evaluate_design(net, design, queue="mm1")
    buffer = _queue_buffers(net, options.buffers)
    _refuse_unstable(net, kleinrock, buffer)
    model_name, model = _model(net, design, options, buffer, kleinrock)
    sim = _Engine(net, design, options, buffer)

    seeds = np.random.SeedSequence(options.seed).generate_state(options.replications, dtype=np.uint32)
    runs: list[_Replication] = []
    interrupted = False
    started = time.perf_counter()
    try:
        for r, seed in enumerate(seeds):
            report = None if progress is None else (lambda f, r=r: progress(r, f))
            runs.append(sim.run(int(seed), report))
    except KeyboardInterrupt:
        if not runs:
            raise
        interrupted = True
    wall = time.perf_counter() - started
    return _summarise(net, design, options, kleinrock, model_name, model, runs, wall, sim.warm, interrupted)


def _model(net: Network, design: Design, options: SimulationOptions, buffer: np.ndarray,
           kleinrock: DesignMetrics) -> tuple[str, dict[str, np.ndarray | float]]:
    """The model the simulation is compared with: per-arc queue delay and loss, network T."""
    lengths = options.lengths
    name = "mm1" if lengths.exponential else ("md1" if lengths.kind == "fixed" else "mg1")
    metrics = kleinrock if name == "mm1" else evaluate_design(net, design, queue=name, cs2=lengths.cs2)
    out: dict[str, np.ndarray | float] = {"queue_delay_s": metrics.arc_queue_delay_s,
                                          "loss": np.zeros(net.n_arcs), "delay_s": metrics.average_delay_s,
                                          "demand_delay_s": metrics.demand_delay_s}
    if not np.isfinite(buffer).any():
        return name, out
    if options.buffers.unit != "packets" or not lengths.exponential:
        nan = np.full(net.n_arcs, np.nan)
        return f"{name} (no buffer model)", {**out, "queue_delay_s": nan, "loss": nan, "delay_s": math.nan,
                                             "demand_delay_s": np.full(net.n_demands, np.nan)}
    per_unit = net.packets_per_rate_unit
    lam = net.queue_load(kleinrock.arc_flow) * per_unit
    mu = queue_capacity(net, design) * per_unit
    finite = np.isfinite(buffer)
    k = mm1k(lam[finite], mu[finite], buffer[finite])
    sojourn, blocking = kleinrock.queues.sojourn_s.copy(), np.zeros(net.n_queues)
    sojourn[finite], blocking[finite] = k.sojourn_s, k.blocking
    if (buffer[finite] == buffer[finite][0]).all() and finite.all():
        # per delivered packet, as simulated: demands weighted by their delivered rates
        whole = evaluate_design(net, design, queue="mm1k", buffer_packets=int(buffer[0]))
        delivered = net.demand_rate * (1.0 - whole.demand_loss)
        delay, demand = float(delivered @ whole.demand_delay_s / delivered.sum()), whole.demand_delay_s
    else:
        delay, demand = math.nan, np.full(net.n_demands, np.nan)
    return "mm1k", {"queue_delay_s": sojourn[net.arc_queue], "loss": blocking[net.arc_queue],
                    "delay_s": delay, "demand_delay_s": demand}


def _summarise(net: Network, design: Design, options: SimulationOptions, kleinrock: DesignMetrics,
               model_name: str, model: dict, runs: list[_Replication], wall: float, warm: float,
               interrupted: bool) -> SimulationResult:
    if len(runs) >= 2:
        ci_method = "replications"
        units = [np.stack([getattr(r, name).sum(axis=0) for r in runs]) for name in
                 ("arc_sum", "arc_count", "arc_offered", "arc_dropped", "dem_sum", "dem_count",
                  "dem_offered", "dem_dropped")]
    else:
        ci_method = "batch means"
        only = runs[0]
        units = [only.arc_sum, only.arc_count, only.arc_offered, only.arc_dropped, only.dem_sum,
                 only.dem_count, only.dem_offered, only.dem_dropped]
    arc_sum, arc_count, arc_offered, arc_dropped, dem_sum, dem_count, dem_offered, dem_dropped = units
    level = options.level
    with np.errstate(invalid="ignore", divide="ignore"):
        arc_mean, arc_half = mean_interval(arc_sum / arc_count, level)
        loss_mean, loss_half = mean_interval(arc_dropped / arc_offered, level)
        dem_mean, dem_half = mean_interval(dem_sum / dem_count, level)
        delivered = dem_count.sum(axis=1)
        net_mean, net_half = mean_interval((dem_sum.sum(axis=1) / delivered)[:, None], level)
        queued_mean, queued_half = mean_interval((arc_sum.sum(axis=1) / delivered)[:, None], level)
    fixed_part = net.packets_per_rate_unit * float(kleinrock.arc_flow @ kleinrock.arc_fixed_delay_s) \
        / net.total_packet_rate
    delays = np.concatenate([r.delays for r in runs])
    demand = np.concatenate([r.demand for r in runs])
    # group by demand: a stable radix sort on small integer keys (0.25 s for 10⁷ packets)
    key = demand.astype(np.uint16) if net.n_demands <= np.iinfo(np.uint16).max else demand
    order = np.argsort(key, kind="stable")
    delays, demand = delays[order], demand[order]
    bounds = np.searchsorted(demand, np.arange(net.n_demands + 1))
    percentiles = np.full((net.n_demands, len(PERCENTILES)), np.nan)
    for k in np.flatnonzero(np.diff(bounds)):
        percentiles[k] = np.percentile(delays[bounds[k]:bounds[k + 1]], PERCENTILES)
    offered, delivered = dem_offered.sum(axis=0), dem_count.sum(axis=0)
    return SimulationResult(
        network=net, design=design, options=options, kleinrock=kleinrock, model_name=model_name,
        arc_queue_delay=Estimate(arc_mean, arc_half, np.asarray(model["queue_delay_s"])),
        arc_kleinrock_queue_delay_s=kleinrock.arc_queue_delay_s,
        arc_offered=arc_offered.sum(axis=0),
        arc_loss=Estimate(loss_mean, loss_half, np.asarray(model["loss"])),
        network_delay=Estimate(net_mean, net_half, np.array([model["delay_s"]])),
        network_queueing=Estimate(queued_mean, queued_half, np.array([model["delay_s"] - fixed_part])),
        network_kleinrock_delay_s=kleinrock.average_delay_s,
        network_loss=1.0 - delivered.sum() / offered.sum() if offered.sum() else math.nan,
        demand_delay=Estimate(dem_mean, dem_half, np.asarray(model["demand_delay_s"])),
        demand_offered=offered, demand_delivered=delivered, demand_percentiles_s=percentiles,
        delays_s=delays, delay_demand=demand, replications_done=len(runs), ci_method=ci_method,
        packet_hops=sum(r.hops for r in runs), wall_time_s=wall,
        engine_cpu_s=sum(r.seconds for r in runs), warmup_used=warm, interrupted=interrupted)
