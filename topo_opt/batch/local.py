"""Run jobs on this machine: a pool of worker processes that can be killed one at a time.

``concurrent.futures.ProcessPoolExecutor`` cannot stop a running task, and a solver stuck in C
code (HiGHS) does not see a Python-level alarm, so the per-job time limit is enforced from the
parent: each worker process runs one job at a time, the parent waits on the workers' pipes with
a timeout, and a worker whose job overruns is killed, its job recorded as ``timeout`` and a
fresh worker started.  A worker that dies (segfault, out of memory) records ``error``; the other
jobs go on either way.  Workers ignore SIGINT so that Ctrl-C reaches the parent alone, which
kills them and returns the table as it stands.

Workers are forked from a ``forkserver`` that has imported the solvers once (``spawn`` where
there is no forkserver), which keeps the start-up cost of a fresh worker small.
"""
from __future__ import annotations

import math
import multiprocessing
import signal
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Callable, Iterable

from topo_opt.batch.job import Job, execute

_PRELOAD = ["topo_opt.batch.job", "topo_opt.algorithms.gradient_projection",
            "topo_opt.algorithms.path_equilibration"]


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _serve(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        job, out_dir = message
        conn.send(execute(job, out_dir))


class _Worker:
    """One worker process and the job it is running (None when idle)."""

    def __init__(self, ctx: multiprocessing.context.BaseContext):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True, name="topo-opt-batch-worker")
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.started = 0.0
        self.deadline = math.inf

    def submit(self, job: Job, out_dir: str, time_limit_s: float | None) -> None:
        self.conn.send((job, out_dir))
        self.job, self.started = job, time.monotonic()
        self.deadline = self.started + time_limit_s if time_limit_s else math.inf

    def stop(self) -> None:
        """End the process: politely when idle, by SIGKILL when it is running a job."""
        if self.job is None and self.process.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


def run_local(jobs: Iterable[Job], out_dir: str, on_row: Callable[[dict], None], *, workers: int,
              time_limit_s: float | None = None) -> None:
    """Run ``jobs`` on ``workers`` local processes, calling ``on_row(row)`` as each finishes.

    Parameters
    ----------
    jobs : iterable of Job
    out_dir : str
        Absolute results folder (solutions go to ``out_dir/solutions``).
    on_row : callable
        Called in this process with each job's result row, in completion order.
    workers : int
        Number of worker processes (>= 1).
    time_limit_s : float, optional
        Wall-clock seconds after which a job's worker is killed and the job recorded as
        ``timeout``.
    """
    pending = deque(jobs)
    ctx = _context()
    pool = [_Worker(ctx) for _ in range(max(1, min(workers, len(pending))))]
    try:
        for worker in pool:
            if pending:
                worker.submit(pending.popleft(), out_dir, time_limit_s)
        while any(w.job is not None for w in pool):
            busy = [w for w in pool if w.job is not None]
            deadline = min(w.deadline for w in busy)
            timeout = None if math.isinf(deadline) else max(0.0, deadline - time.monotonic())
            ready = wait([w.conn for w in busy], timeout=timeout)
            now = time.monotonic()
            for i, worker in enumerate(pool):
                job = worker.job
                if job is None:
                    continue
                if worker.conn in ready:
                    try:
                        row = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join()
                        row = job.failure_row("error", f"worker process died (exit code {worker.process.exitcode})",
                                              now - worker.started)
                        worker.stop()
                        worker = pool[i] = _Worker(ctx)
                elif now >= worker.deadline:
                    row = job.failure_row("timeout", f"killed at the time limit of {time_limit_s:g} s",
                                          now - worker.started)
                    worker.stop()
                    worker = pool[i] = _Worker(ctx)
                else:
                    continue
                worker.job = None
                on_row(row)
                if pending:
                    worker.submit(pending.popleft(), out_dir, time_limit_s)
    finally:
        for worker in pool:
            worker.stop()
