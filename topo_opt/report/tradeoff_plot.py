"""Plot of ``topo-opt tradeoff``: router power against average delay, MILP and EARP.

Drawn on :func:`~topo_opt.report.figure.new_figure` (no pyplot); the file is written atomically.
"""
from __future__ import annotations

import math
from pathlib import Path

from topo_opt.report.figure import new_figure, write_figure


def plot_tradeoff(records: list[dict], path: str | Path, title: str):
    """Power (W) against achieved average delay (s): MILP points with their bounds, EARP points.

    Each method's designs are points (markers, in order of achieved delay), not a line: a
    design found at a looser T_max may have a smaller achieved delay, and a heuristic's power
    need not fall as its delay grows, so a line through them zig-zags.  The bound is a line
    against T_max.  Returns the matplotlib figure (written to ``path``).
    """
    fig = new_figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for name, style in (("milp", "o"), ("earp", "s")):
        points = sorted((r[f"{name}_delay_s"] * 1e3, r[f"{name}_power_w"]) for r in records
                        if math.isfinite(r.get(f"{name}_power_w", math.nan)))
        ax.plot([x for x, _ in points], [y for _, y in points], style,
                label={"milp": "MILP (HiGHS)", "earp": "EARP heuristic"}[name])
    ax.plot([r["max_delay_s"] * 1e3 for r in records], [r.get("milp_bound_w", math.nan) for r in records], "k:",
            lw=1, label="MILP lower bound at T_max")
    ax.set_xlabel("average delay T (ms)")
    ax.set_ylabel("total power (W)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    write_figure(fig, path)
    return fig
