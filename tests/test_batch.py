"""topo-opt batch: grid expansion, job identity, local runs, time limits, failures, resume."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import popen_with_ctrl_c
from topo_opt.batch.grid import expand_instances, expand_jobs
from topo_opt.batch.runner import run_batch
from topo_opt.batch.spec import BatchSpec, ModelEntry, load_batch_file
from topo_opt.batch.table import COLUMNS, read_results
from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
MIN_DELAY = str(ROOT / "models" / "min-delay.toml")
MAX_UTIL = str(ROOT / "models" / "min-max-utilization.toml")
# Flow deviation asked for a 1e-12 gap on GEANT runs for minutes: a job that must be killed
SLOW = ModelEntry(MIN_DELAY, ('solver.method="flow-deviation"', "solver.gap=1e-12"), "slow")


def _small_spec(out: Path, **kw) -> BatchSpec:
    return BatchSpec(instances=(str(INSTANCES / "six-node.json"), str(INSTANCES / "abilene.json")),
                     models=(ModelEntry(MIN_DELAY), ModelEntry(MAX_UTIL)), demand_scales=(1.0, 1.1, 1.2),
                     out=str(out), **kw)


def test_grid_is_instances_x_cards_x_scenarios_with_stable_ids(tmp_path):
    spec = BatchSpec(instances=(str(INSTANCES),), models=(ModelEntry(MIN_DELAY), ModelEntry(MAX_UTIL)),
                     demand_scales=(1.0, 1.1, 1.2))
    jobs = expand_jobs(spec)
    assert len(expand_instances((str(INSTANCES),))) == 4  # the folder's README and script are skipped
    assert len(jobs) == 4 * 2 * 3
    assert len({j.job_id for j in jobs}) == len(jobs)
    assert [j.job_id for j in expand_jobs(spec)] == [j.job_id for j in jobs]
    assert {j.scenario.name for j in jobs} == {"base", "demand x1.1", "demand x1.2"}
    assert all(j.seed is None for j in jobs)  # neither card has a seed parameter
    # the id follows the card's content: an override that changes a value changes it
    tighter = expand_jobs(BatchSpec(instances=spec.instances, models=(ModelEntry(MIN_DELAY, ("solver.gap=1e-3",)),)))
    assert not {j.job_id for j in tighter} & {j.job_id for j in jobs}


def test_failure_scenarios_multiply_with_scales():
    spec = BatchSpec(instances=(str(INSTANCES / "six-node.json"),), models=(ModelEntry(MIN_DELAY),),
                     demand_scales=(1.0, 2.0), failures="each-link")
    jobs = expand_jobs(spec)
    assert len(jobs) == (1 + 8) * 2  # intact + one per link, at each scale
    named = {j.scenario.name: j.scenario for j in jobs}
    assert named["fail link AB, demand x2"].failed_links == ("AB",)
    assert named["fail link AB, demand x2"].demand_scale == 2.0
    with pytest.raises(InvalidInputError, match="'nope' is not a link"):
        expand_jobs(BatchSpec(instances=spec.instances, failures=("nope",)))


def test_batch_file_toml_and_yaml_give_the_same_grid(tmp_path):
    (tmp_path / "b.toml").write_text(
        f'instances = ["{INSTANCES}/six-node.json"]\n'
        f'models = ["{MIN_DELAY}", {{file = "{MIN_DELAY}", set = ["solver.gap=1e-4"], name = "loose"}}]\n'
        'time_limit_s = 5\n[scenarios]\ndemand_scales = "1.0:1.2:0.1"\nfailures = ["AB"]\n')
    (tmp_path / "b.yaml").write_text(
        f"instances: [{INSTANCES}/six-node.json]\n"
        f"models: [{MIN_DELAY}, {{file: {MIN_DELAY}, set: ['solver.gap=1e-4'], name: loose}}]\n"
        "time_limit_s: 5\nscenarios: {demand_scales: [1.0, 1.1, 1.2], failures: [AB]}\n")
    toml_spec, yaml_spec = load_batch_file(tmp_path / "b.toml"), load_batch_file(tmp_path / "b.yaml")
    assert toml_spec == yaml_spec
    assert toml_spec.out == "batch-out" and toml_spec.time_limit_s == 5.0
    assert [j.job_id for j in expand_jobs(toml_spec)] == [j.job_id for j in expand_jobs(yaml_spec)]
    assert len(expand_jobs(toml_spec)) == 1 * 2 * 2 * 3
    assert {j.model for j in expand_jobs(toml_spec)} == {"min-delay", "loose"}


@pytest.mark.parametrize("text, match", [
    ("instancez = []", "unknown key 'instancez'"),
    ("[scenarios]\nscales = 1", "unknown key 'scenarios.scales'"),
    ("seeds = [-1]", "seeds must be"),
    ("time_limit_s = 0", "time_limit_s must be a number > 0"),
    ('models = [{path = "x"}]', r"models\[0\]"),
    ("[scenarios]\ndemand_scales = \"2:1:0.1\"", "STOP >= START"),
])
def test_bad_batch_file_names_the_key(tmp_path, text, match):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(InvalidInputError, match=match):
        load_batch_file(tmp_path / "bad.toml")


def test_local_batch_records_every_job_like_solve_and_resumes(tmp_path):
    out = tmp_path / "out"
    jobs = expand_jobs(_small_spec(out))
    seen = []
    summary = run_batch(jobs, out, workers=2, on_row=seen.append)
    assert summary.ran == len(jobs) == 12 and summary.skipped == 0
    rows = read_results(out / "results.csv")
    assert sorted(r["job_id"] for r in rows) == sorted(j.job_id for j in jobs) == sorted(r["job_id"] for r in seen)
    infeasible = {(r["instance"], r["model"], r["scenario"]) for r in rows if r["status"] == "infeasible"}
    # six-node's min-hop routing already runs at 90 %: 20 % more traffic cannot fit (a cut saturates)
    assert infeasible == {("six-node", "min-delay", "demand x1.2")}
    for row in rows:
        if row["status"] == "infeasible":
            assert "infeasible" in row["error"] or "cannot carry" in row["error"]
            assert row["solution_file"] is None
            assert (row["termination"], row["solution"]) == ("infeasible", "none")
            continue
        assert row["status"] == "optimal", row
        assert (row["termination"], row["solution"]) == ("converged", "optimal")
        doc = json.loads((out / row["solution_file"]).read_text())
        assert (doc["termination"], doc["solution"], doc["violations"]) == ("converged", "optimal", [])
        assert row["objective"] == doc["objective"] and row["gap"] == doc["gap"]
        assert row["average_delay_s"] == doc["metrics"]["average_delay_s"]
        assert row["instance_sha256"] == doc["instance"]["sha256"]
        assert ("scenario" in doc) == (row["scenario"] != "base")
    # the base-scenario solution is the document `topo-opt solve --out` writes
    base = next(r for r in rows if r["instance"] == "six-node" and r["model"] == "min-delay" and r["scenario"] == "base")
    solved = tmp_path / "solve.json"
    result = CliRunner().invoke(cli, ["solve", base["instance_file"], "--model", MIN_DELAY, "--out", str(solved), "--quiet"])
    assert result.exit_code == 0, result.output
    batch_doc, solve_doc = json.loads((out / base["solution_file"]).read_text()), json.loads(solved.read_text())
    for doc in (batch_doc, solve_doc):
        doc.pop("solve_time_s")
        for record in doc["history"]:
            record.pop("time_s")
    assert batch_doc == solve_doc
    # scaled demands raise the delay of the same routing problem
    delay = {(r["instance"], r["model"], r["demand_scale"]): r["average_delay_s"] for r in rows}
    assert delay[("abilene", "min-delay", 1.0)] < delay[("abilene", "min-delay", 1.2)]
    # Parquet holds the same table
    pq = pytest.importorskip("pyarrow.parquet")
    assert pq.read_table(out / "results.parquet").to_pylist() == rows
    # resume: nothing left to do, the table is unchanged
    before = (out / "results.csv").read_text()
    again = run_batch(jobs, out, workers=2)
    assert again.ran == 0 and again.skipped == 12
    assert (out / "results.csv").read_text() == before


def test_timeout_and_failures_are_recorded_and_do_not_stop_the_others(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "topo-opt/network", "version": 1, "nodes": [{"id": "a"}], '
                      '"links": [{"id": "l", "source": "a", "target": "c", "capacity": 1}]}')
    spec = BatchSpec(instances=(str(INSTANCES / "geant.json"), str(INSTANCES / "six-node.json"), str(broken)),
                     models=(SLOW, ModelEntry(MIN_DELAY)))
    jobs = expand_jobs(spec)
    start = time.monotonic()
    run_batch(jobs, tmp_path / "out", workers=2, time_limit_s=5.0)  # min-delay needs < 0.5 s
    elapsed = time.monotonic() - start
    rows = {(r["instance"], r["model"]): r for r in read_results(tmp_path / "out" / "results.csv")}
    assert len(rows) == 6
    assert {key: row["status"] for key, row in rows.items()} == {
        ("geant", "slow"): "timeout", ("six-node", "slow"): "timeout", ("broken", "slow"): "error",
        ("geant", "min-delay"): "optimal", ("six-node", "min-delay"): "optimal", ("broken", "min-delay"): "error"}
    assert rows[("geant", "slow")]["wall_time_s"] >= 5.0
    assert "time limit of 5 s" in rows[("geant", "slow")]["error"]
    for model in ("slow", "min-delay"):
        assert "unknown node 'c'" in rows[("broken", model)]["error"]
    assert elapsed < 30  # the slow job was killed, not waited for
    # --retry-failed re-runs only the failed jobs
    again = run_batch(jobs, tmp_path / "out", workers=2, time_limit_s=5.0, retry_failed=True)
    assert again.skipped == 2 and again.statuses == {"timeout": 2, "error": 2}


def _batch_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "topo_opt", "batch", str(INSTANCES / "six-node.json"), str(INSTANCES / "abilene.json"),
            str(INSTANCES / "nobel-us.json"), "--model", MIN_DELAY, "--demand-scale", "1.0:1.2:0.1",
            "--workers", "1", "--out", str(out), "--quiet", *extra]


def _expected_status(row: dict) -> str:
    """six-node at 1.2 x its demands is infeasible by design (links FA, AB, DE, EF, BC, ... form a
    cut whose least max utilisation is >= 1.013); the other 8 jobs are optimal."""
    return "infeasible" if (row["instance"], float(row["demand_scale"])) == ("six-node", 1.2) else "optimal"


def _interrupt_midway(out: Path) -> tuple[int, str]:
    """Run the batch and send SIGINT once some, not all, of the 9 jobs are done: (exit code, stderr)."""
    proc = popen_with_ctrl_c(_batch_cmd(out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    table = out / "results.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if table.exists() and 2 <= len(read_results(table)) < 9:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_ctrl_c_leaves_a_consistent_table_and_rerun_completes_the_rest(tmp_path):
    for attempt in range(3):  # exit 0: on a loaded machine the batch finished before the signal
        out = tmp_path / f"out{attempt}"
        code, err = _interrupt_midway(out)
        if code != 0:
            break
    assert code == 130, err
    table = out / "results.csv"
    assert "interrupted" in err and "Traceback" not in err
    first = {r["job_id"]: r for r in read_results(table)}
    assert 2 <= len(first) < 9
    assert all(r["status"] == _expected_status(r) for r in first.values()), first
    assert not list(out.glob(".*.tmp"))  # no temporary file left behind
    done = subprocess.run(_batch_cmd(out), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"({len(first)} already done)" in done.stdout
    rows = {r["job_id"]: r for r in read_results(table)}
    assert len(rows) == 9 and all(r["status"] == _expected_status(r) for r in rows.values())
    for job_id, row in first.items():  # finished jobs were not run again
        assert rows[job_id]["finished_at"] == row["finished_at"]
        assert rows[job_id]["wall_time_s"] == row["wall_time_s"]


def test_cli_batch_file_flags_and_errors(tmp_path):
    runner = CliRunner()
    batch_file = tmp_path / "b.toml"
    batch_file.write_text(f'instances = ["{INSTANCES}/six-node.json"]\nmodels = ["{MIN_DELAY}"]\n')
    result = runner.invoke(cli, ["batch", str(batch_file), "--demand-scale", "1:2:0.5", "--fail", "AB,BC",
                                 "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("9 jobs")  # (intact + 2 failures) x 3 scales
    result = runner.invoke(cli, ["batch", str(INSTANCES / "six-node.json"), "--model", MIN_DELAY, "--out",
                                 str(tmp_path / "o"), "--set", "solver.gap=1e-4", "--workers", "1"])
    assert result.exit_code == 0, result.output
    row, = read_results(tmp_path / "o" / "results.csv")
    assert row["overrides"] == "solver.gap=1e-4" and row["status"] == "optimal"
    assert list(row) == list(COLUMNS)
    for args, message in ((["nope/*.json"], "matches no file"),
                          ([str(INSTANCES / "six-node.json"), "--set", "solver.gapp=1"], "unknown key 'solver.gapp'"),
                          ([str(INSTANCES / "six-node.json"), "--workers", "0", "--out", str(tmp_path / "w")],
                           "--workers must be >= 1")):
        result = runner.invoke(cli, ["batch", *args, "--model", MIN_DELAY])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "w").exists()


def test_worker_that_dies_is_recorded(tmp_path, monkeypatch):
    """A worker killed from outside (OOM killer, segfault) fails its job only."""
    from topo_opt.batch import local

    jobs = [j for j in expand_jobs(BatchSpec(instances=(str(INSTANCES / "geant.json"), str(INSTANCES / "six-node.json")),
                                             models=(SLOW, ModelEntry(MIN_DELAY))))
            if not (j.instance.endswith("six-node.json") and j.model == "slow")]
    rows = []
    killed = []
    original = local._Worker.submit

    def submit(self, job, out_dir, limit):
        original(self, job, out_dir, limit)
        if job.model == "slow" and not killed:
            killed.append(job.job_id)
            os.kill(self.process.pid, signal.SIGKILL)

    monkeypatch.setattr(local._Worker, "submit", submit)
    local.run_local(jobs, str(tmp_path), rows.append, workers=2, time_limit_s=30)
    status = {(r["instance"], r["model"]): r["status"] for r in rows}
    assert status == {("geant", "slow"): "error", ("geant", "min-delay"): "optimal",
                      ("six-node", "min-delay"): "optimal"}
    assert next(r for r in rows if r["job_id"] == killed[0])["error"].startswith("worker process died")


def test_seeds_multiply_only_cards_with_a_seed_parameter():
    ga = ROOT / "models" / "ga.toml"
    if not ga.exists():
        pytest.skip("no card with a seed parameter in models/")
    jobs = expand_jobs(BatchSpec(instances=(str(INSTANCES / "six-node.json"),),
                                 models=(ModelEntry(str(ga)), ModelEntry(MIN_DELAY)), seeds=(0, 1, 2)))
    seeded = [j for j in jobs if j.model == "ga"]
    assert [j.seed for j in seeded] == [0, 1, 2]
    assert [j.overrides[-1].split("=", 1)[1] for j in seeded] == ["0", "1", "2"]
    assert all(j.overrides[-1].split("=", 1)[0].endswith(".seed") for j in seeded)
    assert len({j.job_id for j in seeded}) == 3
    assert [j.seed for j in jobs if j.model == "min-delay"] == [None]


def test_overloaded_flag_is_a_column_of_the_table_parquet_summary_and_report(tmp_path):
    """Routing-baseline (min-hop) on six-node at 1.2 x the demands loads four links to 108 %: the
    row says overloaded (status stays feasible); at 1.0 it is not; CSV, Parquet, the terminal
    summary and the batch report all carry the flag."""
    from topo_opt.report.batch_view import TABLE_COLUMNS, status_counts
    from topo_opt.report.build import write_report
    out = tmp_path / "out"
    (tmp_path / "b.toml").write_text(
        f'instances = ["{INSTANCES}/six-node.json"]\nmodels = ["{ROOT}/models/routing-baseline.toml"]\n'
        f'out = "{out}"\n[scenarios]\ndemand_scales = [1.0, 1.2]\n')
    run = CliRunner().invoke(cli, ["batch", str(tmp_path / "b.toml"), "--quiet"])
    assert run.exit_code == 0, run.output
    assert "overloaded" in run.output and "1 (some link at or above capacity)" in run.output
    rows = {r["demand_scale"]: r for r in read_results(out / "results.csv")}
    assert rows[1.0]["overloaded"] is False and rows[1.0]["status"] == "feasible"
    assert rows[1.2]["overloaded"] is True and rows[1.2]["status"] == "feasible"
    assert rows[1.2]["max_utilization"] > 1
    doc = json.loads((out / rows[1.2]["solution_file"]).read_text())
    assert doc["overloaded"] is True
    header, *lines = (out / "results.csv").read_text().splitlines()
    column = header.split(",").index("overloaded")
    assert sorted(line.split(",")[column] for line in lines) == ["false", "true"]
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(out / "results.parquet")
    assert str(table.schema.field("overloaded").type) == "bool"
    assert sorted(table.column("overloaded").to_pylist()) == [False, True]
    assert "overloaded" in TABLE_COLUMNS
    assert status_counts(list(rows.values())) == [{"model": "routing-baseline", "feasible": 2, "overloaded": 1, "total": 2}]
    write_report(out / "results.csv", tmp_path / "batch.html", png=False)
    page = (tmp_path / "batch.html").read_text()
    assert '<th>overloaded</th>' in page and 'data-key="overloaded">True</td>' in page


def test_results_table_rejects_a_bad_overloaded_cell(tmp_path):
    columns = list(COLUMNS)
    cells = ["" for _ in columns]
    cells[columns.index("job_id")] = "x"
    cells[columns.index("overloaded")] = "maybe"
    (tmp_path / "results.csv").write_text(",".join(columns) + "\n" + ",".join(cells) + "\n")
    with pytest.raises(InvalidInputError, match=r"results.csv:2: overloaded: expected true or false, got 'maybe'"):
        read_results(tmp_path / "results.csv")


def test_an_old_spelling_is_warned_about_once_per_batch_not_per_seed_or_job(tmp_path, caplog):
    from topo_opt.batch.job import execute

    ga = ModelEntry("ga", ('objective.default_power_profile="core-router"',))  # old key of power.default_profile
    jobs = expand_jobs(BatchSpec(instances=(str(INSTANCES / "six-node.json"),), models=(ga,), seeds=(0, 1, 2)))
    assert len(jobs) == 3 and caplog.text.count("'objective.default_power_profile' is deprecated") == 1
    caplog.clear()
    old = ModelEntry(MIN_DELAY, ('solver.method="gradient_projection"',))
    jobs = expand_jobs(BatchSpec(instances=(str(INSTANCES / "six-node.json"),), models=(old,),
                                 demand_scales=(1.0, 1.1)))
    rows = [execute(job, str(tmp_path)) for job in jobs]  # what each worker does
    assert [row["method"] for row in rows] == ["gradient-projection"] * 2
    assert caplog.text.count("'gradient_projection' is deprecated") == 1


def test_a_batch_recorded_before_method_names_were_kebab_case_resumes_without_rerunning(tmp_path):
    import csv
    import hashlib

    from topo_opt.solve.cards import load_card

    out = tmp_path / "out"
    entry = ModelEntry(MIN_DELAY, ('solver.method="path-equilibration"',))
    jobs = expand_jobs(BatchSpec(instances=(str(INSTANCES / "six-node.json"),), models=(entry,)))
    assert run_batch(jobs, out, workers=1).ran == 1
    # the table as topo-opt wrote it when the method was spelled path_equilibration: the id hashed
    # the card as read, method included (job_id before kebab-case method names)
    card = load_card(MIN_DELAY, entry.overrides).to_dict()
    card["solver"]["method"] = "path_equilibration"
    job = jobs[0]
    old_id = hashlib.sha256(json.dumps(
        {"instance": [Path(job.instance_path).name, job.instance_sha256], "card": card,
         "scenario": job.scenario.to_dict(), "seed": job.seed}, sort_keys=True).encode()).hexdigest()[:16]
    table = out / "results.csv"
    rows = list(csv.DictReader(table.open()))
    rows[0]["job_id"] = old_id
    with table.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "results.parquet").unlink(missing_ok=True)
    for spelling in ("path_equilibration", "path-equilibration"):
        old = ModelEntry(MIN_DELAY, (f'solver.method="{spelling}"',))
        again = run_batch(expand_jobs(BatchSpec(instances=(str(INSTANCES / "six-node.json"),), models=(old,))),
                          out, workers=1)
        assert (again.ran, again.skipped) == (0, 1), spelling
