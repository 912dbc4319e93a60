"""Binned rates and per-interface summaries: mean, peak, busy hour, 95th percentile, gaps.

Binning interpolates each cleaned cumulative counter linearly between polls to the edges of a
regular grid (``bin_s`` seconds, aligned to multiples of ``bin_s`` since the epoch) and takes

    rate_k = (U(e_{k+1}) − U(e_k)) / bin_s

so irregular polling needs no resampling of rates.  A bin is valid only when every poll
interval it touches is valid (no reset, no gap) and it lies inside the polled span: gaps stay
gaps (NaN), they are never filled.

Summaries over the valid bins of one interface:

* ``mean``, ``peak`` (largest bin);
* ``busy_hour``: the largest mean over ``round(3600 / bin_s)`` consecutive valid bins, with its
  start time (the interface's own busy hour);
* ``p95``: the billing rule, the ⌈0.95 n⌉-th smallest of the n valid bins (1-based).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from topo_opt.measure import STATISTICS  # noqa: F401  (re-exported)
from topo_opt.measure.counters import CleanSeries, Event, Key

DEFAULT_BIN_S = 300.0
HOUR_S = 3600.0


@dataclass(frozen=True)
class BinnedRates:
    """Rates of every series on a common grid: ``rate[s, k]`` for series ``keys[s]`` in bin
    ``[edges[k], edges[k+1])`` (rate unit), NaN where unknown."""

    keys: tuple[Key, ...]
    edges: np.ndarray
    rate: np.ndarray
    bin_s: float
    rate_unit: str


def bin_grid(series: list[CleanSeries], bin_s: float) -> np.ndarray:
    """Bin edges covering every series, aligned to multiples of ``bin_s``."""
    start = min(float(s.time_s[0]) for s in series)
    end = max(float(s.time_s[-1]) for s in series)
    first = math.floor(start / bin_s)
    last = max(math.ceil(end / bin_s), first + 1)
    return np.arange(first, last + 1, dtype=float) * bin_s


def bin_series(clean: CleanSeries, edges: np.ndarray) -> np.ndarray:
    """Rate of ``clean`` in each bin of ``edges`` (NaN where unknown), see the module docstring."""
    t, total = clean.time_s, clean.total
    width = np.diff(edges)
    rate = np.diff(np.interp(edges, t, total)) / width
    inside = (edges[:-1] >= t[0]) & (edges[1:] <= t[-1])
    if len(t) < 2:
        return np.full(len(width), np.nan)
    # poll interval holding each edge: interval i is [t_i, t_{i+1}]
    lo = np.clip(np.searchsorted(t, edges[:-1], side="right") - 1, 0, len(t) - 2)
    hi = np.clip(np.searchsorted(t, edges[1:], side="left") - 1, 0, len(t) - 2)
    bad = np.concatenate([[0], np.cumsum(~clean.interval_ok)])
    clean_bins = (bad[hi + 1] - bad[lo]) == 0
    return np.where(inside & clean_bins, rate, np.nan)


def bin_all(series: list[CleanSeries], bin_s: float = DEFAULT_BIN_S, rate_unit: str = "bit/s") -> BinnedRates:
    """Bin every series on one common grid."""
    edges = bin_grid(series, bin_s)
    rate = np.vstack([bin_series(s, edges) for s in series])
    return BinnedRates(tuple(s.key for s in series), edges, rate, float(bin_s), rate_unit)


def billing_percentile(samples: np.ndarray, q: float = 0.95) -> float:
    """The ⌈q n⌉-th smallest of n samples (1-based; NaN when there are none)."""
    samples = np.sort(np.asarray(samples, float))
    if samples.size == 0:
        return math.nan
    rank = math.ceil(q * samples.size - 1e-9)  # tolerance: 0.95 * 20 is 19, not 19.000000000000004
    return float(samples[max(rank, 1) - 1])


def busy_hour(rate: np.ndarray, edges: np.ndarray, bin_s: float) -> tuple[float, float]:
    """(largest mean over one hour of consecutive valid bins, its start time in s); NaN if none."""
    window = max(1, int(round(HOUR_S / bin_s)))
    if rate.size < window:
        return math.nan, math.nan
    valid = np.isfinite(rate)
    sums = np.convolve(np.where(valid, rate, 0.0), np.ones(window), mode="valid")
    counts = np.convolve(valid.astype(float), np.ones(window), mode="valid")
    full = counts == window
    if not full.any():
        return math.nan, math.nan
    best = int(np.flatnonzero(full)[np.argmax(sums[full])])
    return float(sums[best] / window), float(edges[best])


def invalid_runs(rate: np.ndarray, edges: np.ndarray) -> list[tuple[float, float]]:
    """Runs of unknown bins between the first and last valid bin, as (start, end) times in s."""
    valid = np.isfinite(rate)
    if not valid.any():
        return [(float(edges[0]), float(edges[-1]))]
    first, last = np.flatnonzero(valid)[[0, -1]]
    runs, start = [], None
    for k in range(first, last + 1):
        if not valid[k] and start is None:
            start = k
        elif valid[k] and start is not None:
            runs.append((float(edges[start]), float(edges[k])))
            start = None
    return runs


def summarize(binned: BinnedRates, clean: list[CleanSeries]) -> list[dict]:
    """One summary record per series: statistics (rate unit), bin counts, gaps, events."""
    by_key = {s.key: s for s in clean}
    records = []
    for row, key in enumerate(binned.keys):
        rate = binned.rate[row]
        valid = rate[np.isfinite(rate)]
        bh, bh_start = busy_hour(rate, binned.edges, binned.bin_s)
        series = by_key[key]
        events: list[Event] = list(series.events)
        records.append({
            "link": key[0], "direction": key[1],
            "mean": float(valid.mean()) if valid.size else math.nan,
            "peak": float(valid.max()) if valid.size else math.nan,
            "busy_hour": bh, "busy_hour_start_s": bh_start,
            "p95": billing_percentile(valid),
            "n_bins": int(rate.size), "n_valid": int(valid.size),
            "n_polls": int(series.time_s.size), "n_wraps": series.n_wraps,
            "n_resets": sum(e.kind == "reset" for e in events),
            "speed": series.speed,
            "gaps": [{"start_s": a, "end_s": b} for a, b in invalid_runs(rate, binned.edges)],
            "events": [e.to_dict() for e in events],
        })
    return records
