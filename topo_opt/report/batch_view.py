"""Tables and plots across the instances, cards and scenarios of a batch results table.

The series are computed once (plain lists) and drawn twice: plotly for the HTML page and
matplotlib for the PNGs.

* delay vs demand growth: ``average_delay_s`` against ``demand_scale`` per instance and model,
  scenarios without failures only;
* power vs delay: ``total_power_w`` against ``average_delay_s`` where a power model was used;
* gap to the best bound: for each instance and scenario, the best (largest) proven lower bound
  over every model with the same objective, and each model's ``(objective − best)/|objective|``
  -- how far a heuristic (GA) is from what the exact methods prove.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from matplotlib.figure import Figure

from topo_opt.report.static import save_png

Rows = list[dict[str, Any]]
TABLE_COLUMNS = ("instance", "model", "scenario", "seed", "status", "overloaded", "objective", "objective_unit",
                 "lower_bound", "gap", "average_delay_s", "max_utilization", "total_power_w",
                 "solve_time_s", "error")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def status_counts(rows: Rows) -> list[dict[str, Any]]:
    """One record per model: the number of jobs of each status, and of overloaded solutions (some
    link at or above capacity, whatever the status)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    overloaded: Counter = Counter()
    for row in rows:
        counts[row["model"]][row["status"]] += 1
        overloaded[row["model"]] += bool(row.get("overloaded"))
    statuses = sorted({s for c in counts.values() for s in c})
    return [{"model": model, **{s: c.get(s, 0) for s in statuses}, "overloaded": overloaded[model],
             "total": sum(c.values())} for model, c in sorted(counts.items())]


def growth_series(rows: Rows) -> dict[str, tuple[list[float], list[float]]]:
    """``"instance / model"`` → (demand scales, average delays in s), failure-free scenarios."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        if row.get("failed_links") or row.get("failed_nodes") or not _finite(row.get("average_delay_s")):
            continue
        label = f"{row['instance']} / {row['model']}" + ("" if row.get("seed") is None else f" / seed {row['seed']}")
        series[label].append((row["demand_scale"], row["average_delay_s"]))
    return {label: tuple(map(list, zip(*sorted(points)))) for label, points in sorted(series.items())
            if len(points) > 1}


def power_points(rows: Rows) -> dict[str, tuple[list[float], list[float], list[str]]]:
    """Model → (average delays in s, total power in W, hover labels) where power is known."""
    points: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
    for row in rows:
        if _finite(row.get("total_power_w")) and _finite(row.get("average_delay_s")):
            xs, ys, labels = points[row["model"]]
            xs.append(row["average_delay_s"])
            ys.append(row["total_power_w"])
            labels.append(f"{row['instance']} / {row['scenario']}")
    return dict(points)


def bound_gaps(rows: Rows) -> dict[str, tuple[list[str], list[float]]]:
    """Model → (``instance / scenario`` labels, relative gap to the best bound of any model)."""
    best: dict[tuple, float] = {}
    for row in rows:
        if _finite(row.get("lower_bound")) and _finite(row.get("objective")):
            key = (row["instance"], row["scenario"], row.get("objective_name"))
            best[key] = max(best.get(key, -math.inf), row["lower_bound"])
    gaps: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row in rows:
        key = (row["instance"], row["scenario"], row.get("objective_name"))
        if key in best and _finite(row.get("objective")):
            labels, values = gaps[row["model"]]
            labels.append(f"{row['instance']} / {row['scenario']}")
            values.append(max(0.0, row["objective"] - best[key]) / max(abs(row["objective"]), 1e-12))
    return dict(gaps)


def plotly_figures(rows: Rows) -> list[tuple[str, go.Figure]]:
    """(div id, figure) of every batch plot that has data."""
    figures = []
    growth = growth_series(rows)
    if growth:
        fig = go.Figure([go.Scatter(x=x, y=y, mode="lines+markers", name=label) for label, (x, y) in growth.items()])
        fig.update_layout(title="Average delay vs demand growth", xaxis_title="demand scale",
                          yaxis_title="average delay T (s)", height=480)
        figures.append(("batch-growth", fig))
    power = power_points(rows)
    if power:
        fig = go.Figure([go.Scatter(x=x, y=y, mode="markers", name=model, hovertext=labels)
                         for model, (x, y, labels) in power.items()])
        fig.update_layout(title="Power vs delay", xaxis_title="average delay T (s)", yaxis_title="total power (W)",
                          height=480)
        figures.append(("batch-power", fig))
    gaps = bound_gaps(rows)
    if gaps:
        fig = go.Figure([go.Bar(x=labels, y=values, name=model) for model, (labels, values) in gaps.items()])
        fig.update_layout(title="Gap to the best proven lower bound of any model (heuristic vs exact)",
                          yaxis_title="(objective − best bound) / objective", barmode="group", height=480)
        figures.append(("batch-gaps", fig))
    return figures


def batch_pngs(rows: Rows, stem: Path) -> list[Path]:
    """The batch plots as ``<stem>-growth.png``, ``-power.png``, ``-gaps.png`` (those with data)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    files = []
    growth, power, gaps = growth_series(rows), power_points(rows), bound_gaps(rows)
    if growth:
        fig = Figure(figsize=(8, 5))
        ax = fig.add_subplot()
        for label, (x, y) in growth.items():
            ax.plot(x, y, marker="o", label=label)
        ax.set(xlabel="demand scale", ylabel="average delay T (s)", title="Average delay vs demand growth")
        ax.legend(fontsize=7)
        files.append(save_png(fig, stem.with_name(f"{stem.name}-growth.png")))
    if power:
        fig = Figure(figsize=(7, 5))
        ax = fig.add_subplot()
        for model, (x, y, _) in power.items():
            ax.scatter(x, y, label=model)
        ax.set(xlabel="average delay T (s)", ylabel="total power (W)", title="Power vs delay")
        ax.legend(fontsize=7)
        files.append(save_png(fig, stem.with_name(f"{stem.name}-power.png")))
    if gaps:
        labels = sorted({label for ls, _ in gaps.values() for label in ls})
        fig = Figure(figsize=(max(7, 0.4 * len(labels) * len(gaps)), 5))
        ax = fig.add_subplot()
        width = 0.8 / len(gaps)
        for i, (model, (ls, values)) in enumerate(gaps.items()):
            pos = [labels.index(label) + i * width for label in ls]
            ax.bar(pos, values, width=width, label=model)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(labels))], labels, rotation=90, fontsize=6)
        ax.set(ylabel="(objective − best bound) / objective", title="Gap to the best proven lower bound")
        ax.legend(fontsize=7)
        files.append(save_png(fig, stem.with_name(f"{stem.name}-gaps.png")))
    return files
