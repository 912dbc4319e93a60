"""Confidence intervals of a simulation estimate from independent (or nearly so) units.

A unit is one independent replication, or one batch of consecutive packets of a single long
run (batch means; Law and Kelton, *Simulation Modeling and Analysis*, §9.5).  With unit means
x₁..x_n the estimate is x̄ and the half-width of the two-sided interval at level 1 − α is

    h = t_{n−1, 1−α/2} · s / √n,     s² = Σ(x_i − x̄)²/(n − 1).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import t as student_t


def mean_interval(unit_means: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean and t-interval half-width over axis 0 of ``unit_means`` (units × quantities).

    NaN entries (a unit that saw no packet of a quantity) are left out; a quantity seen by
    fewer than two units gets a NaN half-width (and NaN mean when seen by none).
    """
    x = np.asarray(unit_means, dtype=float)
    n = np.sum(np.isfinite(x), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(x, axis=0) / np.maximum(n, 1), np.nan)
        dev2 = np.nansum((x - mean) ** 2, axis=0)
        sd = np.sqrt(dev2 / np.maximum(n - 1, 1))
        half = np.where(n >= 2, student_t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n), np.nan)
    return mean, half
