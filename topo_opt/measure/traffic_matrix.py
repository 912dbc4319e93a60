"""Traffic-matrix estimation from link counts: gravity, least squares and tomogravity.

Measured loads ``y`` (interfaces, rate unit) and the routing matrix ``A``
(:mod:`~topo_opt.measure.routing_matrix`) relate to the unknown demands ``x`` by ``y = A x``.
With fewer interfaces than demands, x is not determined by y; the methods:

* **gravity** -- the prior alone.  With access counters at every node (ingress ``I_s``, egress
  ``E_t``): ``g_st = I_s E_t / Σ_{t'} E_{t'}`` (sum over the targets t' paired with s).  Without
  them each node's mass is the measured traffic on its links, ``m_n = Σ_{arcs at n} y_a``, and
  ``g_st = V m_s m_t`` with V the scale that makes the predicted arc loads sum to the measured.
* **least-squares** -- ``min ‖y − A x‖²`` subject to ``x ≥ 0`` (one of many minimisers when A
  has a null space).
* **tomogravity** -- ``min ‖y − A x‖² + λ² ‖(x − g)/√g‖²`` subject to ``x ≥ 0``: the point
  that fits the counts and, where they leave freedom, stays near the gravity prior in a
  relative (chi-square-like) sense.  Rates are divided by ``s = max(y)`` first, so λ is
  dimensionless: small λ (default 0.01) fits the counts almost exactly.

All bounded least-squares problems are solved by :func:`scipy.optimize.lsq_linear` (tomogravity
sparse, trust-region reflective with LSMR; least squares by bounded-variable least squares).  The fit
report gives the residual of every interface and the demands the routing cannot identify:
demand k is identifiable iff the unit vector e_k is orthogonal to the null space of A.

References
----------
Zhang, Roughan, Duffield, Greenberg, *Fast accurate computation of large-scale IP traffic
matrices from link loads*, ACM SIGMETRICS 2003.
Zhang, Roughan, Lund, Donoho, *An information-theoretic approach to traffic matrix estimation*,
ACM SIGCOMM 2003.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.optimize import lsq_linear

from topo_opt.errors import InvalidInputError
from topo_opt.measure.counters import Key
from topo_opt.model.network import Network
from topo_opt.model.validation import replace_network

METHODS = ("tomogravity", "gravity", "least-squares")
DEFAULT_LAMBDA = 0.01
NULL_TOLERANCE = 1e-5
"""A demand whose unit vector has a null-space part of norm above this is unidentifiable (the
part is computed as √(1 − ‖V_rᵀ e_k‖²), whose rounding noise is about √(rank·ε) ≈ 1e-7)."""
PRIOR_FLOOR = 1e-9
"""Prior entries are floored at this fraction of the largest, so that 1/√g stays finite."""


@dataclass(frozen=True)
class TMEstimate:
    """An estimated demand vector (rate unit, one entry per demand of the OD network) and its fit.

    ``residual = y − A x`` per interface; ``unidentifiable`` lists the demand indices the
    routing cannot separate; ``rank`` is the rank of A.
    """

    method: str
    x: np.ndarray
    prior: np.ndarray
    keys: tuple[Key, ...]
    y: np.ndarray
    residual: np.ndarray
    rank: int
    unidentifiable: np.ndarray
    options: dict = field(default_factory=dict)

    @property
    def relative_residual(self) -> float:
        """‖y − A x‖ / ‖y‖."""
        norm = float(np.linalg.norm(self.y))
        return float(np.linalg.norm(self.residual)) / norm if norm > 0 else 0.0


def gravity_prior(network: Network, keys: list[Key], y: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The gravity prior g (one entry per demand), see the module docstring."""
    n = network.n_nodes
    ingress, egress = np.full(n, np.nan), np.full(n, np.nan)
    mass = np.zeros(n)
    for (ident, direction), value in zip(keys, y):
        if direction == "ingress":
            ingress[network.node_index[ident]] = value
        elif direction == "egress":
            egress[network.node_index[ident]] = value
        else:
            link = network.links[network.link_index[ident]]
            mass[network.node_index[link.source]] += value
            mass[network.node_index[link.target]] += value
    src, dst = network.demand_source, network.demand_target
    if np.all(np.isfinite(ingress[src])) and np.all(np.isfinite(egress[dst])):
        row_total = np.bincount(src, weights=egress[dst], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            prior = np.where(row_total[src] > 0, ingress[src] * egress[dst] / row_total[src], 0.0)
        return prior
    unit = mass[src] * mass[dst]
    arc_rows = np.array([d in ("forward", "reverse") for _, d in keys])
    predicted = float((matrix[arc_rows] @ unit).sum()) if arc_rows.any() else 0.0
    measured = float(y[arc_rows].sum()) if arc_rows.any() else 0.0
    if predicted <= 0:
        raise InvalidInputError("gravity prior: the measured links carry no traffic between the demands' nodes")
    return unit * measured / predicted


def unidentifiable_demands(matrix: np.ndarray) -> tuple[np.ndarray, int]:
    """(indices of demands not determined by ``y = A x``, rank of A).

    The part of e_k in the null space has norm √(1 − ‖V_rᵀ e_k‖²), V_r the right singular vectors
    of the row space (an economy SVD, O(interfaces² × demands); the full null space would cost
    O(demands³)).  Rank by :func:`scipy.linalg.null_space`'s rule: singular values above
    max(m, n)·ε·σ_max."""
    if matrix.size == 0:
        return np.arange(matrix.shape[1]), 0
    _, singular, vt = scipy.linalg.svd(matrix, full_matrices=False)
    rank = int(np.sum(singular > max(matrix.shape) * np.finfo(float).eps * singular.max()))
    in_row_space = np.sum(vt[:rank] ** 2, axis=0)
    return np.flatnonzero(np.sqrt(np.maximum(1.0 - in_row_space, 0.0)) > NULL_TOLERANCE), rank


def estimate(network: Network, keys: list[Key], y: np.ndarray, matrix: np.ndarray,
             method: str = "tomogravity", lam: float = DEFAULT_LAMBDA,
             prior: np.ndarray | None = None) -> TMEstimate:
    """Estimate the demands of ``network`` from loads ``y`` of the interfaces ``keys``.

    Parameters
    ----------
    network : Network
        Its demands are the origin-destination pairs to estimate (their rates are ignored).
    keys, y : interfaces and their measured loads (rate unit)
    matrix : A from :func:`~topo_opt.measure.routing_matrix.measurement_matrix`
    method : "tomogravity", "gravity" or "least-squares"
    lam : float
        λ of tomogravity (dimensionless, rates scaled by max(y)).
    prior : array, optional
        A prior g of one's own instead of :func:`gravity_prior`.
    """
    if method not in METHODS:
        raise InvalidInputError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if not (math.isfinite(lam) and lam > 0):
        raise InvalidInputError(f"--lambda must be a finite number > 0, got {lam!r}")
    y = np.asarray(y, float)
    prior = gravity_prior(network, keys, y, matrix) if prior is None else np.asarray(prior, float)
    scale = float(y.max()) if y.size and y.max() > 0 else 1.0
    a, b, g = matrix, y / scale, prior / scale
    options: dict = {"method": method}
    if method == "gravity":
        x = g
    elif method == "least-squares":
        x = lsq_linear(a, b, bounds=(0.0, np.inf), method="bvls", tol=1e-12).x
    else:
        floor = max(PRIOR_FLOOR * float(g.max()), np.finfo(float).tiny) if g.size else 1.0
        root = np.sqrt(np.maximum(g, floor))
        # x = √g·u turns the prior term into λ²‖u − g/√g‖²: a sparse system with an identity
        # block, solved by a trust-region reflective method with LSMR steps (bounded-variable
        # least squares on the dense stacked matrix costs O(demands³): 84 s at 68 nodes)
        stacked = scipy.sparse.vstack([scipy.sparse.csr_matrix(a) @ scipy.sparse.diags(root),
                                       lam * scipy.sparse.identity(len(root))]).tocsr()
        x = root * lsq_linear(stacked, np.concatenate([b, lam * g / root]), bounds=(0.0, np.inf),
                              method="trf", lsq_solver="lsmr", tol=1e-12).x
        options.update({"lambda": lam, "objective": "||y - A x||^2 + lambda^2 ||(x - g)/sqrt(g)||^2, x >= 0",
                        "scale": scale})
    x = np.maximum(x, 0.0) * scale
    unidentifiable, rank = unidentifiable_demands(matrix)
    return TMEstimate(method, x, prior, tuple(keys), y, y - matrix @ x, rank, unidentifiable, options)


def estimated_network(network: Network, result: TMEstimate, provenance: dict) -> Network:
    """``network`` with the estimated demands; zero estimates are dropped (rates must be > 0).

    ``metadata["demand_estimate"]`` records the method, its parameters, ``provenance`` (files,
    routing, statistic), the fit and the dropped and unidentifiable demand ids.
    """
    tiny = 1e-12 * float(result.x.max()) if result.x.size and result.x.max() > 0 else 0.0
    keep = result.x > tiny
    if not keep.any():
        raise InvalidInputError(f"{result.method}: every estimated demand is zero")
    demands = tuple(dataclasses.replace(d, rate=float(r))
                    for d, r, k in zip(network.demands, result.x, keep) if k)
    metadata = dict(network.metadata)
    metadata.pop("demand_generator", None)
    metadata["demand_estimate"] = {
        **result.options, **provenance, "rate_unit": network.rate_unit,
        "interfaces": len(result.keys), "demands": network.n_demands, "rank": result.rank,
        "relative_residual": result.relative_residual,
        "max_abs_residual": float(np.abs(result.residual).max()) if result.residual.size else 0.0,
        "dropped_zero_demands": [network.demands[i].id for i in np.flatnonzero(~keep)],
        "unidentifiable_demands": [network.demands[i].id for i in result.unidentifiable]}
    return replace_network(network, demands=demands, metadata=metadata)


def relative_error(estimate_x: np.ndarray, truth: np.ndarray) -> float:
    """‖x̂ − x‖ / ‖x‖ (the error measure of Zhang et al. 2003)."""
    return float(np.linalg.norm(estimate_x - truth) / np.linalg.norm(truth))
