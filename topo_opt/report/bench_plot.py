"""Convergence plot of ``topo-opt bench``: the GA's best objective against time, per instance.

Drawn on :func:`~topo_opt.report.figure.new_figure` (no pyplot); the file is written atomically.
"""
from __future__ import annotations

import math
from pathlib import Path

from topo_opt.report.figure import new_figure, write_figure


def plot_convergence(records: list[dict], path: str | Path) -> None:
    """GA best objective against time per instance, with the exact optimum and the best bound.

    One panel per instance; each seeded run is a step line, the exact method's objective a
    dashed line and the best proven lower bound a dotted one.  Written atomically.
    """
    instances = list(dict.fromkeys(r["instance"] for r in records))
    fig = new_figure(figsize=(7, 3.2 * len(instances)))
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
    write_figure(fig, path)
