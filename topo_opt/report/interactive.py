"""Plotly figures of one solution: network map, per-link bars, demand delays, power.

Maps are drawn on plain x/y axes (longitude/latitude in degrees for geographic instances):
plotly's geo and tile maps fetch their base maps from the internet, which a self-contained
report must not need.  Links are grouped into traces by utilisation band (10 bands) and line
width (capacity), so a map of thousands of links is a few dozen traces; a marker at the middle
of each link carries its hover text and the utilisation colour bar.  Links and nodes a
min-power design switches off are drawn apart (grey, dashed links, hollow nodes) and named in
the legend, never as idle links at 0 %.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from topo_opt.report.solution import LinkView, SolutionReport

COLORSCALE = "RdYlGn_r"      # green = idle, red = saturated
NO_UTILIZATION = "#9e9e9e"   # saturated links (no steady state)
OFF = "#9e9e9e"              # links and nodes switched off: grey, links dashed
BANDS = 10


def link_widths(capacity: np.ndarray) -> np.ndarray:
    """Line widths in px (1.5 to 8), proportional to the square root of capacity."""
    top = float(np.max(capacity, initial=0.0))
    share = np.sqrt(np.clip(capacity, 0.0, None) / top) if top > 0 else np.zeros_like(capacity)
    return np.round(1.5 + 6.5 * share, 1)


def _axis_titles(report: SolutionReport) -> tuple[str, str]:
    return ("longitude (°)", "latitude (°)") if report.geographic else ("x", "y")


def map_figure(report: SolutionReport) -> go.Figure:
    """Links coloured by utilisation (the busier direction) and sized by capacity."""
    view: LinkView = report.links()
    unit = report.doc["units"]["rate"]
    widths = link_widths(view.capacity)
    band = np.where(np.isfinite(view.utilization),
                    np.clip(np.floor(np.nan_to_num(view.utilization) * BANDS), 0, BANDS - 1), -1).astype(int)
    fig = go.Figure()
    for b, w in sorted(set(zip(band[view.on].tolist(), widths[view.on].tolist()))):
        members = np.flatnonzero((band == b) & (widths == w) & view.on)
        xs = [v for i in members for v in (*view.xy[i, :, 0], None)]
        ys = [v for i in members for v in (*view.xy[i, :, 1], None)]
        color = NO_UTILIZATION if b < 0 else sample_colorscale(COLORSCALE, (b + 0.5) / BANDS)[0]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": w},
                                 hoverinfo="skip", showlegend=False))
    off = np.flatnonzero(~view.on)
    if off.size:
        fig.add_trace(go.Scatter(x=[v for i in off for v in (*view.xy[i, :, 0], None)],
                                 y=[v for i in off for v in (*view.xy[i, :, 1], None)], mode="lines",
                                 line={"color": OFF, "width": 1.5, "dash": "dash"}, hoverinfo="skip",
                                 name=f"link switched off ({off.size})"))
    mid = view.xy.mean(axis=1) if len(view.ids) else np.zeros((0, 2))
    hover = [f"link {i} ({s}–{t})<br>capacity {c:.4g} {unit}<br>utilisation "
             + ("n/a" if not math.isfinite(u) else f"{u:.4f}") + ("" if on else " (off)")
             for i, s, t, c, u, on in zip(view.ids, view.source, view.target, view.capacity,
                                          view.utilization, view.on)]
    fig.add_trace(go.Scatter(
        x=mid[:, 0], y=mid[:, 1], mode="markers", name="links", hovertext=hover, hoverinfo="text",
        customdata=view.ids, showlegend=False,
        marker={"size": 6, "color": np.nan_to_num(view.utilization, nan=0.0), "colorscale": COLORSCALE,
                "cmin": 0.0, "cmax": 1.0, "colorbar": {"title": {"text": "utilisation"}}}))
    off_nodes = set(report.nodes_off)
    for name, nodes, marker in (
            ("nodes", [n for n in report.positions if n not in off_nodes], {"size": 9, "color": "#263238"}),
            (f"node switched off ({len(off_nodes)})", [n for n in report.positions if n in off_nodes],
             {"size": 9, "color": "white", "line": {"color": OFF, "width": 2}})):
        if nodes:
            fig.add_trace(go.Scatter(
                x=[report.positions[n][0] for n in nodes], y=[report.positions[n][1] for n in nodes],
                mode="markers+text", text=nodes, textposition="top center", name=name, hoverinfo="text",
                marker=marker, showlegend=name != "nodes"))
    x_title, y_title = _axis_titles(report)
    fig.update_layout(title=f"Network map: colour = utilisation, width ∝ √capacity ({unit})",
                      xaxis_title=x_title, yaxis={"title": y_title, "scaleanchor": "x"},
                      plot_bgcolor="white", height=560, margin={"t": 50})
    return fig


def arc_labels(arcs: list[dict[str, Any]]) -> list[str]:
    """``from→to`` per arc; the link id is added only where parallel links share both ends."""
    pairs: dict[tuple[str, str], int] = {}
    for a in arcs:
        pairs[(a["from"], a["to"])] = pairs.get((a["from"], a["to"]), 0) + 1
    return [f"{a['from']}→{a['to']}" + (f" [{a['link']}]" if pairs[(a["from"], a["to"])] > 1 else "")
            for a in arcs]


def _floats(values: list[Any]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def links_on(doc: dict[str, Any]) -> set[str]:
    """Ids of the links the solution keeps on (every link when it records no on/off state)."""
    return {link["id"] for link in doc.get("links", []) if link.get("on", True)} \
        if doc.get("links") else {arc["link"] for arc in doc.get("arcs", [])}


def link_bars_figure(doc: dict[str, Any]) -> go.Figure:
    """Per arc of a link that is on: utilisation, and delay split into queueing (incl.
    transmission) and fixed."""
    on = links_on(doc)
    arcs = [arc for arc in doc.get("arcs", []) if arc["link"] in on]
    labels = arc_labels(arcs)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("utilisation ρ per arc", "delay per arc (s)"))
    fig.add_trace(go.Bar(x=labels, y=_floats([a["utilization"] for a in arcs]), name="utilisation",
                         marker_color="#1565c0"), row=1, col=1)
    fig.add_trace(go.Bar(x=labels, y=_floats([a["queue_delay_s"] for a in arcs]), name="queueing + transmission (s)",
                         marker_color="#ef6c00"), row=2, col=1)
    fig.add_trace(go.Bar(x=labels, y=_floats([a["fixed_delay_s"] for a in arcs]), name="propagation + processing (s)",
                         marker_color="#78909c"), row=2, col=1)
    fig.update_layout(barmode="stack", height=620, title="Per-link utilisation and delay",
                      legend={"orientation": "h", "y": -0.25})
    fig.update_yaxes(title_text="ρ", row=1, col=1)
    fig.update_yaxes(title_text="delay (s)", row=2, col=1)
    return fig


def demand_delay_figure(doc: dict[str, Any]) -> go.Figure:
    """Histogram of the demands' end-to-end delays (flow-weighted over each demand's paths)."""
    delays = [d["delay_s"] for d in doc.get("demands", []) if d.get("delay_s") is not None]
    fig = go.Figure(go.Histogram(x=delays, nbinsx=min(40, max(5, len(delays) // 3)), name="demands",
                                 marker_color="#2e7d32"))
    fig.update_layout(title=f"End-to-end delay of the {len(delays)} demands",
                      xaxis_title="end-to-end delay (s)", yaxis_title="demands", height=420, bargap=0.05)
    return fig


def power_figure(doc: dict[str, Any]) -> go.Figure | None:
    """Power by component (chassis, ports, load) and, per node when given; None without power."""
    metrics = doc.get("metrics", {})
    if metrics.get("total_power_w") is None:
        return None
    parts = {"chassis": "chassis_power_w", "ports": "port_power_w", "load": "load_power_w"}
    nodes = doc.get("nodes") or []
    if nodes:
        fig = go.Figure([go.Bar(x=[n["id"] for n in nodes], y=_floats([n[key] for n in nodes]), name=f"{name} (W)")
                         for name, key in parts.items()])
        fig.update_layout(barmode="stack", xaxis_title="node")
    else:
        fig = go.Figure(go.Bar(x=list(parts), y=_floats([metrics.get(k) for k in parts.values()])))
    fig.update_layout(title=f"Power: {metrics['total_power_w']:.6g} W in total", yaxis_title="power (W)",
                      height=420)
    return fig
