"""Run a batch: skip the jobs already in the results table, run the others, record each row.

The front door of :mod:`topo_opt.batch`, used by ``topo-opt batch``::

    from topo_opt.batch.grid import expand_jobs
    from topo_opt.batch.runner import run_batch
    from topo_opt.batch.spec import load_batch_file

    summary = run_batch(expand_jobs(load_batch_file("examples/batch.toml")), "batch-out", workers=2)
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from topo_opt.batch.job import Job
from topo_opt.batch.table import ResultsTable
from topo_opt.errors import InvalidInputError


@dataclass
class BatchSummary:
    """What a run did.

    Attributes
    ----------
    total : int
        Jobs in the batch.
    skipped : int
        Jobs already in the table (resume).
    statuses : Counter
        Status of each job run now.
    overloaded : int
        Jobs run now whose solution is overloaded (some link at or above capacity).
    table : Path
        The results CSV.
    """

    total: int
    skipped: int
    table: Path
    statuses: Counter = field(default_factory=Counter)
    overloaded: int = 0

    @property
    def ran(self) -> int:
        return sum(self.statuses.values())


def run_batch(jobs: Sequence[Job], out_dir: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, time_limit_s: float | None = None, retry_failed: bool = False,
              on_start: Callable[[int], None] | None = None,
              on_row: Callable[[dict], None] | None = None) -> BatchSummary:
    """Run the jobs of ``jobs`` that ``out_dir/results.csv`` does not hold yet.

    Parameters
    ----------
    jobs : sequence of Job
        From :func:`topo_opt.batch.grid.expand_jobs`.
    out_dir : path-like
        Results folder: ``results.csv`` (+ ``results.parquet`` with pyarrow), ``solutions/``.
    workers : int, optional
        Local worker processes (default: the number of CPU cores); ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:8786``): run there instead of locally.
    time_limit_s : float, optional
        Hard wall-clock limit per job (s); an overrunning job is killed and recorded as ``timeout``.
    retry_failed : bool
        Also re-run jobs recorded as ``error`` or ``timeout``.
    on_start : callable, optional
        Called with the number of jobs about to run.
    on_row : callable, optional
        Called with each row after it is written to the table.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InvalidInputError
        ``workers`` < 1, a time limit <= 0, or an unreachable scheduler.
    KeyboardInterrupt
        On Ctrl-C, after the workers are stopped; the table holds every job finished so far.
    """
    if workers is not None and workers < 1:
        raise InvalidInputError(f"--workers must be >= 1, got {workers}")
    if time_limit_s is not None and not time_limit_s > 0:
        raise InvalidInputError(f"--time-limit must be > 0 s, got {time_limit_s}")
    out = Path(out_dir).resolve()
    table = ResultsTable(out)
    done = table.finished(retry_failed)
    todo = [job for job in jobs if job.job_id not in done]
    summary = BatchSummary(total=len(jobs), skipped=len(jobs) - len(todo), table=table.csv_path)
    if on_start is not None:
        on_start(len(todo))
    if not todo:
        if not table.csv_path.exists():
            table.write()
        return summary

    def record(row: dict) -> None:
        table.add(row)
        summary.statuses[row["status"]] += 1
        summary.overloaded += bool(row.get("overloaded"))
        if on_row is not None:
            on_row(row)

    if scheduler is not None:
        from topo_opt.batch.cluster import run_on_cluster
        run_on_cluster(todo, str(out), record, address=scheduler, time_limit_s=time_limit_s)
    else:
        from topo_opt.batch.local import run_local
        run_local(todo, str(out), record, workers=workers or os.cpu_count() or 1, time_limit_s=time_limit_s)
    return summary
