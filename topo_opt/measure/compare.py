"""Measured against predicted interface loads.

The prediction routes the instance's demands with the routing in force
(:mod:`~topo_opt.measure.routing_matrix`): ``ŷ = A r`` for the demand rates r.  Per
interface: measured y, predicted ŷ, the difference y − ŷ and the ratio y / ŷ.
"""
from __future__ import annotations

import math

import numpy as np

from topo_opt.measure.counters import Key
from topo_opt.measure.routing_matrix import measurement_matrix
from topo_opt.model.design import Routing
from topo_opt.model.network import Network

COLUMNS = ("link", "direction", "measured", "predicted", "difference", "ratio")


def compare_loads(network: Network, routing: Routing, measured: dict[Key, float],
                  source: str = "rates") -> list[dict]:
    """One record per measured interface (rates in the instance's rate unit), the largest
    relative discrepancy |y/ŷ − 1| first (interfaces predicted to carry nothing lead)."""
    keys = list(measured)
    predicted = measurement_matrix(network, routing, keys, source) @ network.demand_rate
    records = []
    for key, p in zip(keys, predicted):
        m = measured[key]
        records.append({"link": key[0], "direction": key[1], "measured": m, "predicted": float(p),
                        "difference": m - float(p), "ratio": m / float(p) if p > 0 else math.nan})
    records.sort(key=lambda r: -(abs(r["ratio"] - 1) if math.isfinite(r["ratio"]) else math.inf))
    return records


def summary(records: list[dict]) -> dict:
    """Relative L2 difference ‖y − ŷ‖/‖ŷ‖ and the largest |ratio − 1|."""
    y = np.array([r["measured"] for r in records])
    p = np.array([r["predicted"] for r in records])
    ratio = np.array([r["ratio"] for r in records])
    finite = np.isfinite(ratio)
    return {"interfaces": len(records),
            "relative_difference": float(np.linalg.norm(y - p) / np.linalg.norm(p)) if np.any(p) else math.nan,
            "max_abs_ratio_deviation": float(np.abs(ratio[finite] - 1).max()) if finite.any() else math.nan}
