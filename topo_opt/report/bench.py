"""Convergence plot of ``topo-opt bench``: the GA's best objective against time, per instance.

Uses ``matplotlib.figure.Figure`` (no pyplot, no GUI backend); the file is written atomically.
"""
from __future__ import annotations

import math
from pathlib import Path

from topo_opt.errors import SolverUnavailableError
from topo_opt.io.atomic import atomic_write

DPI = 120


def plot_convergence(records: list[dict], path: str | Path) -> None:
    """GA best objective against time per instance, with the exact optimum and the best bound.

    One panel per instance; each seeded run is a step line, the exact method's objective a
    dashed line and the best proven lower bound a dotted one.  Written atomically.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise SolverUnavailableError("--plot needs matplotlib: pip install 'topo-opt[plot]'") from exc
    instances = list(dict.fromkeys(r["instance"] for r in records))
    fig = Figure(figsize=(7, 3.2 * len(instances)))
    axes = fig.subplots(len(instances), 1, squeeze=False)
    for ax, name in zip(axes[:, 0], instances):
        group = [r for r in records if r["instance"] == name]
        for r in group:
            points = [(h["time_s"], h["objective"]) for h in r["history"] if math.isfinite(h["objective"])]
            if r["seed"] is not None and points:
                ax.step(*zip(*points), where="post", lw=1, label=f"{r['method']} seed {r['seed']}")
        for r in group:
            if r["method"] == "exact" and math.isfinite(r["objective"]):
                ax.axhline(r["objective"], ls="--", color="k", lw=1, label="exact single-path")
        if math.isfinite(group[0]["best_bound"]):
            ax.axhline(group[0]["best_bound"], ls=":", color="r", lw=1, label="best lower bound")
        ax.set_title(name)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(f"objective ({group[0]['objective_unit']})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI))
