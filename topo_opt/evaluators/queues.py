"""Steady-state single-queue models, vectorised over arrays of independent queues.

Every function takes arrival rates ``lam`` λ and service rates ``mu`` μ in packets per second
(arrays or scalars, broadcast together) and returns a :class:`QueueMetrics` of arrays.  Per queue
(Kleinrock 1975, *Queueing Systems* vol. 1; Bertsekas and Gallager, *Data Networks* §3.3–3.4):

* M/M/1:        N = ρ/(1−ρ),  T = 1/(μ−λ),  W_q = ρ/(μ−λ)
* M/G/1 (P–K):  W_q = ρ(1+c_s²)/(2μ(1−ρ)),  T = W_q + 1/μ,  N = λT  (M/D/1: c_s² = 0)
* M/M/1/K:      p_n = (1−ρ)ρⁿ/(1−ρ^{K+1}),  P_B = p_K (1/(K+1) at ρ = 1),
                L = ρ/(1−ρ) − (K+1)ρ^{K+1}/(1−ρ^{K+1}),  T = L/(λ(1−P_B))

with ρ = λ/μ.  The sojourn time T already contains the transmission (service) time 1/μ.

Saturation.  A queue with an infinite buffer and ρ ≥ 1 has no steady state: it is flagged
``saturated`` and its ``packets_in_system``, ``sojourn_s`` and ``waiting_s`` are NaN, never
infinite or negative.  A finite buffer (M/M/1/K) is stable for every ρ; only a queue with no
server (μ = 0) that is offered traffic is saturated.  An idle queue with μ = 0 (a link that is
off or has no capacity) reports ρ = 0, N = 0 and NaN delays (there is no service time).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topo_opt.errors import InvalidInputError

# Below this |(K+1) ln ρ| the closed form of L loses digits to cancellation; a 4-term series
# in ln ρ is exact to ~1e-14 there (see :func:`_mm1k_mean_number`).
_SERIES_THRESHOLD = 1e-2


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state measures of a set of independent queues, one entry per queue.

    Attributes
    ----------
    utilization : ndarray
        Offered load ρ = λ/μ (can exceed 1 for a finite buffer); 0 for an idle queue without a
        server, NaN for a loaded one.
    packets_in_system : ndarray
        Mean number of packets N in the queue, the one in service included.
    sojourn_s : ndarray
        Mean time an admitted packet spends in the queue, waiting plus service (s).
    waiting_s : ndarray
        Mean waiting time before service starts (s).
    blocking : ndarray
        Probability P_B that an arriving packet is dropped (0 for an infinite buffer).
    carried_rate : ndarray
        Departure rate (packet/s): λ(1 − P_B), and μ for a saturated infinite-buffer queue.
    saturated : ndarray of bool
        ρ ≥ 1 with an infinite buffer, or traffic offered to a queue with μ = 0.  N, sojourn and
        waiting are NaN there.
    """

    utilization: np.ndarray
    packets_in_system: np.ndarray
    sojourn_s: np.ndarray
    waiting_s: np.ndarray
    blocking: np.ndarray
    carried_rate: np.ndarray
    saturated: np.ndarray


