"""Ctrl-C (a real SIGINT to a subprocess) in every kind of long command (issue 12, defect 4):
exit code 130, one ``topo-opt: interrupted`` line, no traceback, the best design so far with
its bound (status ``interrupted``) where one exists, finished rows written."""
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import INSTANCES, MODELS, REPO, benchmark_path, popen_with_ctrl_c
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.io.detect import read_instance
from topo_opt.io.solution_json import read_design
from topo_opt.evaluators.design_check import check_design

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a subprocess")


def interrupt_when(args, seen, *, count: int = 1, after_s: float = 0.0, timeout_s: float = 120.0):
    """Run ``topo-opt ARGS``; once ``seen`` appeared ``count`` times on stderr (and ``after_s``
    later), send SIGINT.  Returns (exit code, stdout, stderr, stderr lines before the signal)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = popen_with_ctrl_c([sys.executable, "-m", "topo_opt", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    while sum(seen in line for line in lines) < count:
        assert proc.poll() is None, f"ended before {seen!r}: {''.join(lines)}"
        assert time.monotonic() < deadline, f"no {seen!r} within {timeout_s} s"
        time.sleep(0.02)
    time.sleep(after_s)
    before = list(lines)
    proc.send_signal(signal.SIGINT)
    out = proc.stdout.read()
    proc.wait(timeout=60)
    reader.join(timeout=10)
    return proc.returncode, out, "".join(lines), before


def assert_interrupted(code, err):
    assert code == 130, err
    assert "Traceback" not in err and "Aborted" not in err and "HiGHS stopped" not in err, err
    assert err.strip().splitlines()[-1].startswith("topo-opt: interrupted"), err


@pytest.mark.parametrize("method", ["gradient-projection", "flow-deviation"])
def test_first_order_methods_keep_their_last_iterate_and_bound(tmp_path, method):
    instance = benchmark_path("commalab", "grid", "grid8")  # gradient projection: ~8 s to a 1e-8 gap
    out = tmp_path / "s.json"
    code, stdout, err, _ = interrupt_when(["solve", instance, "--method", method, "--gap", "1e-8", "--progress",
                                           "--out", out], "iter ", count=3)
    assert_interrupted(code, err)
    doc = json.loads(out.read_text())
    assert doc["status"] == "interrupted" and doc["method"] == method and "interrupted" in stdout
    assert -1e300 < doc["lower_bound"] <= doc["objective"] and doc["gap"] > 1e-8  # the proven bound so far
    network = read_instance(instance)
    design = read_design(out, network)
    assert check_design(network, design) == []
    # the reported objective is the delay of the written design, recomputed independently
    assert evaluate_design(network, design).average_delay_s == pytest.approx(doc["objective"], rel=1e-9)


def test_min_power_keeps_its_best_design_and_bound_from_the_start_on(tmp_path):
    # the signal as soon as the solve logs the MILP: it lands in the switch-off start or the first
    # MILP (before or after HiGHS's first incumbent); each keeps a checked design, with the MILP's
    # dual bound once HiGHS has one (tests/test_min_power.py checks each case without timing)
    out = tmp_path / "p.json"
    instance = INSTANCES / "nobel-us.json"
    code, stdout, err, _ = interrupt_when(["-v", "solve", instance, "--model", MODELS / "earp-min-power.toml",
                                           "--quiet", "--out", out], "min-power MILP", after_s=0.2)
    assert_interrupted(code, err)
    doc = json.loads(out.read_text())
    assert doc["status"] == "interrupted" and doc["method"] == "min-power-milp" and doc["violations"] == []
    assert doc["lower_bound"] is None or 0 < doc["lower_bound"] <= doc["objective"]
    assert (doc["lower_bound"] is None) == doc["details"]["lower_bound_source"].startswith("none")
    assert doc["metrics"]["total_power_w"] == pytest.approx(doc["objective"], rel=1e-9)
    network = read_instance(instance)
    assert check_design(network, read_design(out, network)) == []


def test_cfa_keeps_its_best_design(tmp_path):
    # CFA (routing.rule = "joint") through the front door: Ctrl-C after three starts keeps the best
    # design of the starts finished (the dispatch keeps a partial only for interruptible methods)
    out = tmp_path / "c.json"
    instance = INSTANCES / "geant.json"
    code, stdout, err, _ = interrupt_when(["solve", instance, "--model", "capacity-min-delay-budget", "--set",
                                           'routing.rule="joint"', "--set", "cfa.starts=500", "--progress",
                                           "--out", out], "iter ", count=3)
    assert_interrupted(code, err)
    doc = json.loads(out.read_text())
    assert doc["status"] == "interrupted" and doc["method"] == "cfa" and doc["violations"] == []
    network = read_instance(instance)
    design = read_design(out, network)
    assert check_design(network, design) == []
    assert evaluate_design(network, design).average_delay_s == pytest.approx(doc["objective"], rel=1e-9)


def test_whatif_writes_the_finished_scenarios(tmp_path):
    out = tmp_path / "w.csv"
    code, _, err, before = interrupt_when(["whatif", INSTANCES / "nobel-us.json", "--fail", "each-link",
                                           "--progress", "--out", out], "[2/")
    assert_interrupted(code, err)
    finished = [line for line in err.splitlines() if line.startswith("[")]
    rows = list(csv.DictReader(out.open()))
    assert 2 <= len(rows) == len(finished) < 22
    assert [r["scenario"] for r in rows] == [line.split("] ")[1].split(":")[0] for line in finished]
    assert f"{len(rows)} of 22 scenarios finished" in err


def test_bench_writes_the_finished_runs(tmp_path):
    out = tmp_path / "b.json"
    code, _, err, _ = interrupt_when(["bench", INSTANCES / "abilene.json", INSTANCES / "nobel-us.json",
                                      "--methods", "splittable,ga", "--seeds", "2", "--time-limit", "5",
                                      "--progress", "--out", out], "ga seed 0")
    assert_interrupted(code, err)
    runs = json.loads(out.read_text())["runs"]
    finished = [line for line in err.splitlines() if " -> " in line]
    assert 2 <= len(runs) == len(finished) < 6
    assert runs[0]["method"] == "splittable" and runs[0]["best_bound"] == pytest.approx(runs[0]["lower_bound"])


def test_tradeoff_writes_the_finished_points(tmp_path):
    out = tmp_path / "t.json"
    code, _, err, _ = interrupt_when(["-v", "tradeoff", INSTANCES / "nobel-us.json", "--tmax-range",
                                      "1.3:1.6:0.1", "--relative", "--out", out], "min-power MILP", after_s=0.2)
    assert_interrupted(code, err)
    records = json.loads(out.read_text())["records"]
    assert len(records) == 1 and records[0]["milp_status"] == "interrupted" and records[0]["milp_power_w"] > 0
    assert records[0]["milp_bound_w"] is None or records[0]["milp_bound_w"] <= records[0]["milp_power_w"]
