"""topo-opt batch on a real Dask cluster: scheduler and workers started as separate processes."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from click.testing import CliRunner  # noqa: E402

from topo_opt.batch.grid import expand_jobs  # noqa: E402
from topo_opt.batch.runner import run_batch  # noqa: E402
from topo_opt.batch.spec import BatchSpec, ModelEntry  # noqa: E402
from topo_opt.batch.table import read_results  # noqa: E402
from topo_opt.cli.main import cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ("solve_time_s", "wall_time_s", "host", "finished_at")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """Address of a local cluster: `dask scheduler` and `dask worker` (2 processes) as subprocesses."""
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
    procs = [subprocess.Popen([dask, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
                              cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard", "--local-directory", str(folder)],
                                      cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _stable(rows):
    return sorted(({k: v for k, v in r.items() if k not in VOLATILE} for r in rows), key=lambda r: r["job_id"])


def test_bundled_instances_x_2_cards_x_3_scenarios_identical_locally_and_on_dask(scheduler, tmp_path):
    spec = BatchSpec(instances=(str(ROOT / "instances"),),
                     models=(ModelEntry(str(ROOT / "models/min-delay.toml")),
                             ModelEntry(str(ROOT / "models/min-max-utilization.toml"))),
                     demand_scales=(1.0, 1.1, 1.2))
    jobs = expand_jobs(spec)
    assert len(jobs) == 4 * 2 * 3
    run_batch(jobs, tmp_path / "local", workers=2)
    run_batch(jobs, tmp_path / "dask", scheduler=scheduler)
    local, remote = read_results(tmp_path / "local/results.csv"), read_results(tmp_path / "dask/results.csv")
    assert len(local) == len(remote) == 24
    differences = [(a["job_id"], key, a[key], b[key]) for a, b in zip(_stable(local), _stable(remote))
                   for key in a if a[key] != b[key]]
    assert not differences, differences
    assert sum(r["status"] == "optimal" for r in local) >= 20
    for row in local:
        if row["solution_file"]:
            a = (tmp_path / "local" / row["solution_file"]).read_text()
            b = (tmp_path / "dask" / row["solution_file"]).read_text()
            assert a.split('"solve_time_s"')[0] == b.split('"solve_time_s"')[0]  # same design, same numbers


def test_time_limit_on_dask_kills_the_job_and_the_cli_resumes(scheduler, tmp_path):
    slow = ModelEntry(str(ROOT / "models/min-delay.toml"), ('solver.method="flow-deviation"', "solver.gap=1e-12"), "slow")
    fast = ModelEntry(str(ROOT / "models/min-delay.toml"))
    jobs = expand_jobs(BatchSpec(instances=(str(ROOT / "instances/geant.json"),), models=(slow, fast)))
    summary = run_batch(jobs, tmp_path / "out", scheduler=scheduler, time_limit_s=6.0)  # min-delay: < 0.5 s
    assert summary.statuses == {"timeout": 1, "optimal": 1}
    rows = {r["model"]: r for r in read_results(tmp_path / "out/results.csv")}
    assert rows["slow"]["status"] == "timeout" and "time limit of 6 s" in rows["slow"]["error"]
    result = CliRunner().invoke(cli, ["batch", str(ROOT / "instances/geant.json"), "--model",
                                      str(ROOT / "models/min-delay.toml"), "--scheduler", scheduler,
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "(1 already done)" in result.output


def test_unreachable_scheduler_is_an_input_error(tmp_path):
    from topo_opt.batch.cluster import run_on_cluster
    from topo_opt.errors import InvalidInputError

    jobs = expand_jobs(BatchSpec(instances=(str(ROOT / "instances/six-node.json"),),
                                 models=(ModelEntry(str(ROOT / "models/min-delay.toml")),)))
    with pytest.raises(InvalidInputError, match="tcp://127.0.0.1:9: cannot connect"):
        run_on_cluster(jobs, str(tmp_path), print, address="tcp://127.0.0.1:9", connect_timeout_s=1.0)
