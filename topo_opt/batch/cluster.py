"""Run jobs on an existing Dask distributed cluster (``--scheduler tcp://HOST:8786``).

Dask rather than Ray: the cluster side is two pip-installable commands (``dask scheduler``,
``dask worker ADDRESS``) with no daemon to configure, it runs under every HPC batch system
(dask-jobqueue) and a task is a plain Python function call, which is all a batch job is.

Each job is one task.  With a time limit the task runs the job in a child Python process that
it kills at the limit (:func:`~topo_opt.batch.job.execute_limited`); a Dask worker cannot kill
its own task threads.  Workers must see the instance, card and results paths (shared file
system or the same machine); the rows come back to this process, which writes the table.
"""
from __future__ import annotations

import uuid
from typing import Callable, Iterable

from topo_opt.batch.job import Job, execute_limited
from topo_opt.errors import InvalidInputError, SolverUnavailableError


def run_on_cluster(jobs: Iterable[Job], out_dir: str, on_row: Callable[[dict], None], *, address: str,
                   time_limit_s: float | None = None, connect_timeout_s: float = 30.0) -> None:
    """Submit ``jobs`` to the Dask scheduler at ``address``; ``on_row(row)`` as each finishes.

    Raises
    ------
    SolverUnavailableError
        ``dask.distributed`` is not installed (``pip install "topo-opt[batch]"``).
    InvalidInputError
        The scheduler cannot be reached within ``connect_timeout_s``.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SolverUnavailableError('--scheduler needs dask.distributed: pip install "topo-opt[batch]"') from None
    jobs = list(jobs)
    try:
        client = Client(address, timeout=f"{connect_timeout_s}s")
    except (OSError, TimeoutError) as exc:
        raise InvalidInputError(f"--scheduler {address}: cannot connect: {exc}") from None
    run = uuid.uuid4().hex[:8]
    with client:
        futures = {client.submit(execute_limited, job, out_dir, time_limit_s, pure=False,
                                 key=f"topo-opt-{job.job_id}-{run}"): job for job in jobs}
        try:
            for future in as_completed(futures):
                try:
                    row = future.result()
                except Exception as exc:  # the worker was lost or the task could not run
                    row = futures[future].failure_row("error", f"dask: {type(exc).__name__}: {exc}")
                on_row(row)
        finally:
            client.cancel(list(futures))
