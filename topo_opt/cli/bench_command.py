"""``topo-opt bench``: run methods on instances, write the table (CSV/JSON) and a convergence plot."""
from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from topo_opt.cli.console import (
    FORMAT_CHOICES, TABLE_SUFFIXES, checked_output, checked_plot, exit_interrupted, fmt_value, say_written, stdout,
)
from topo_opt.io.csv_table import csv_text
from topo_opt.solve.instance_loader import instance_label, read_network


def _json_text(records: list[dict], summary: list[dict], settings: dict) -> str:
    from topo_opt.io.solution_json import json_clean

    return json.dumps(json_clean({"format": "topo-opt/benchmark", "version": 1, "settings": settings,
                                  "summary": summary, "runs": records}), indent=1) + "\n"


def _print_summary(summary: list[dict]) -> None:
    table = Table(title="benchmark (mean ± std over seeds; gap to the best lower bound)")
    for column in ("instance", "method", "runs", "objective", "± std", "best bound", "gap",
                   "time (s)", "evaluations"):
        table.add_column(column, justify="left" if column in ("instance", "method") else "right")
    for s in summary:
        table.add_row(s["instance"], s["method"], str(s["runs"]), fmt_value(s["objective_mean"]),
                      fmt_value(s["objective_std"]), fmt_value(s["best_bound"]),
                      fmt_value(s["gap_to_best_bound_mean"]), fmt_value(s["time_s_mean"]),
                      fmt_value(s["evaluations_mean"]))
    stdout.print(table)


@click.command()
@click.argument("instances", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--methods", default="exact,ga", show_default=True,
              help="Comma-separated methods: exact, ga, splittable, min-hop (delay, s); "
                   "milp-power, earp, ga-power (power, W).")
@click.option("--seeds", type=int, default=3, show_default=True, help="Runs of seeded methods (seeds 0..N-1).")
@click.option("--time-limit", type=float, default=30.0, show_default=True, help="Seconds per run.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the runs as .csv or .json (JSON adds the summary and convergence histories).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write the convergence plot (PNG/PDF/SVG, needs matplotlib).")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
@click.option("--progress/--quiet", default=None,
              help="One line per finished run on stderr (default: when stderr is a terminal).")
def bench(instances: tuple[str, ...], methods: str, seeds: int, time_limit: float, out: str | None,
          plot: str | None, fmt: str, progress: bool | None) -> None:
    """Run every method on every INSTANCE and tabulate objective, bound, gap, time, evaluations."""
    from topo_opt.errors import SolveInterrupted
    from topo_opt.batch.benchmark import COLUMNS, parse_methods, run_benchmark, summarize

    names = parse_methods(methods)
    checked_output(out, TABLE_SUFFIXES)
    checked_plot(plot)
    networks = [(instance_label(path), read_network(path, fmt)) for path in instances]

    def show(record: dict) -> None:
        click.echo(f"{record['instance']}: {record['method']}"
                   + ("" if record["seed"] is None else f" seed {record['seed']}")
                   + f" -> {fmt_value(record['objective'])} in {record['time_s']:.2f} s", err=True)

    try:
        runs, interrupted = run_benchmark(networks, names, seeds, time_limit,
                                          progress=show if (sys.stderr.isatty() if progress is None else progress)
                                          else None), False
    except SolveInterrupted as stop:
        if not isinstance(stop.partial, list) or not stop.partial:
            raise
        runs, interrupted = stop.partial, True
    records = [r.record for r in runs]
    summary = summarize(records)
    if plot:
        from topo_opt.report.bench_plot import plot_convergence

        plot_convergence(records, plot)
    if out:
        from topo_opt.io.atomic import atomic_write_text

        settings = {"instances": list(instances), "methods": names, "seeds": seeds,
                    "time_limit_s": time_limit}
        atomic_write_text(out, csv_text(records, COLUMNS) if out.lower().endswith(".csv")
                          else _json_text(records, summary, settings))
    _print_summary(summary)
    say_written(out, plot)
    if interrupted:
        exit_interrupted(f"{len(runs)} finished runs" + (f" written to {out}" if out else ""))
