"""What every ``topo-opt`` command shares: the console, number formatting, instance reading,
the ``--model``/``--set`` card options.

Commands live in their own modules (``main.py`` and one module per larger command) and import
these, so that no command module imports another.
"""
from __future__ import annotations

import math
import sys
from typing import Any

import click
from rich.console import Console

# Wide enough for the link table when the output goes to a file or a pipe
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
FORMAT_CHOICES = ("auto", "json", "sndlib", "sndlib-xml", "commalab", "graphml", "gml", "repetita")
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
TABLE_SUFFIXES = (".csv", ".json")  # the --out tables of whatif, tradeoff and bench


def fmt_value(value: Any, unit: str = "") -> str:
    """A number for a table cell: 6 significant digits, ``n/a`` for None, NaN and inf."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".rstrip()


def checked_output(path: str | None, suffixes: tuple[str, ...] | None, option: str = "--out") -> str | None:
    """``path`` unchanged after :func:`~topo_opt.io.atomic.check_output_path` (None passes):
    every command checks its output files with this before reading or solving anything."""
    if path is not None:
        from topo_opt.io.atomic import check_output_path

        check_output_path(path, suffixes, option)
    return path


def checked_plot(path: str | None) -> str | None:
    """A ``--plot`` file checked like :func:`checked_output` (PNG, PDF or SVG), and matplotlib
    found, before the work starts."""
    import importlib.util

    from topo_opt.errors import SolverUnavailableError
    from topo_opt.io.atomic import PLOT_SUFFIXES

    if path is not None:
        checked_output(path, PLOT_SUFFIXES, "--plot")
        if importlib.util.find_spec("matplotlib") is None:
            raise SolverUnavailableError("--plot needs matplotlib: pip install 'topo-opt[plot]'")
    return path


def say_written(*paths: str | None) -> None:
    """One "written to PATH" line per output file given (None: not asked for)."""
    for path in paths:
        if path:
            stdout.print(f"written to {path}")


def exit_interrupted(kept: str) -> None:
    """After Ctrl-C: one line on stderr saying what was kept, and exit code 130."""
    click.echo(f"topo-opt: interrupted: {kept}", err=True)
    sys.exit(EXIT_INTERRUPTED)


def card_options(default: str, help_text: str, set_example: str):
    """The ``--model CARD`` and repeatable ``--set KEY=VALUE`` options of a one-card command.

    The command receives them as ``model`` (a bundled card's name or a path, see
    :func:`topo_opt.solve.cards.resolve_card`) and ``overrides`` (a tuple of strings);
    ``default`` is a bundled card's name; ``set_example`` is a ``KEY=VALUE`` of the default card,
    shown in the help.
    """
    def decorate(command):
        command = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                               help=f"Override a card parameter (dotted key, e.g. {set_example}). "
                                    "Repeatable.")(command)
        return click.option("--model", "model", metavar="NAME|FILE", default=default, show_default=True,
                            help=f"{help_text} A bundled card's name (`topo-opt models` lists "
                                 "them) or a TOML file.")(command)
    return decorate
