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
from topo_opt.model.validation import replace_network

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
    return replace_network(
        network,
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


# --------------------------------------------------------------------------- trees
def binary_tree(n_receivers: int, capacity_bps: float | None = None, load_bps=None):
    """A probe tree: root ``S``, one shared link to ``n1``, then binary splits down to
    ``n_receivers`` leaves ``r1..rR`` (every inner node has two children, so every link is
    identifiable).  Links ``l<child>``; optional capacity and per-link loads (bit/s)."""
    from topo_opt.measure.tree_tomography import ProbeTree, check_tree

    if n_receivers < 2:
        raise ValueError("a probe tree needs at least two receivers")
    parent, child = ["S"], ["n1"]
    frontier, counter = ["n1"], 1
    while len(frontier) < n_receivers:
        node = frontier.pop(0)
        for _ in range(2):
            counter += 1
            parent.append(node)
            child.append(f"n{counter}")
            frontier.append(f"n{counter}")
    rename = {leaf: f"r{i + 1}" for i, leaf in enumerate(frontier)}
    child = [rename.get(c, c) for c in child]
    parent = [rename.get(p, p) for p in parent]
    n = len(child)
    cap = np.full(n, np.nan if capacity_bps is None else capacity_bps)
    load = np.full(n, np.nan) if load_bps is None else np.broadcast_to(np.asarray(load_bps, float), (n,)).copy()
    tree = ProbeTree("S", tuple(f"l{c}" for c in child), tuple(parent), tuple(child), cap, load)
    check_tree(tree)
    return tree


def tree_paths(tree) -> np.ndarray:
    """0/1 matrix receivers × links: link l lies on the path from the root to receiver r."""
    link_of = tree.link_of_child
    out = np.zeros((len(tree.receivers), len(tree.links)))
    for r, receiver in enumerate(tree.receivers):
        node = receiver
        while node != tree.root:
            i = link_of[node]
            out[r, i] = 1.0
            node = tree.parent[i]
    return out


def sample_tree_delays(tree, pmf: np.ndarray, bin_s: float, n_trains: int, seed: int = 0,
                       fixed_s: float = 0.0) -> np.ndarray:
    """End-to-end delays (trains × receivers, s) with link delays ``X_l = bin_s · k``,
    ``k ~ pmf[l]``, independent across links and trains, shared by every receiver below l;
    plus a fixed delay ``fixed_s`` per receiver."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(pmf, axis=1)
    draws = rng.random((n_trains, pmf.shape[0]))
    k = np.array([np.searchsorted(cdf[l], draws[:, l], side="right") for l in range(pmf.shape[0])]).T
    k = np.minimum(k, pmf.shape[1] - 1)
    return (k * bin_s) @ tree_paths(tree).T + fixed_s


def mm1_wait_pmf(utilization: float, mean_service_s: float, bin_s: float, n_bins: int) -> np.ndarray:
    """The M/M/1 waiting time, P(W = 0) = 1 − ρ, P(W > x) = ρ e^{−(μ−λ)x}, binned to multiples of
    ``bin_s`` (bin k holds (k ± 1/2) bin_s; the tail beyond the last bin goes to it)."""
    decay = (1.0 - utilization) / mean_service_s
    edges = (np.arange(n_bins) + 0.5) * bin_s
    survival = utilization * np.exp(-decay * edges)
    pmf = np.empty(n_bins)
    pmf[0] = 1.0 - survival[0]
    pmf[1:] = survival[:-1] - survival[1:]
    pmf[-1] += survival[-1]
    return pmf
