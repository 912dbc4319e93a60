"""Probe trains over a fixed path: the deterministic tandem model, simulation and inference.

**Model.**  A path of n FIFO servers; server i has capacity ``C_i`` (bit/s), fluid cross
traffic arriving at rate ``X_i = c_i C_i`` (``c_i`` the cross-traffic share), propagation
``τ_i`` after it, and outages (intervals in which it serves nothing).  Packet j of length L_j
arrives at server i at ``a(i, j)``; the work ahead of it is the workload ``W(a(i, j)⁻)`` (probe
packets and cross fluid that came earlier; fluid that comes later queues behind it), so it
leaves when the server has worked ``W + L_j`` bits since ``a(i, j)`` at rate C_i, outages
excepted.  Between arrivals the workload drains at ``C_i − X_i`` and grows at ``X_i`` during
an outage.  Without cross traffic and outages this is the recursion

    d(i, j) = max(a(i, j), d(i, j−1)) + L_j / C_i,        a(i+1, j) = d(i, j) + τ_i,

and with cross traffic a packet that finds the server busy gets service
``(L_j + X_i (a(i, j) − a(i, j−1))) / C_i`` (the fluid that arrived between the two probes).

**Closed forms** (tests): equal packets, no cross traffic or outage, send gap g:
``D_j = Σ_i L/C_i + Σ_i τ_i + (j − 1)(L/C_b − g)⁺`` with ``C_b = min C_i`` (max-plus: every
path of the lattice visits each server once and the bottleneck j − 1 more times).  A train
sent faster than the available rate leaves a single server at ``R_out = C R_in / (R_in + X)``.
An outage of length B makes the next packets' delays fall by ``g − σ`` per packet
(``σ = (L + X g)/C`` the bottleneck's per-packet work time), a slope of ``−(1 − σ/g)`` against
the send time, until the backlog is gone.

**Inference** from measured trains (send and receive times):

* bottleneck capacity by packet pairs: ``C = L / Δ`` for back-to-back packets (send gap ≈ 0),
  Δ the receive spacing; the median over pairs;
* cross-traffic share at the bottleneck from trains sent faster than the available rate: their
  steady receive spacing is ``Δ = (L + X g)/C = L/C + c g``, so with two or more send gaps c is
  the slope of Δ against g (a straight-line fit, free of the packet pair's bias), with one
  ``c = (C Δ − L)/(C g)``.  (Packet pairs see the spacing the upstream hops give them, so
  cross traffic entering between the pair biases ``C = L/Δ`` low by about ``X L/C_up``.)
* outages: a jump in delay followed by delays falling by ``g − σ`` per packet (or, when the
  train keeps the bottleneck busy, staying shifted); duration and start with the bounds of
  :func:`find_outages`.  The start is given in the sender's clock: the send time of a packet
  that would have reached the bottleneck as the outage began.

References
----------
Bolot, *End-to-end packet delay and loss behavior in the Internet*, SIGCOMM 1993.
Dovrolis, Ramanathan, Moore, *Packet-dispersion techniques and a capacity-estimation
methodology*, IEEE/ACM ToN 12(6), 2004.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_text

BACK_TO_BACK_S = 1e-9
"""Send gaps below this (s) are back to back."""


@dataclass(frozen=True)
class Server:
    """One hop: ``capacity_bps``, ``cross_share`` = X/C in [0, 1), ``propagation_s`` after it,
    ``outages`` as (start_s, duration_s) pairs."""

    capacity_bps: float
    cross_share: float = 0.0
    propagation_s: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.capacity_bps) and self.capacity_bps > 0):
            raise InvalidInputError(f"server capacity must be a finite number > 0 bit/s, got {self.capacity_bps!r}")
        if not 0.0 <= self.cross_share < 1.0:
            raise InvalidInputError(f"cross-traffic share must be in [0, 1), got {self.cross_share!r}")
        if not (math.isfinite(self.propagation_s) and self.propagation_s >= 0):
            raise InvalidInputError(f"propagation must be a finite number >= 0 s, got {self.propagation_s!r}")
        ends = -math.inf
        for start, duration in sorted(self.outages):
            if not (math.isfinite(start) and math.isfinite(duration) and duration > 0):
                raise InvalidInputError(f"outage ({start!r}, {duration!r}): start and duration > 0 must be finite")
            if start < ends:
                raise InvalidInputError(f"outages overlap at {start:g} s")
            ends = start + duration


def _evolve(work: float, t0: float, t1: float, drain: float, grow: float, outages) -> float:
    """Workload at t1 from ``work`` at t0: drains at ``drain`` outside outages, grows at ``grow`` in them."""
    t = t0
    for start, duration in outages:
        end = start + duration
        if end <= t or start >= t1:
            continue
        if start > t:
            work = max(0.0, work - drain * (start - t))
            t = start
        stop = min(end, t1)
        work += grow * (stop - t)
        t = stop
    return max(0.0, work - drain * (t1 - t)) if t1 > t else work


def _finish(t: float, work: float, rate: float, outages) -> float:
    """When a server working at ``rate`` outside outages has done ``work`` bits from time t."""
    for start, duration in outages:
        end = start + duration
        if end <= t:
            continue
        if start > t:
            if work <= rate * (start - t):
                break
            work -= rate * (start - t)
        t = max(t, end)
    return t + work / rate


def simulate(servers: list[Server], send_s: np.ndarray, length_bits: np.ndarray) -> np.ndarray:
    """Receive times of packets sent at ``send_s`` (sorted) with lengths ``length_bits`` (model above)."""
    arrive = np.asarray(send_s, float).copy()
    length = np.broadcast_to(np.asarray(length_bits, float), arrive.shape)
    if np.any(np.diff(arrive) < 0):
        raise InvalidInputError("send times must not decrease")
    for server in servers:
        c, x = server.capacity_bps, server.cross_share * server.capacity_bps
        outages = sorted(server.outages)
        first = min([arrive[0]] + [s for s, _ in outages]) if arrive.size else 0.0
        work, last = 0.0, first
        depart = np.empty_like(arrive)
        for j, (a, size) in enumerate(zip(arrive, length)):
            work = _evolve(work, last, a, c - x, x, outages)
            depart[j] = _finish(a, work + size, c, outages)
            work += size
            last = a
        arrive = depart + server.propagation_s
    return arrive


def schedule(trains: list[tuple[float, int]], start_s: float = 0.0, spacing_s: float = 0.1,
             pair_interval_s: float = 0.01) -> list[np.ndarray]:
    """Send times of trains given as (gap s, packets): gap 0 gives back-to-back pairs every
    ``pair_interval_s``; consecutive trains are ``spacing_s`` apart (end to start)."""
    out, t = [], start_s
    for gap, count in trains:
        if count < 2 or gap < 0:
            raise InvalidInputError(f"a train needs >= 2 packets and a gap >= 0 s, got {count} packets, gap {gap!r}")
        send = t + (np.repeat(np.arange((count + 1) // 2), 2)[:count] * pair_interval_s if gap == 0
                    else np.arange(count) * gap)
        out.append(send)
        t = float(send[-1]) + spacing_s
    return out


# --------------------------------------------------------------------------- trains on file
@dataclass(frozen=True)
class Train:
    """One measured train: send and receive times (s), packet lengths (bit)."""

    train_id: str
    send_s: np.ndarray
    receive_s: np.ndarray
    length_bits: np.ndarray

    @property
    def delay_s(self) -> np.ndarray:
        return self.receive_s - self.send_s

    @property
    def gap_s(self) -> float:
        return float(np.median(np.diff(self.send_s))) if self.send_s.size > 1 else math.nan


TRAIN_COLUMNS = ("train", "packet", "send_s", "receive_s", "length_bits")


def trains_csv(trains: list[Train]) -> str:
    lines = [",".join(TRAIN_COLUMNS)]
    for train in trains:
        lines += [f"{train.train_id},{j},{s!r},{r!r},{length!r}" for j, (s, r, length) in enumerate(
            zip(train.send_s.tolist(), train.receive_s.tolist(), train.length_bits.tolist()))]
    return "\n".join(lines) + "\n"


def read_trains(path: str | Path) -> list[Train]:
    """Read a probe file: columns ``train,packet,send_s,receive_s,length_bits`` (one row per packet)."""
    path = Path(path)
    reader = csv.DictReader(io.StringIO(read_text(path)))
    missing = [c for c in TRAIN_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInputError(f"{path}:1: missing column {missing[0]!r} (expected {', '.join(TRAIN_COLUMNS)})")
    rows: dict[str, list] = {}
    for row in reader:
        where = f"{path}:{reader.line_num}"
        values = []
        for name in ("packet", "send_s", "receive_s", "length_bits"):
            try:
                values.append(float(row[name]))
            except (TypeError, ValueError):
                raise InvalidInputError(f"{where}: {name} must be a number, got {row[name]!r}") from None
        if not all(map(math.isfinite, values)):
            raise InvalidInputError(f"{where}: numbers must be finite")
        if values[2] < values[1]:
            raise InvalidInputError(f"{where}: received at {values[2]:g} s before it was sent at {values[1]:g} s")
        if values[3] <= 0:
            raise InvalidInputError(f"{where}: length_bits must be > 0, got {values[3]:g}")
        rows.setdefault(row["train"], []).append((*values, reader.line_num))
    trains = []
    for train_id, packets in rows.items():
        packets.sort()
        data = np.array([p[:4] for p in packets])
        if np.any(np.diff(data[:, 0]) == 0):
            raise InvalidInputError(f"{path}: train {train_id!r} has a packet number twice")
        if np.any(np.diff(data[:, 1]) < 0):
            line = packets[int(np.flatnonzero(np.diff(data[:, 1]) < 0)[0]) + 1][4]
            raise InvalidInputError(f"{path}:{line}: train {train_id!r}: send times must not decrease with the "
                                    f"packet number")
        trains.append(Train(train_id, data[:, 1], data[:, 2], data[:, 3]))
    if not trains:
        raise InvalidInputError(f"{path}: no packets")
    return trains


# --------------------------------------------------------------------------- inference
@dataclass(frozen=True)
class Outage:
    """An outage seen in a train: start in the sender's clock (s, ``± start_uncertainty_s``) and
    duration (s, ``± duration_uncertainty_s``); ``first_packet`` .. ``last_packet`` the packets
    it delayed."""

    train_id: str
    start_s: float
    start_uncertainty_s: float
    duration_s: float
    duration_uncertainty_s: float
    first_packet: int
    last_packet: int


@dataclass(frozen=True)
class TrainInference:
    """What the trains say about the path's bottleneck; None where no train could tell."""

    capacity_bps: float | None
    cross_share: float | None
    outages: tuple[Outage, ...]
    trains: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def available_bps(self) -> float | None:
        if self.capacity_bps is None or self.cross_share is None:
            return None
        return self.capacity_bps * (1.0 - self.cross_share)

    def to_dict(self) -> dict:
        return {"capacity_bps": self.capacity_bps, "cross_traffic_share": self.cross_share,
                "cross_traffic_bps": None if self.available_bps is None else self.capacity_bps - self.available_bps,
                "available_bps": self.available_bps,
                "outages": [o.__dict__ for o in self.outages], "trains": list(self.trains)}


