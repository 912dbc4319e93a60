"""One batch job (instance × model card × scenario × seed): its identity and its execution.

:func:`execute` runs in a worker (a local worker process or a Dask worker) and never raises for
a job's own failure: bad input, an infeasible problem or a bug become a result row with
``status`` ``error`` or ``infeasible`` and the message in ``error``.  The solution document is
the one ``topo-opt solve --out`` writes (:func:`topo_opt.solve.document.solution_document`),
plus a ``scenario`` key when the scenario is not the intact network.

Run as ``python -m topo_opt.batch.job`` it reads ``[job, out_dir]`` as JSON on stdin and
prints the row as JSON: :func:`execute_limited` uses that to kill a job at its time limit.
"""
from __future__ import annotations

import functools
import hashlib
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from topo_opt import __version__
from topo_opt.errors import InfeasibleError, TopoOptError
from topo_opt.io.solution_json import write_solution
from topo_opt.model.scenarios import Scenario, apply_scenario
from topo_opt.solve.cards import deprecations_already_said, load_card
from topo_opt.solve.dispatch import solve
from topo_opt.solve.instance_loader import instance_label, read_network
from topo_opt.solve.document import solution_document

READY = "topo-opt-batch-job-ready"
SOLVER_PACKAGES = ("highspy", "pyomo", "numpy", "scipy")
METRIC_COLUMNS = ("average_delay_s", "max_utilization", "mean_utilization", "max_demand_delay_s",
                  "loss", "n_saturated", "total_power_w")


@dataclass(frozen=True)
class Job:
    """What one job solves.

    Attributes
    ----------
    instance : str
        The instance path as the user gave it (recorded in rows and solution files).
    instance_path : str
        The same file as an absolute path (what workers open).
    instance_sha256 : str
    format : str
    model : str
        The model label (card stem, or the entry's name).
    card_file : str
    overrides : tuple of str
        Every ``KEY=VALUE`` applied to the card, the seed's included.
    scenario : Scenario
    seed : int or None
        None for cards without a seed parameter.
    job_id : str
        Hash of the instance content, the validated card, the scenario and the seed: the key
        that resume uses.
    """

    instance: str
    instance_path: str
    instance_sha256: str
    format: str
    model: str
    card_file: str
    overrides: tuple[str, ...]
    scenario: Scenario
    seed: int | None
    job_id: str

    def to_dict(self) -> dict[str, Any]:
        doc = {key: getattr(self, key) for key in self.__dataclass_fields__}
        doc["overrides"] = list(self.overrides)
        doc["scenario"] = self.scenario.to_dict()
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Job":
        return cls(**{**doc, "overrides": tuple(doc["overrides"]), "scenario": Scenario.from_dict(doc["scenario"])})

    @property
    def solution_name(self) -> str:
        """File name of the job's solution: instance stem, model label and job id."""
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in f"{instance_label(self.instance)}__{self.model}")
        return f"{safe}__{self.job_id}.json"

    def identity_row(self) -> dict[str, Any]:
        """The row columns known before the job runs."""
        return {"job_id": self.job_id, "instance": instance_label(self.instance),
                "instance_file": self.instance, "instance_sha256": self.instance_sha256,
                "model": self.model, "model_file": self.card_file, "overrides": ";".join(self.overrides),
                "scenario": self.scenario.name, "demand_scale": self.scenario.demand_scale,
                "failed_links": ";".join(self.scenario.failed_links),
                "failed_nodes": ";".join(self.scenario.failed_nodes), "seed": self.seed,
                "topo_opt_version": __version__, "solver_versions": solver_versions()}

    def failure_row(self, status: str, message: str, wall_time_s: float | None = None) -> dict[str, Any]:
        """The row of a job that produced no solution (``error``, ``timeout``, ``infeasible``)."""
        termination = {"timeout": "time_limit", "infeasible": "infeasible"}.get(status, "error")
        return {**self.identity_row(), "status": status, "termination": termination, "solution": "none",
                "error": message,
                "wall_time_s": wall_time_s, **_where_and_when()}


