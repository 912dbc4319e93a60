"""Deterministic network calculus: arrival and service curves as values, and their bounds.

Curves (Cruz 1991; Le Boudec and Thiran, *Network Calculus*, LNCS 2050, 2001, ch. 1 and 6):

* :class:`ArrivalCurve` -- a concave piecewise-linear curve α(t) = min_i (b_i + r_i t) for t > 0,
  α(0) = 0.  A token bucket (β, ρ) has one piece; the dual bucket of a token bucket followed
  by a peak-rate shaper p with packet size M has two, min(p t + M, β + ρ t).  ``a + b`` is the
  aggregate of two flows (pieces added pairwise, dominated ones dropped); ``a.shift(D)`` is
  α(t + D), the arrival curve of a flow after a system that delays it by at most D.
* :class:`RateLatency` -- the service curve β_{R,T}(t) = R (t − T)⁺ of a link: R its rate, T the
  largest packet's transmission time plus processing.  ``s1 * s2`` is the min-plus convolution,
  β_{R1,T1} ⊗ β_{R2,T2} = β_{min R, T1+T2} (a tandem is one server: pay bursts only once).
  ``s.leftover(cross)`` is the service left to a flow under blind (any-order) multiplexing with
  token-bucket cross traffic (b_c, r_c): β_{R − r_c, (b_c + R T)/(R − r_c)} (L&T Thm 6.2.1).

Bounds, for α concave and β = β_{R,T} (L&T Thm 1.4.1, 1.4.2, 1.4.3):

* delay    h(α, β) = T + sup_{t>0} (α(t)/R − t)⁺, finite iff the long-term rate min r_i ≤ R;
* backlog  v(α, β) = sup_t α(t) − β(t) = α(T) when the rates after T are ≤ R (else at a kink);
* output   α ⊘ β ≤ min over pieces with r_i ≤ R of (b_i + r_i T) + r_i t.

Unbounded is a value: every bound is ``inf`` when the long-term arrival rate exceeds R.

Shaper helpers with their closed forms (models.md §11): the most data a token bucket lets
through in T, β + ρT; how long a PowerBoost burst at r over a sustained rate R lasts,
d = β/(r − R); the delay a full buffer adds, buffer/drain rate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from topo_opt.errors import InvalidInputError


@dataclass(frozen=True)
class ArrivalCurve:
    """α(t) = min_i (bursts[i] + rates[i]·t) for t > 0 (α(0) = 0); concave, non-decreasing.

    Pieces are kept sorted by decreasing rate (increasing burst) with dominated pieces dropped,
    so consecutive pieces intersect at increasing times.
    """

    bursts: tuple[float, ...]
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        b, r = np.asarray(self.bursts, float), np.asarray(self.rates, float)
        if b.size == 0 or b.shape != r.shape or not (np.all(np.isfinite(b)) and np.all(np.isfinite(r))) \
                or np.any(b < 0) or np.any(r < 0):
            raise InvalidInputError(f"arrival curve needs pieces with finite bursts and rates >= 0, "
                                    f"got bursts {self.bursts!r}, rates {self.rates!r}")
        kept = _lower_envelope(b, r)
        object.__setattr__(self, "bursts", tuple(b[kept].tolist()))
        object.__setattr__(self, "rates", tuple(r[kept].tolist()))

    @classmethod
    def token_bucket(cls, burst: float, rate: float) -> "ArrivalCurve":
        """γ_{ρ,β}(t) = β + ρt."""
        return cls((burst,), (rate,))

    @classmethod
    def dual_bucket(cls, burst: float, rate: float, peak_rate: float, max_packet: float) -> "ArrivalCurve":
        """min(p t + M, β + ρ t): a token bucket followed by a peak-rate shaper (p = inf: none)."""
        if math.isinf(peak_rate):
            return cls.token_bucket(burst, rate)
        return cls((max_packet, burst), (peak_rate, rate))

    @property
    def rate(self) -> float:
        """Long-term rate: the smallest slope."""
        return self.rates[-1]

    @property
    def burst(self) -> float:
        """α(0⁺): the smallest burst."""
        return self.bursts[0]

    @property
    def token_bucket_part(self) -> tuple[float, float]:
        """(burst, rate) of the long-term piece: a token bucket above α."""
        return self.bursts[-1], self.rates[-1]

    def __call__(self, t) -> np.ndarray:
        t = np.asarray(t, float)
        values = np.min(np.add.outer(t * 0, self.bursts) + np.multiply.outer(t, self.rates), axis=-1)
        return np.where(t > 0, values, 0.0)

    def breakpoints(self) -> np.ndarray:
        """Times where consecutive pieces meet (increasing), with 0 first."""
        b, r = np.asarray(self.bursts), np.asarray(self.rates)
        with np.errstate(invalid="ignore", divide="ignore"):
            cross = (b[1:] - b[:-1]) / (r[:-1] - r[1:])
        return np.concatenate([[0.0], cross])

    def __add__(self, other: "ArrivalCurve") -> "ArrivalCurve":
        """Aggregate of two flows (:func:`aggregate`)."""
        return aggregate((self, other))

    def shift(self, delay_s: float) -> "ArrivalCurve":
        """α(t + D): a flow's arrival curve after a system that delays every bit by at most D."""
        if not delay_s >= 0:
            raise InvalidInputError(f"delay must be >= 0 s, got {delay_s!r}")
        return ArrivalCurve(tuple(np.asarray(self.bursts) + np.asarray(self.rates) * delay_s), self.rates)