def _nonnegative(name: str, value, unit: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        position = f" at queue {int(bad[0])}" if arr.ndim else ""
        raise InvalidInputError(
            f"{name} must be a finite number >= 0, got {float(arr.flat[bad[0]])!r} {unit}".rstrip()
            + position)
    return arr


def _rates(lam, mu) -> tuple[np.ndarray, np.ndarray]:
    lam = _nonnegative("arrival rate λ", lam, "packet/s")
    mu = _nonnegative("service rate μ", mu, "packet/s")
    return np.broadcast_arrays(lam, mu)


def _utilization(lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mu > 0, lam / np.where(mu > 0, mu, 1.0), np.where(lam > 0, np.nan, 0.0))


def _infinite_buffer(lam: np.ndarray, mu: np.ndarray, waiting_s: np.ndarray) -> QueueMetrics:
    """Assemble the metrics of an infinite-buffer queue from its mean waiting time W_q.

    T = W_q + 1/μ and N = λT (Little); saturated and server-less entries become NaN.
    """
    rho = _utilization(lam, mu)
    saturated = (lam >= mu) & (lam > 0)
    undefined = saturated | (mu == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sojourn = waiting_s + 1.0 / mu
        n = lam * sojourn
    return QueueMetrics(
        utilization=rho,
        packets_in_system=np.where(saturated, np.nan, np.where(mu == 0, 0.0, n)),
        sojourn_s=np.where(undefined, np.nan, sojourn),
        waiting_s=np.where(undefined, np.nan, waiting_s),
        blocking=np.zeros_like(rho),
        carried_rate=np.minimum(lam, mu),
        saturated=saturated,
    )


def mm1(lam, mu) -> QueueMetrics:
    """M/M/1 queues: Poisson arrivals, exponential service, one server, infinite buffer.

    Parameters
    ----------
    lam, mu : array_like
        Arrival and service rates (packet/s), broadcast together.

    Returns
    -------
    QueueMetrics
        ``packets_in_system`` N = ρ/(1−ρ), ``sojourn_s`` T = 1/(μ−λ), ``waiting_s``
        W_q = ρ/(μ−λ); NaN with ``saturated`` where λ ≥ μ.

    Raises
    ------
    InvalidInputError
        A negative, NaN or infinite rate.

    Examples
    --------
    1 Mbit/s with 500-byte packets serves μ = 250 packet/s; 800 kbit/s offered is λ = 200:

    >>> q = mm1(200.0, 250.0)
    >>> float(q.packets_in_system), float(q.sojourn_s)
    (4.0, 0.02)
    """
    lam, mu = _rates(lam, mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        waiting = lam / (mu * (mu - lam))
    return _infinite_buffer(lam, mu, waiting)


def mg1(lam, mu, cs2) -> QueueMetrics:
    """M/G/1 queues by the Pollaczek–Khinchine formula.

    W_q = ρ(1 + c_s²) / (2μ(1 − ρ)) = λ(1 + c_s²) / (2μ(μ − λ)),  T = W_q + 1/μ,  N = λT.

    Parameters
    ----------
    lam, mu : array_like
        Arrival and service rates (packet/s).
    cs2 : array_like
        Squared coefficient of variation c_s² = Var(S)/E(S)² of the service time (of the packet
        length): 1 gives M/M/1, 0 gives M/D/1.

    Returns
    -------
    QueueMetrics
        NaN delays with ``saturated`` where λ ≥ μ.

    Raises
    ------
    InvalidInputError
        A negative, NaN or infinite rate or ``cs2``.
    """
    lam, mu = _rates(lam, mu)
    cs2 = _nonnegative("squared coefficient of variation cs2", cs2, "")
    lam, mu, cs2 = np.broadcast_arrays(lam, mu, cs2)
    with np.errstate(divide="ignore", invalid="ignore"):
        waiting = lam * (1.0 + cs2) / (2.0 * mu * (mu - lam))
    return _infinite_buffer(lam, mu, waiting)


def md1(lam, mu) -> QueueMetrics:
    """M/D/1 queues (fixed packet length): :func:`mg1` with c_s² = 0, W_q = ρ/(2μ(1 − ρ))."""
    return mg1(lam, mu, 0.0)


def _mm1k_blocking(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """P_B = (1−ρ)ρ^K/(1−ρ^{K+1}) with x = ln ρ, written so that no power overflows.

    ρ ≤ 1: P_B = expm1(x)·e^{Kx}/expm1((K+1)x);  ρ > 1 (σ = 1/ρ): P_B = (1−σ)/(1−σ^{K+1})
    = expm1(−x)/expm1(−(K+1)x);  ρ = 1: 1/(K+1).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        low = np.expm1(x) * np.exp(k * x) / np.expm1((k + 1) * x)
        high = np.expm1(-x) / np.expm1(-(k + 1) * x)
    return np.where(x == 0, 1.0 / (k + 1), np.where(x < 0, low, high))


def _mm1k_mean_number(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """L = ρ/(1−ρ) − (K+1)ρ^{K+1}/(1−ρ^{K+1}) with x = ln ρ, stable for every ρ > 0.

    With the Bernoulli function g(t) = t/(eᵗ − 1), L = (g(−x) − g(−(K+1)x))/(−x).  Near
    ρ = 1 both terms approach 1/(1−ρ) and cancel, so for |(K+1)x| < 1e-2 the series
    L = K/2 + K(K+2)x/12 − ((K+1)⁴ − 1)x³/720 + O(x⁵) is used (it gives L = K/2 at ρ = 1).
    """
    def g(t):
        return np.where(t == 0, 1.0, t / np.where(t == 0, 1.0, np.expm1(t)))

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        closed = (g(-x) - g(-(k + 1) * x)) / -x
    series = k / 2 + k * (k + 2) * x / 12 - ((k + 1) ** 4 - 1) * x ** 3 / 720
    return np.where(np.abs((k + 1) * x) < _SERIES_THRESHOLD, series, closed)


def mm1k(lam, mu, K) -> QueueMetrics:
    """M/M/1/K queues: a buffer of K packets, the one in service included.

    p_n = (1−ρ)ρⁿ/(1−ρ^{K+1}) for n = 0..K; blocking P_B = p_K (1/(K+1) at ρ = 1);
    L = ρ/(1−ρ) − (K+1)ρ^{K+1}/(1−ρ^{K+1}) (K/2 at ρ = 1); carried rate λ(1−P_B);
    sojourn T = L/(λ(1−P_B)) by Little's law (1/μ when λ = 0); W_q = T − 1/μ.

    Every ρ ≥ 0 has a steady state.  The formulas are evaluated in ln ρ so that ρ → 1 and
    large K stay accurate (no 0/0, no overflow of ρ^K).

    Parameters
    ----------
    lam, mu : array_like
        Arrival and service rates (packet/s).
    K : int or array_like of int
        Buffer size in packets (≥ 1), including the packet in service.

    Returns
    -------
    QueueMetrics
        ``saturated`` only where μ = 0 and λ > 0 (everything is blocked: P_B = 1).

    Raises
    ------
    InvalidInputError
        A negative, NaN or infinite rate, or K not an integer ≥ 1.
    """
    lam, mu = _rates(lam, mu)
    k = np.asarray(K, dtype=float)
    bad = np.flatnonzero(~np.isfinite(k) | (k < 1) | (k != np.floor(k)))
    if bad.size:
        raise InvalidInputError(
            f"buffer size K must be an integer >= 1 packet, got {float(k.flat[bad[0]])!r}")
    lam, mu, k = np.broadcast_arrays(lam, mu, k)
    rho = _utilization(lam, mu)
    served = (mu > 0) & (lam > 0)
    with np.errstate(divide="ignore"):
        x = np.log(np.where(served, rho, 1.0))
    blocking = np.where(served, _mm1k_blocking(x, k), np.where(lam > 0, 1.0, 0.0))
    n = np.where(served, _mm1k_mean_number(x, k), 0.0)
    carried = lam * (1.0 - blocking)
    with np.errstate(divide="ignore", invalid="ignore"):
        service_s = 1.0 / mu
        sojourn = np.where(served, n / np.where(served, carried, 1.0), service_s)
        waiting = np.maximum(sojourn - service_s, 0.0)
    no_server = mu == 0
    return QueueMetrics(
        utilization=rho,
        packets_in_system=n,
        sojourn_s=np.where(no_server, np.nan, sojourn),
        waiting_s=np.where(no_server, np.nan, waiting),
        blocking=blocking,
        carried_rate=carried,
        saturated=no_server & (lam > 0),
    )