def _robust_spread(values: np.ndarray) -> float:
    return 1.4826 * float(np.median(np.abs(values - np.median(values)))) if values.size else 0.0


def find_outages(train: Train, min_jump_s: float | None = None, capacity_bps: float | None = None,
                 cross_share: float | None = None) -> list[Outage]:
    """Outages of one train from their signature (module docstring).

    A jump is an increase of the delay from one packet to the next above ``min_jump_s``
    (default: six robust standard deviations of the increments, at least 1 µs); the outage
    lasts while the delay stays above the train's baseline trend.  The first delayed packet k
    was either in service when the outage began (it then waits exactly B more) or reached the
    bottleneck ``a_k − o ∈ (0, g − L/C]`` after it began and waited
    ``e_k ≈ B − (a_k − o)(1 − c)`` more than usual, so ``B̂ = e_k + u/2 ± u/2`` with
    ``u = (g − L/C)⁺ (1 − c)``; the start lies in ``(a_k − (g − L/C), a_k + L/C]``, reported in
    the sender's clock as ``s_k + L/C − g/2 ± g/2``.  Without ``capacity_bps`` and
    ``cross_share``, ``L/C`` is taken from the drain slope (``σ = g + Δ``) and c = 0.
    """
    delay = train.delay_s
    if delay.size < 3:
        return []
    step = np.diff(delay)
    # the unperturbed step is (σ − g)⁺ >= 0; steps while a backlog drains are negative and may be
    # the majority, hence max(median, 0), and the baseline through the least delayed packets
    typical = max(float(np.median(step)), 0.0)
    threshold = min_jump_s if min_jump_s is not None else max(6.0 * _robust_spread(step), 1e-6)
    index = np.arange(delay.size)
    baseline = float(np.min(delay - typical * index)) + typical * index
    excess = delay - baseline
    gap = train.gap_s
    outages: list[Outage] = []
    j = 1
    while j < delay.size:
        if step[j - 1] - typical <= threshold:
            j += 1
            continue
        k = end = j
        while end + 1 < delay.size and excess[end + 1] > threshold:
            end += 1
        if capacity_bps is not None and cross_share is not None:
            service, share = float(train.length_bits[k]) / capacity_bps, cross_share
        else:
            drain = step[k:end]  # increments while the backlog drains: σ − g each
            service, share = gap + (float(np.median(drain)) if drain.size else 0.0), 0.0
        u_duration = max(gap - service, 0.0) * (1.0 - share)
        outages.append(Outage(train.train_id, float(train.send_s[k]) + service - gap / 2, gap / 2,
                              float(excess[k]) + u_duration / 2, u_duration / 2, int(k), int(end)))
        j = end + 1
    return outages


