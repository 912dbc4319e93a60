"""Plot of ``topo-opt tradeoff``: router power against average delay, MILP and EARP.

Uses ``matplotlib.figure.Figure`` (no pyplot, no GUI backend); the file is written atomically.
"""
from __future__ import annotations

from pathlib import Path

from topo_opt.errors import SolverUnavailableError
from topo_opt.io.atomic import atomic_write

DPI = 120


def plot_tradeoff(records: list[dict], path: str | Path, title: str) -> None:
    """Power (W) against achieved average delay (s): MILP points with their bounds, EARP points."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise SolverUnavailableError("--plot needs matplotlib: pip install 'topo-opt[plot]'") from exc
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for name, style in (("milp", "o-"), ("earp", "s--")):
        ax.plot([r[f"{name}_delay_s"] * 1e3 for r in records], [r[f"{name}_power_w"] for r in records],
                style, label={"milp": "MILP (HiGHS)", "earp": "EARP heuristic"}[name])
    ax.plot([r["max_delay_s"] * 1e3 for r in records], [r["milp_bound_w"] for r in records], "k:",
            lw=1, label="MILP lower bound at T_max")
    ax.set_xlabel("average delay T (ms)")
    ax.set_ylabel("total power (W)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI))
