"""Golden-section search: the minimum of a function of one variable on an interval.

Each step holds two interior points x < y of [lo, hi] at the golden ratio φ = (√5 − 1)/2,

    x = hi − φ (hi − lo),    y = lo + φ (hi − lo),

and keeps [lo, y] when f(x) ≤ f(y), else [x, hi]; the kept point is an interior point of the
new interval, so each step costs one evaluation and shrinks the interval by φ.  For a unimodal
f the minimum stays inside (Kiefer, *Sequential minimax search for a maximum*, Proc. Amer.
Math. Soc. 4 (1953) 502–506); for other functions it is a local search, and callers keep the
best point they evaluated.  To maximise, search −f.
"""
from __future__ import annotations

import math
from typing import Callable

GOLDEN_RATIO = (math.sqrt(5.0) - 1.0) / 2.0


def golden_section(f: Callable[[float], float], lo: float, hi: float, steps: int) -> tuple[float, float]:
    """(t, f(t)): the better of the two interior points after ``steps`` steps on [``lo``, ``hi``]
    (x on ties); f is evaluated ``steps`` + 2 times, first at x then at y."""
    x, y = hi - GOLDEN_RATIO * (hi - lo), lo + GOLDEN_RATIO * (hi - lo)
    fx, fy = f(x), f(y)
    for _ in range(steps):
        if fx <= fy:
            hi, y, fy = y, x, fx
            x = hi - GOLDEN_RATIO * (hi - lo)
            fx = f(x)
        else:
            lo, x, fx = x, y, fy
            y = lo + GOLDEN_RATIO * (hi - lo)
            fy = f(y)
    return (x, fx) if fx <= fy else (y, fy)