def infer(trains: list[Train], min_jump_s: float | None = None) -> TrainInference:
    """Bottleneck capacity, cross-traffic share and outages from measured trains."""
    pair_capacity, per_train = [], []
    for train in trains:
        info = {"train": train.train_id, "packets": int(train.send_s.size), "gap_s": train.gap_s}
        if train.send_s.size > 1:
            send_gap, receive_gap = np.diff(train.send_s), np.diff(train.receive_s)
            info["receive_spacing_s"] = float(np.median(receive_gap))
            pairs = (send_gap < BACK_TO_BACK_S) & (receive_gap > 0)
            if pairs.any():
                pair_capacity.append(train.length_bits[1:][pairs] / receive_gap[pairs])
        per_train.append(info)
    capacity = float(np.median(np.concatenate(pair_capacity))) if pair_capacity else None
    outages = [o for train in trains for o in find_outages(train, min_jump_s)]  # to mask them
    gaps, spacings, lengths = [], [], []
    for train, info in zip(trains, per_train):
        gap = info["gap_s"]
        if not (gap > BACK_TO_BACK_S) or info["receive_spacing_s"] <= gap * (1 + 1e-6):
            continue  # back to back, or slower than the available rate: says nothing about X
        hit = np.zeros(train.send_s.size, bool)
        for o in outages:
            if o.train_id == train.train_id:
                hit[max(o.first_packet - 1, 0):o.last_packet + 2] = True
        spacing = np.diff(train.receive_s)[~(hit[1:] | hit[:-1])]
        settled = spacing[spacing.size // 4:]  # the first packets fill the queue
        if settled.size:
            gaps.append(gap)
            spacings.append(float(np.median(settled)))
            lengths.append(float(np.median(train.length_bits)))
            info["saturating"] = True
    share = None
    if len(set(gaps)) >= 2:  # Δ = L/C + c g: the slope is the share, free of the pair's bias
        share = float(np.polyfit(gaps, spacings, 1)[0])
    elif gaps and capacity is not None:  # one train: c = (C Δ − L) / (C g)
        share = (capacity * spacings[0] - lengths[0]) / (capacity * gaps[0])
    if share is not None:
        share = float(np.clip(share, 0.0, 1.0))
    if capacity is not None:  # the bounds of the outages need L/C and c
        outages = [o for train in trains for o in find_outages(train, min_jump_s, capacity, share or 0.0)]
    return TrainInference(capacity, share, tuple(outages), tuple(per_train))
