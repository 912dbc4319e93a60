"""Plot of a what-if sweep (:mod:`topo_opt.batch.whatif`): growth curve and failure impact.

* Demand growth (intact network; drawn when the sweep has more than one demand scale or no
  failures): average delay of the installed and of the upgraded network against the demand
  scale, with T_max; the upgrade cost as bars on a second axis; a scale the installed network
  cannot carry is a red cross at T_max.
* Failures (when the sweep has failure scenarios): one group of bars per failure, one bar per
  demand scale, showing the delay *increase* over the intact network at the same scale (delays
  with a large propagation part differ by little, so the difference is what shows the impact);
  a failure the installed network cannot route is a hatched bar.  A second panel shows the
  upgrade cost per failure and scale when upgrades were computed, a red cross where none
  exists.

Drawn on :func:`~topo_opt.report.figure.new_figure` (no pyplot); the file is written atomically.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from topo_opt.report.figure import new_figure, write_figure


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _milp_ran(record: dict) -> bool:
    return record["upgrade_status"] not in ("skipped", "not_needed", "no_demands")


def _failed(record: dict) -> str:
    return ", ".join(record["failed_links"] + record["failed_nodes"])


def _growth_panel(ax, rows: list[dict], max_delay_s: float, cost_unit: str) -> None:
    rows = sorted(rows, key=lambda r: r["demand_scale"])
    scales = [r["demand_scale"] for r in rows]
    ax.plot(scales, [_number(r["average_delay_s"]) for r in rows], "o-", label="installed")
    broken = [r["demand_scale"] for r in rows if r["status"] == "infeasible"]
    if broken:
        ax.plot(broken, [max_delay_s] * len(broken), "x", color="tab:red", ms=9, label="installed infeasible")
    if any(_milp_ran(r) for r in rows):
        ax.plot(scales, [_number(r["upgraded_average_delay_s"]) for r in rows], "s--", label="upgraded")
    ax.axhline(max_delay_s, color="r", ls=":", label=f"T_max = {max_delay_s:.6g} s")
    ax.set_xlabel("demand scale")
    ax.set_ylabel("average delay (s)")
    ax.set_title("demand growth (intact network)")
    costs = [_number(r["upgrade_cost"]) for r in rows]
    if any(math.isfinite(c) and c > 0 for c in costs):
        steps = [b - a for a, b in zip(scales, scales[1:])] or [1.0]
        twin = ax.twinx()
        twin.bar(scales, costs, width=0.5 * min(steps), alpha=0.25, color="tab:green", label="upgrade cost")
        twin.set_ylabel(f"upgrade cost ({cost_unit})")
        twin.legend(loc="upper right", fontsize=7)
    ax.legend(loc="upper left", fontsize=7)


def _failure_panels(axes, rows: list[dict], intact: dict[float, dict], cost_unit: str) -> None:
    from matplotlib import colormaps
    from matplotlib.patches import Patch

    labels = list(dict.fromkeys(_failed(r) for r in rows))
    scales = sorted({r["demand_scale"] for r in rows})
    width = 0.8 / len(scales)
    colors = colormaps["viridis"]([0.15 + 0.7 * j / max(len(scales) - 1, 1) for j in range(len(scales))])
    by_key = {(_failed(r), r["demand_scale"]): r for r in rows}
    increase, broken, costs, no_upgrade = {}, [], {}, []
    for i, label in enumerate(labels):
        for j, scale in enumerate(scales):
            row, base = by_key.get((label, scale)), intact.get(scale)
            if row is None:
                continue
            x = i - 0.4 + width * (j + 0.5)
            if row["status"] == "feasible" and base is not None and base["status"] == "feasible":
                increase[(x, j)] = row["average_delay_s"] - base["average_delay_s"]
            elif row["status"] != "feasible":
                broken.append(x)
            cost = _number(row["upgrade_cost"])
            if math.isfinite(cost):
                costs[(x, j)] = cost
            elif _milp_ran(row):
                no_upgrade.append(x)
    ax = axes[0]
    for j, scale in enumerate(scales):
        points = [(x, v) for (x, jj), v in increase.items() if jj == j]
        ax.bar([x for x, _ in points], [v for _, v in points], width, color=colors[j])
    top = max([v for v in increase.values()] + [0.0]) or 1e-6
    handles = [Patch(color=colors[j], label=f"demand x{scale:g}") for j, scale in enumerate(scales)]
    if broken:
        ax.bar(broken, [top] * len(broken), width, color="white", edgecolor="tab:red", hatch="//")
        handles.append(Patch(facecolor="white", edgecolor="tab:red", hatch="//", label="installed infeasible"))
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_ylabel("delay increase (s)")
    ax.set_title("failures: delay increase over the intact network")
    ax.legend(handles=handles, fontsize=7)
    if len(axes) > 1:
        for j in range(len(scales)):
            points = [(x, v) for (x, jj), v in costs.items() if jj == j]
            axes[1].bar([x for x, _ in points], [v for _, v in points], width, color=colors[j])
        if no_upgrade:
            axes[1].plot(no_upgrade, [0.0] * len(no_upgrade), "x", color="tab:red", ms=8, label="no upgrade found")
            axes[1].legend(fontsize=7)
        axes[1].set_ylabel(f"upgrade cost ({cost_unit})")
        axes[1].set_ylim(bottom=0)
    for axis in axes:
        axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        axis.tick_params(labelbottom=axis is axes[-1])


def plot_whatif(records: list[dict], max_delay_s: float, path: str | Path, *, title: str = "",
                cost_unit: str = "cost unit") -> None:
    """Write the what-if figure of ``records`` (see the module docstring) to ``path``.

    Parameters
    ----------
    records : list of dict
        Records of :func:`topo_opt.batch.whatif.run_whatif`.
    max_delay_s : float
        T_max (s), drawn as a horizontal line.
    path : str or Path
        Output file; the format follows the suffix (PNG, PDF, SVG).
    title : str
    cost_unit : str
        Label of the cost axes.

    Raises
    ------
    SolverUnavailableError
        matplotlib is not installed.
    """
    intact = [r for r in records if not _failed(r)]
    failed = [r for r in records if _failed(r)]
    panels = (["growth"] if len(intact) > 1 or not failed else []) + \
             (["failures"] + (["costs"] if any(_milp_ran(r) for r in failed) else []) if failed else [])
    n_groups = len({_failed(r) for r in failed})
    fig = new_figure(figsize=(max(7.0, 0.35 * n_groups), 3.4 * len(panels)))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    if panels[0] == "growth":
        _growth_panel(axes[0], intact, max_delay_s, cost_unit)
        axes = axes[1:]
    if failed:
        _failure_panels(axes, failed, {r["demand_scale"]: r for r in intact}, cost_unit)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    write_figure(fig, path)
