"""Matplotlib PNGs of the panels of :mod:`topo_opt.report.interactive` (for papers and slides).

Uses ``matplotlib.figure.Figure`` directly (no pyplot): no global state, no GUI backend.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from topo_opt.report.figure import DPI
from topo_opt.report.interactive import NO_UTILIZATION, link_widths
from topo_opt.report.solution import SolutionReport

CMAP = "RdYlGn_r"


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG at the report resolution."""
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def map_png(report: SolutionReport, path: Path) -> Path:
    """The network map: links coloured by utilisation, width ∝ √capacity."""
    view = report.links()
    fig = Figure(figsize=(9, 6))
    ax = fig.add_subplot()
    cmap, norm = colormaps[CMAP], Normalize(0.0, 1.0)
    colors = [cmap(norm(u)) if np.isfinite(u) else NO_UTILIZATION for u in view.utilization]
    ax.add_collection(LineCollection(view.xy, colors=colors, linewidths=link_widths(view.capacity), zorder=1))
    xy = np.array(list(report.positions.values())).reshape(-1, 2)
    ax.scatter(xy[:, 0], xy[:, 1], s=18, color="#263238", zorder=2)
    if len(report.positions) <= 60:
        for node, (x, y) in report.positions.items():
            ax.annotate(node, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.autoscale()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("longitude (°)" if report.geographic else "x")
    ax.set_ylabel("latitude (°)" if report.geographic else "y")
    ax.set_title(f"{report.title}\ncolour = utilisation, width ∝ √capacity", fontsize=10)
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label="utilisation")
    return save_png(fig, path)


def link_bars_png(doc: dict[str, Any], path: Path) -> Path:
    """Per-arc utilisation and delay (queueing + fixed)."""
    arcs = doc.get("arcs", [])
    x = np.arange(len(arcs))
    value = lambda key: np.array([np.nan if a[key] is None else a[key] for a in arcs], dtype=float)  # noqa: E731
    fig = Figure(figsize=(max(8, 0.18 * len(arcs)), 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.bar(x, value("utilization"), color="#1565c0")
    top.set_ylabel("utilisation ρ")
    queue = value("queue_delay_s")
    bottom.bar(x, queue, color="#ef6c00", label="queueing + transmission")
    bottom.bar(x, value("fixed_delay_s"), bottom=np.nan_to_num(queue), color="#78909c",
               label="propagation + processing")
    bottom.set_ylabel("delay (s)")
    bottom.legend(fontsize=8)
    if len(arcs) <= 80:
        bottom.set_xticks(x, [f"{a['link']} {a['from']}→{a['to']}" for a in arcs], rotation=90, fontsize=6)
    else:
        bottom.set_xlabel("arc (network order)")
    top.set_title("Per-link utilisation and delay", fontsize=10)
    return save_png(fig, path)


def demand_delay_png(doc: dict[str, Any], path: Path) -> Path:
    """Histogram of the demands' end-to-end delays."""
    delays = [d["delay_s"] for d in doc.get("demands", []) if d.get("delay_s") is not None]
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.hist(delays, bins=min(40, max(5, len(delays) // 3)), color="#2e7d32")
    ax.set_xlabel("end-to-end delay (s)")
    ax.set_ylabel("demands")
    ax.set_title(f"End-to-end delay of the {len(delays)} demands", fontsize=10)
    return save_png(fig, path)


def power_png(doc: dict[str, Any], path: Path) -> Path | None:
    """Power by component; None when the solution has no power figures."""
    metrics = doc.get("metrics", {})
    if metrics.get("total_power_w") is None:
        return None
    parts = {"chassis": "chassis_power_w", "ports": "port_power_w", "load": "load_power_w"}
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.bar(list(parts), [metrics.get(key) or 0.0 for key in parts.values()], color="#6a1b9a")
    ax.set_ylabel("power (W)")
    ax.set_title(f"Power: {metrics['total_power_w']:.6g} W in total", fontsize=10)
    return save_png(fig, path)


def solution_pngs(report: SolutionReport, stem: Path) -> list[Path]:
    """All PNGs of a solution as ``<stem>-map.png``, ``-links.png``, ``-demands.png``, ``-power.png``."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    files = [map_png(report, stem.with_name(f"{stem.name}-map.png")),
             link_bars_png(report.doc, stem.with_name(f"{stem.name}-links.png")),
             demand_delay_png(report.doc, stem.with_name(f"{stem.name}-demands.png")),
             power_png(report.doc, stem.with_name(f"{stem.name}-power.png"))]
    return [f for f in files if f is not None]