def aggregate(curves) -> ArrivalCurve:
    """The arrival curve of an aggregate, Σ_f α_f, as one concave piecewise-linear curve.

    Between consecutive breakpoints of all the curves each α_f follows one affine piece, so
    the sum is affine there; a concave function is the minimum of its segments' extensions.
    Costs O(P log P) for P pieces in all (summing pieces pairwise would cost their product).
    """
    curves = list(curves)
    if not curves:
        return ArrivalCurve((0.0,), (0.0,))
    times, d_burst, d_rate = [], [], []
    burst0 = rate0 = 0.0
    for c in curves:
        burst0 += c.bursts[0]
        rate0 += c.rates[0]
        if len(c.rates) > 1:
            times.append(c.breakpoints()[1:])
            d_burst.append(np.diff(c.bursts))
            d_rate.append(np.diff(c.rates))
    if not times:
        return ArrivalCurve((burst0,), (rate0,))
    t, db, dr = (np.concatenate(x) for x in (times, d_burst, d_rate))
    order = np.argsort(t, kind="stable")
    bursts = np.concatenate([[burst0], burst0 + np.cumsum(db[order])])
    rates = np.concatenate([[rate0], rate0 + np.cumsum(dr[order])])
    return ArrivalCurve(tuple(np.maximum(bursts, 0.0)), tuple(np.maximum(rates, 0.0)))


