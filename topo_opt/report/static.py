"""Matplotlib PNGs of the panels of :mod:`topo_opt.report.interactive` (for papers and slides).

Uses ``matplotlib.figure.Figure`` directly (no pyplot): no global state, no GUI backend.  The
per-link PNG stays readable at any network size: the :data:`TOP_ARCS` busiest arcs as labelled
horizontal bars and a histogram of every arc's utilisation (a 300-node network once gave a
28,231-pixel-wide strip of unreadable labels).
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
from matplotlib.ticker import MaxNLocator

from topo_opt.report.figure import DPI
from topo_opt.report.interactive import NO_UTILIZATION, OFF, arc_labels, link_widths, links_on
from topo_opt.report.solution import SolutionReport

CMAP = "RdYlGn_r"
TOP_ARCS = 30          # arcs drawn as bars in the per-link PNG, busiest first
BAR_HEIGHT_IN = 0.3    # inches per bar: 8-point labels one above the other


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
    on = view.on
    colors = [cmap(norm(u)) if np.isfinite(u) else NO_UTILIZATION for u in view.utilization[on]]
    ax.add_collection(LineCollection(view.xy[on], colors=colors, linewidths=link_widths(view.capacity)[on],
                                     zorder=1))
    if not on.all():
        ax.add_collection(LineCollection(view.xy[~on], colors=OFF, linewidths=1.2, linestyles=(0, (4, 3)),
                                         zorder=1, label=f"link switched off ({int((~on).sum())})"))
    off_nodes = set(report.nodes_off)
    xy = np.array([xy for node, xy in report.positions.items() if node not in off_nodes]).reshape(-1, 2)
    ax.scatter(xy[:, 0], xy[:, 1], s=18, color="#263238", zorder=2)
    if off_nodes:
        xy = np.array([report.positions[node] for node in report.positions if node in off_nodes]).reshape(-1, 2)
        ax.scatter(xy[:, 0], xy[:, 1], s=30, facecolors="white", edgecolors=OFF, linewidths=1.5, zorder=2,
                   label=f"node switched off ({len(off_nodes)})")
    if off_nodes or not on.all():
        ax.legend(loc="best", fontsize=8)
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
    """Utilisation and delay (queueing + fixed) of the :data:`TOP_ARCS` busiest arcs, and a
    histogram of the utilisation of every arc of a link that is on.

    Saturated arcs (no utilisation: a queue at or above capacity) come first, drawn as a hatched
    bar at ρ = 1.  The figure is at most ``TOP_ARCS`` bars tall whatever the network's size.
    """
    on = links_on(doc)
    arcs = [a for a in doc.get("arcs", []) if a["link"] in on]
    util = np.array([np.inf if a["utilization"] is None else a["utilization"] for a in arcs], dtype=float)
    top = [arcs[i] for i in np.argsort(-util, kind="stable")[:TOP_ARCS]]
    value = lambda key: np.array([np.nan if a[key] is None else a[key] for a in top], dtype=float)  # noqa: E731
    y = np.arange(len(top))
    fig = Figure(figsize=(11, 2.2 + BAR_HEIGHT_IN * max(len(top), 8)))
    left, middle, right = fig.subplots(1, 3, gridspec_kw={"width_ratios": [2, 2, 1.5]})
    rho = value("utilization")
    saturated = ~np.isfinite(rho)
    left.barh(y, np.where(saturated, 0.0, rho), color="#1565c0")
    if saturated.any():
        left.barh(y[saturated], 1.0, color="white", edgecolor="tab:red", hatch="//", label="saturated")
        left.legend(fontsize=8, loc="lower right")
    left.set_yticks(y, arc_labels(top), fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("utilisation ρ")
    queue = value("queue_delay_s")
    middle.barh(y, np.nan_to_num(queue), color="#ef6c00", label="queueing + transmission")
    middle.barh(y, value("fixed_delay_s"), left=np.nan_to_num(queue), color="#78909c",
                label="propagation + processing")
    middle.set_yticks(y, [])
    middle.invert_yaxis()
    middle.set_xlabel("delay (s)")
    middle.xaxis.set_major_locator(MaxNLocator(4))
    middle.legend(fontsize=8, loc="lower right")
    finite = util[np.isfinite(util)]
    right.hist(finite, bins=20, range=(0.0, 1.0), color="#1565c0")
    right.set_xlabel("utilisation ρ")
    right.set_ylabel("arcs")
    right.set_title(f"all {len(arcs)} arcs" + (f", {int((~np.isfinite(util)).sum())} saturated"
                                               if not np.isfinite(util).all() else ""), fontsize=9)
    n_off = len({a["link"] for a in doc.get("arcs", [])} - on)
    fig.suptitle(f"Per-link utilisation and delay: the {len(top)} busiest of {len(arcs)} arcs"
                 + (f" ({n_off} links switched off, not shown)" if n_off else ""), fontsize=10)
    fig.tight_layout()
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