def job_id(instance_sha256: str, instance_name: str, card: dict[str, Any], scenario: Scenario,
           seed: int | None) -> str:
    """16 hex digits of the SHA-256 of the job's inputs (instance content, card, scenario, seed).

    The card's ``solver.method`` enters with ``_`` for ``-``: method names were written
    ``path_equilibration`` before they became kebab-case, and a batch recorded then keeps its
    finished jobs whichever way the method is spelled now.
    """
    solver = card.get("solver")
    if isinstance(solver, dict) and isinstance(solver.get("method"), str):
        card = {**card, "solver": {**solver, "method": solver["method"].replace("-", "_")}}
    key = json.dumps({"instance": [instance_name, instance_sha256], "card": card,
                      "scenario": scenario.to_dict(), "seed": seed}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def solver_versions() -> str:
    """``name=version`` of the solver packages, ``;``-separated."""
    versions = []
    for name in SOLVER_PACKAGES:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=missing")
    return ";".join(versions)


def _where_and_when() -> dict[str, str]:
    return {"host": socket.gethostname(), "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def execute(job: Job, out_dir: str) -> dict[str, Any]:
    """Solve one job, write its solution under ``out_dir/solutions/`` and return its row.

    Never raises for the job's own failure (see the module docstring).
    """
    start = time.perf_counter()
    try:
        network = apply_scenario(read_network(job.instance_path, job.format), job.scenario)
        with deprecations_already_said():  # by the batch when it made the jobs
            card = load_card(job.card_file, job.overrides)
        result = solve(network, card)
        doc = solution_document(network, result, card, instance_file=job.instance_path)
    except InfeasibleError as exc:
        return job.failure_row("infeasible", str(exc), time.perf_counter() - start)
    except TopoOptError as exc:
        return job.failure_row("error", str(exc), time.perf_counter() - start)
    except Exception as exc:  # a bug in one job must not stop the batch: record it
        return job.failure_row("error", f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
    doc["instance"]["file"] = job.instance
    if job.scenario != Scenario():
        doc["scenario"] = job.scenario.to_dict()
    solution_file = Path("solutions") / job.solution_name
    write_solution(Path(out_dir) / solution_file, doc)
    metrics = doc.get("metrics", {})
    return {**job.identity_row(), "problem": card.problem, "status": doc["status"],
            "termination": doc["termination"], "solution": doc["solution"], "method": doc["method"],
            "objective_name": doc["objective_name"], "objective_unit": doc["objective_unit"],
            "objective": doc["objective"], "lower_bound": doc["lower_bound"], "gap": doc["gap"],
            "solve_time_s": doc["solve_time_s"], "wall_time_s": time.perf_counter() - start,
            "iterations": doc["iterations"], "rate_unit": doc["units"]["rate"], "overloaded": doc["overloaded"],
            **{key: metrics.get(key) for key in METRIC_COLUMNS},
            "solution_file": str(solution_file), "error": doc.get("message") if not result.success else None,
            **_where_and_when()}


def execute_limited(job: Job, out_dir: str, time_limit_s: float | None) -> dict[str, Any]:
    """:func:`execute` in a child Python process killed after ``time_limit_s`` seconds.

    Used where the caller cannot kill the process it runs in (a Dask worker).  The clock starts
    when the child has imported the solvers and reads the job, as in a warm local worker, so
    interpreter start-up does not eat into the limit.  Without a limit the job runs in this
    process.
    """
    if time_limit_s is None:
        return execute(job, out_dir)
    child = subprocess.Popen([sys.executable, "-m", "topo_opt.batch.job"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = child.stdout.readline()  # the child writes nothing else before it reads the job
        start = time.perf_counter()
        message = json.dumps([job.to_dict(), out_dir]) if ready.strip() == READY else None
        out, err = child.communicate(input=message, timeout=time_limit_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return job.failure_row("timeout", f"killed at the time limit of {time_limit_s:g} s", time_limit_s)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0 or ready.strip() != READY:
        lines = err.strip().splitlines() or [f"exit code {child.returncode}"]
        return job.failure_row("error", f"job process failed: {lines[-1]}", time.perf_counter() - start)
    return json.loads(out)


def _main() -> None:
    print(READY, flush=True)
    job, out_dir = json.loads(sys.stdin.read())
    print(json.dumps(execute(Job.from_dict(job), out_dir)))


if __name__ == "__main__":
    _main()
