"""Plot of measured against predicted interface loads (``topo-opt measure rates --plot``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from topo_opt.report.figure import new_figure, write_figure


def plot_load_comparison(records: list[dict], path: str | Path, title: str, rate_unit: str) -> None:
    """Scatter of measured against predicted load per interface, with the line y = x."""
    fig = new_figure(figsize=(5.5, 5.0))
    ax = fig.add_subplot()
    measured = np.array([r["measured"] for r in records])
    predicted = np.array([r["predicted"] for r in records])
    access = np.array([r["direction"] in ("ingress", "egress") for r in records])
    ax.scatter(predicted[~access], measured[~access], s=14, label="link directions")
    if access.any():
        ax.scatter(predicted[access], measured[access], s=14, marker="s", label="access (ingress/egress)")
    positive = np.concatenate([measured, predicted])
    positive = positive[positive > 0]
    if positive.size:
        lo, hi = positive.min() / 1.5, positive.max() * 1.5
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="measured = predicted")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"predicted load ({rate_unit})")
    ax.set_ylabel(f"measured load ({rate_unit})")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    write_figure(fig, path)
