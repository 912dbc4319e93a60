"""``topo-opt batch``: every instance × model card × scenario × seed, locally or on Dask."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from topo_opt.cli.console import EXIT_INTERRUPTED, FORMAT_CHOICES, stdout

BATCH_FILE_SUFFIXES = (".toml", ".yaml", ".yml")


def _seeds(text: str | None) -> tuple[int, ...] | None:
    from topo_opt.errors import InvalidInputError

    if text is None:
        return None
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise InvalidInputError(f"--seeds {text!r}: expected integers separated by commas") from None
    if not seeds or min(seeds) < 0:
        raise InvalidInputError(f"--seeds {text!r}: expected integers >= 0 separated by commas")
    return seeds


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=Console(stderr=True))


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-m", "--model", "models", multiple=True, metavar="NAME|FILE",
              help="Model card: a bundled name or a TOML file; repeatable (default min-delay or the batch file's).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter of every card (dotted key); repeatable.")
@click.option("--demand-scale", "demand_scales", default=None, metavar="START:STOP:STEP",
              help="Demand growth factors, e.g. 1.0:1.5:0.1 or 1.2.")
@click.option("--fail", "failures", default=None, metavar="each-link|each-node|each-link-pair|IDS",
              help="Failure scenarios (in addition to the intact network); IDS comma-separated link ids, "
                   "A+B for links failing together.")
@click.option("--seeds", default=None, metavar="0,1,2", help="Seeds for cards with a seed parameter.")
@click.option("--workers", type=int, default=None, help="Local worker processes [default: number of cores].")
@click.option("--scheduler", default=None, metavar="tcp://HOST:8786",
              help="Run on this Dask distributed scheduler instead of locally.")
@click.option("--time-limit", type=float, default=None,
              help="Hard wall-clock limit per job in seconds; an overrunning job is killed (status timeout).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Results folder [default: batch-out or the batch file's].")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default=None, help="Instance format [auto].")
@click.option("--retry-failed", is_flag=True, help="Also re-run jobs recorded as error or timeout.")
@click.option("--dry-run", is_flag=True, help="List the jobs and exit.")
@click.option("--progress/--quiet", default=None,
              help="Progress bar with ETA on stderr (default: when stderr is a terminal).")
def batch(paths: tuple[str, ...], models: tuple[str, ...], overrides: tuple[str, ...], demand_scales: str | None,
          failures: str | None, seeds: str | None, workers: int | None, scheduler: str | None,
          time_limit: float | None, out: str | None, fmt: str | None, retry_failed: bool, dry_run: bool,
          progress: bool | None) -> None:
    """Solve every combination of instances, model cards and scenarios.

    PATHS are instance files, globs and folders, and at most one batch file (.toml, .yaml).
    Results go to OUT/results.csv (and results.parquet with pyarrow), one row per job, written
    as jobs finish; solutions to OUT/solutions/.  Running the same batch again skips the jobs
    already recorded.
    """
    from topo_opt.batch.grid import expand_jobs
    from topo_opt.batch.runner import run_batch
    from topo_opt.batch.spec import BatchSpec, ModelEntry, load_batch_file, parse_failures, parse_scales
    from topo_opt.errors import InvalidInputError

    batch_files = [p for p in paths if Path(p).suffix.lower() in BATCH_FILE_SUFFIXES]
    if len(batch_files) > 1:
        raise InvalidInputError(f"one batch file at most, got {', '.join(batch_files)}")
    spec = load_batch_file(batch_files[0]) if batch_files else BatchSpec()
    spec = spec.with_flags(
        instances=tuple(p for p in paths if p not in batch_files),
        models=tuple(ModelEntry(m) for m in models),
        overrides=spec.overrides + overrides,
        demand_scales=None if demand_scales is None else parse_scales(demand_scales, "--demand-scale"),
        failures=None if failures is None else parse_failures(failures, "--fail"),
        seeds=_seeds(seeds), time_limit_s=time_limit, out=out, format=fmt)
    jobs = expand_jobs(spec)
    if dry_run:
        for job in jobs:
            stdout.print(f"{job.job_id}  {job.instance}  {job.model}  {job.scenario.name}"
                         + ("" if job.seed is None else f"  seed={job.seed}"))
        stdout.print(f"{len(jobs)} jobs")
        return

    show = progress if progress is not None else sys.stderr.isatty()
    bar = _progress() if show else None
    task = None

    def start(count: int) -> None:
        nonlocal task
        if bar is not None:
            bar.start()
            task = bar.add_task("jobs", total=count)

    def finished(row: dict) -> None:
        if bar is not None:
            bar.advance(task)
        if row["status"] in ("error", "timeout"):
            click.echo(f"topo-opt: {row['instance']} / {row['model']} / {row['scenario']}: "
                       f"{row['status']}: {row['error']}", err=True)

    try:
        summary = run_batch(jobs, spec.out, workers=workers, scheduler=scheduler, time_limit_s=spec.time_limit_s,
                            retry_failed=retry_failed, on_start=start, on_row=finished)
    except KeyboardInterrupt:
        if bar is not None:
            bar.stop()
        click.echo(f"topo-opt: interrupted; finished jobs are in {Path(spec.out) / 'results.csv'}; "
                   "run the same command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if bar is not None:
        bar.stop()
    table = Table(title=f"batch: {summary.total} jobs ({summary.skipped} already done)", show_header=False)
    for status, count in sorted(summary.statuses.items()):
        table.add_row(status, str(count))
    if summary.overloaded:
        table.add_row("[bold red]overloaded[/]", f"[bold red]{summary.overloaded} (some link at or above capacity)[/]")
    table.add_row("results", str(summary.table))
    stdout.print(table)
