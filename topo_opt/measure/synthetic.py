"""Synthetic ground truth for the measurement pipeline (tests, examples, benchmarks).

No public measurement data ships with topo-opt, so the truth is built:

* :func:`synthetic_counters` -- a bundled instance's demands times a daily profile and noise,
  routed, turned into interface counters (32-bit by default) with wraps, resets, jittered and
  missed polls; the true demands and the true binned rates come back with the CSV text.
* :func:`sample_tree_delays` -- end-to-end delays of probe trains on a tree with known per-link
  delay distributions.

Every generator takes a seed and is deterministic for it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from topo_opt.measure.counters import Key
from topo_opt.measure.routing_matrix import demand_arc_matrix, routing_for
from topo_opt.model.network import Network

EPOCH_S = 1_767_571_200.0  # 2026-01-05T00:00:00Z, a Monday
DAY_S = 86_400.0


def daily_profile(time_s: np.ndarray, amplitude: float = 0.5, peak_hour: float = 20.0) -> np.ndarray:
    """1 + amplitude · cos(2π (t − peak)/day): mean 1 over a day, largest at ``peak_hour`` UTC."""
    phase = (np.asarray(time_s, float) - EPOCH_S) / DAY_S - peak_hour / 24.0
    return 1.0 + amplitude * np.cos(2.0 * np.pi * phase)


@dataclass(frozen=True)
class SyntheticCounters:
    """Counters made from a known truth.

    ``csv`` -- counter file text (long format); ``keys`` -- the interfaces; ``fine_edges`` and
    ``fine_rate[s, k]`` -- the true rate of interface s in fine step k (bit/s, piecewise
    constant); ``demand_mean`` -- the true mean rate of every demand over the period (bit/s);
    ``scale`` -- the factor applied to the instance's demands and capacities; ``resets`` --
    (key, time) of each reset inserted; ``missed`` -- (key, time) of each missed poll.
    """

    csv: str
    keys: tuple[Key, ...]
    fine_edges: np.ndarray
    fine_rate: np.ndarray
    demand_mean: np.ndarray
    scale: float
    resets: tuple[tuple[Key, float], ...]
    missed: tuple[tuple[Key, float], ...]

    def true_bin_rates(self, edges: np.ndarray) -> np.ndarray:
        """True mean rate of every interface in each bin of ``edges`` (NaN outside the period)."""
        cumulative = np.concatenate([np.zeros((len(self.keys), 1)),
                                     np.cumsum(self.fine_rate * np.diff(self.fine_edges), axis=1)], axis=1)
        inside = (edges[:-1] >= self.fine_edges[0]) & (edges[1:] <= self.fine_edges[-1])
        values = np.vstack([np.diff(np.interp(edges, self.fine_edges, row)) for row in cumulative])
        return np.where(inside, values / np.diff(edges), np.nan)

    def true_means(self) -> dict[Key, float]:
        """True mean rate of every interface over the whole period (bit/s)."""
        width = np.diff(self.fine_edges)
        return {k: float(row @ width / width.sum()) for k, row in zip(self.keys, self.fine_rate)}


def scaled_instance(network: Network, scale: float) -> Network:
    """``network`` with demand rates and link (and module) capacities times ``scale`` (recorded in metadata),
    i.e. the instance the counters of :func:`synthetic_counters` were taken on."""
    metadata = dict(network.metadata)
    metadata["measurement_scale"] = {"rule": "demand rates and link capacities multiplied by scale "
                                             "(topo_opt.measure.synthetic.scaled_instance)", "scale": scale}
    return network.replace(
        links=tuple(dataclasses.replace(link, capacity=link.capacity * scale, modules=tuple(
            dataclasses.replace(m, capacity=m.capacity * scale) for m in link.modules)) for link in network.links),
        demands=tuple(dataclasses.replace(d, rate=d.rate * scale) for d in network.demands), metadata=metadata)


def synthetic_counters(network: Network, routing: str = "min-hop", days: float = 1.0, poll_s: float = 300.0,
                       jitter_s: float = 15.0, fine_s: float = 60.0, noise: float = 0.1,
                       amplitude: float = 0.5, peak_load_bps: float = 50e6, counter_bits: int = 32,
                       n_resets: int = 2, n_missed: int = 3, access: bool = True,
                       seed: int = 0) -> SyntheticCounters:
    """Counters of ``network`` under its demands, a daily profile and noise.

    Demand k's rate in fine step j (``fine_s`` s long) is
    ``s · r_k · profile(t_j) · max(0, 1 + noise · N(0, 1))``, with s the scale that puts the
    largest arc's peak load at ``peak_load_bps`` (so 32-bit octet counters wrap every few
    minutes but never twice between polls).  Counters (octets) start at random values, are read
    every ``poll_s`` s ± U(−jitter, jitter), and carry ``n_resets`` resets (the counter restarts
    at 0) and ``n_missed`` missed polls on random interfaces.  ``speed_bps`` is the link capacity
    times s.  ``access`` adds the ingress and egress counter of every node.
    """
    rng = np.random.default_rng(seed)
    fine_edges = EPOCH_S + np.arange(int(round(days * DAY_S / fine_s)) + 1) * fine_s
    centres = 0.5 * (fine_edges[:-1] + fine_edges[1:])
    base = network.demand_rate
    demand = (base[:, None] * daily_profile(centres, amplitude)[None, :]
              * np.maximum(0.0, 1.0 + noise * rng.standard_normal((len(base), len(centres)))))
    arc_matrix = demand_arc_matrix(network, routing_for(network, routing))
    arc_rate = arc_matrix @ demand
    scale = peak_load_bps / float(arc_rate.max())
    demand, arc_rate = demand * scale, arc_rate * scale
    keys: list[Key] = [(link.id, d) for d in ("forward", "reverse") for link in network.links]
    rates = [arc_rate]
    speeds = list(np.concatenate([network.link_capacity, network.link_capacity]) * scale)
    if network.link_model == "directed":
        keys, rates, speeds = keys[:network.n_links], [arc_rate[:network.n_links]], speeds[:network.n_links]
    if access:
        for direction, ends in (("ingress", network.demand_source), ("egress", network.demand_target)):
            totals = np.zeros((network.n_nodes, demand.shape[1]))
            np.add.at(totals, ends, demand)
            keys += [(node.id, direction) for node in network.nodes]
            rates.append(totals)
            speeds += [np.nan] * network.n_nodes
    fine_rate = np.vstack(rates)
    cumulative_bits = np.concatenate([np.zeros((len(keys), 1)), np.cumsum(fine_rate * fine_s, axis=1)], axis=1)
    modulus = 2 ** counter_bits
    reset_series = rng.choice(len(keys), size=min(n_resets, len(keys)), replace=False)
    missed_series = rng.choice(len(keys), size=n_missed)
    rows, resets, missed = [], [], []
    for s, key in enumerate(keys):
        nominal = fine_edges[0] + rng.uniform(0, poll_s) + np.arange(int(days * DAY_S / poll_s)) * poll_s
        times = np.clip(nominal + rng.uniform(-jitter_s, jitter_s, nominal.size), fine_edges[0], fine_edges[-1])
        times = np.unique(times)
        for _ in np.flatnonzero(missed_series == s):
            drop = int(rng.integers(1, times.size - 1))
            missed.append((key, float(times[drop])))
            times = np.delete(times, drop)
        octets = np.floor(np.interp(times, fine_edges, cumulative_bits[s]) / 8.0)
        offset = np.full(times.size, float(rng.integers(0, modulus)))
        if s in reset_series:
            at = int(rng.integers(times.size // 4, 3 * times.size // 4))
            reset_time = float(rng.uniform(times[at - 1], times[at]))
            resets.append((key, reset_time))
            offset[at:] = -np.floor(np.interp(reset_time, fine_edges, cumulative_bits[s]) / 8.0)
        counter = np.mod(octets + offset, modulus).astype(np.uint64)
        speed = "" if np.isnan(speeds[s]) else repr(float(speeds[s]))
        rows += [(t, key[0], key[1], int(c), speed) for t, c in zip(times, counter)]
    rows.sort(key=lambda r: r[0])
    text = "timestamp,link,direction,counter,counter_bits,speed_bps\n" + "".join(
        f"{t:.3f},{link},{direction},{c},{counter_bits},{speed}\n" for t, link, direction, c, speed in rows)
    return SyntheticCounters(text, tuple(keys), fine_edges, fine_rate, demand.mean(axis=1), scale,
                             tuple(resets), tuple(missed))