def _lower_envelope(b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Indices of the affine pieces b + r t that attain min over t > 0, by decreasing rate."""
    order = np.lexsort((b, -r))  # decreasing rate, then increasing burst
    kept: list[int] = []
    for i in order:
        if kept and r[kept[-1]] == r[i]:
            continue  # same rate, larger burst: dominated
        if kept and b[i] <= b[kept[-1]]:
            # a smaller rate and no larger burst dominates every earlier (steeper) piece
            while kept and b[i] <= b[kept[-1]]:
                kept.pop()
        while len(kept) >= 2:  # the middle piece is never the minimum
            j, k = kept[-2], kept[-1]
            # times where k meets j and where i meets j; k useless if i takes over first
            if (b[k] - b[j]) * (r[j] - r[i]) >= (b[i] - b[j]) * (r[j] - r[k]):
                kept.pop()
            else:
                break
        kept.append(int(i))
    return np.asarray(kept, dtype=np.int64)


@dataclass(frozen=True)
class RateLatency:
    """β_{R,T}(t) = R (t − T)⁺: rate R (rate unit), latency T (s)."""

    rate: float
    latency_s: float

    def __post_init__(self) -> None:
        if not (self.rate >= 0 and self.latency_s >= 0):
            raise InvalidInputError(f"rate-latency server needs rate >= 0 and latency >= 0 s, got "
                                    f"{self.rate!r}, {self.latency_s!r} s")

    def __call__(self, t) -> np.ndarray:
        return self.rate * np.maximum(np.asarray(t, float) - self.latency_s, 0.0)

    def __mul__(self, other: "RateLatency") -> "RateLatency":
        """Min-plus convolution β_{R1,T1} ⊗ β_{R2,T2} = β_{min(R1,R2), T1+T2} (concatenation)."""
        return RateLatency(min(self.rate, other.rate), self.latency_s + other.latency_s)

    def leftover(self, cross_burst: float, cross_rate: float) -> "RateLatency":
        """Blind multiplexing with token-bucket cross traffic (b_c, r_c) on a strict server:
        β_{R − r_c, (b_c + R T)/(R − r_c)}; rate 0 and latency inf when r_c ≥ R."""
        spare = self.rate - cross_rate
        if not spare > 0:
            return RateLatency(0.0, math.inf)
        return RateLatency(spare, (cross_burst + self.rate * self.latency_s) / spare)


def delay_bound(alpha: ArrivalCurve, beta: RateLatency) -> float:
    """h(α, β_{R,T}) = T + max(0, sup_{t>0} α(t)/R − t) (s); inf when α's rate exceeds R.

    α(t)/R − t is concave and piecewise linear, so its supremum is at t = 0⁺ or at a breakpoint.
    """
    if beta.rate == 0 or alpha.rate > beta.rate:
        return math.inf
    t = alpha.breakpoints()
    with np.errstate(invalid="ignore"):
        values = np.where(t > 0, alpha(t), alpha.burst) / beta.rate - t
    return float(beta.latency_s + max(0.0, float(np.nanmax(values))))


def backlog_bound(alpha: ArrivalCurve, beta: RateLatency) -> float:
    """v(α, β_{R,T}) = sup_t α(t) − β(t) (rate unit × s); inf when α's rate exceeds R."""
    if beta.rate == 0 or alpha.rate > beta.rate:
        return math.inf
    t = np.concatenate([alpha.breakpoints(), [beta.latency_s]])
    t = t[np.isfinite(t)]
    values = np.where(t > 0, alpha(t), alpha.burst) - beta(t)
    return float(max(0.0, float(values.max())))


def output_curve(alpha: ArrivalCurve, beta: RateLatency) -> ArrivalCurve | None:
    """An arrival curve of the output, α ⊘ β ≤ min_{i: r_i ≤ R} (b_i + r_i T) + r_i t.

    Deconvolution is monotone, so each piece's own output bounds the output of the minimum;
    None when every piece is faster than the server (no finite output curve).
    """
    keep = [i for i, r in enumerate(alpha.rates) if r <= beta.rate]
    if not keep or math.isinf(beta.latency_s):
        return None
    return ArrivalCurve(tuple(alpha.bursts[i] + alpha.rates[i] * beta.latency_s for i in keep),
                        tuple(alpha.rates[i] for i in keep))


# ------------------------------------------------------------------------------ shaper helpers
def max_data(burst: float, rate: float, interval_s: float) -> float:
    """The most data a token bucket (β, ρ) lets through in an interval T: β + ρT."""
    return burst + rate * interval_s


def powerboost_duration_s(bucket: float, boost_rate: float, sustained_rate: float) -> float:
    """How long a sender can keep rate r above the sustained rate R with a bucket β:
    d = β/(r − R) (s); inf when r ≤ R.  E.g. β = 8 Mbit, r = 15, R = 10 Mbit/s: 1.6 s."""
    excess = boost_rate - sustained_rate
    return math.inf if excess <= 0 else bucket / excess


def buffer_delay_s(buffered: float, drain_rate: float) -> float:
    """The delay a full buffer adds (bufferbloat): buffered data / drain rate (s)."""
    if not drain_rate > 0:
        raise InvalidInputError(f"drain rate must be > 0, got {drain_rate!r}")
    return buffered / drain_rate
