"""``topo-opt report``: an HTML page (and PNGs) of a solution file or a batch results table."""
from __future__ import annotations

import click

from topo_opt.cli.console import FORMAT_CHOICES, checked_output, stdout


@click.command()
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML file; PNGs are written next to it as <stem>-<panel>.png.")
@click.option("--png/--no-png", default=True, show_default=True, help="Also write matplotlib PNGs.")
@click.option("--instance", default=None, type=click.Path(dir_okay=False),
              help="Instance of a solution (a file, a bundled instance's name or a topohub key), "
                   "instead of the one it records (a file's SHA-256 checked).")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True,
              help="Format of the instance file.")
def report(source: str, out: str, png: bool, instance: str | None, fmt: str) -> None:
    """Plots of SOURCE: a solution JSON (map, per-link bars, demand delays, power) or a batch
    results table, results.csv or .parquet (jobs by status, delay vs demand growth, power vs
    delay, gap to the best bound).  The HTML is one self-contained file (plotly.js inline)."""
    from topo_opt.errors import SolverUnavailableError

    checked_output(out, (".html", ".htm"))
    try:
        from topo_opt.report.build import write_report
    except ImportError as exc:
        raise SolverUnavailableError(f'topo-opt report needs {exc.name}: pip install "topo-opt[report]"') from None

    for path in write_report(source, out, png=png, instance=instance, format=fmt):
        stdout.print(f"wrote {path}")
