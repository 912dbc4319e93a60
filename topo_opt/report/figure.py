"""Matplotlib figures for the ``--plot`` files: no pyplot (no global state, no GUI backend).

:data:`DPI` is the resolution of every PNG the reports write.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from topo_opt.errors import SolverUnavailableError
from topo_opt.io.atomic import atomic_write

DPI = 120


def new_figure(**options: Any):
    """A ``matplotlib.figure.Figure(**options)``.

    Raises
    ------
    SolverUnavailableError
        matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise SolverUnavailableError("--plot needs matplotlib: pip install 'topo-opt[plot]'") from exc
    return Figure(**options)


def write_figure(fig, path: str | Path) -> None:
    """Write ``fig`` to ``path`` atomically; the format follows the suffix (PNG, PDF, SVG)."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI))
