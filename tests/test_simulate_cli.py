"""``topo-opt simulate`` end to end: output files, refusals and one-line errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIX = ROOT / "instances" / "six-node.json"


def run(*args):
    return subprocess.run([sys.executable, "-m", "topo_opt", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "six.json"
    proc = run("solve", SIX, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


def one_line_error(proc, match):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], proc.stderr


def test_simulate_writes_json_and_plot(solution, tmp_path):
    pytest.importorskip("matplotlib")
    out, plot = tmp_path / "sim.json", tmp_path / "sim.png"
    proc = run("simulate", SIX, solution, "--packets", "2e4", "--replications", "2", "--lengths",
               "empirical:64,1500:0.5,0.5", "--buffer", "30000bytes", "--out", out, "--plot", plot)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["format"] == "topo-opt/simulation"
    assert doc["options"]["lengths"] == "empirical" and doc["options"]["buffer_unit"] == "bits"
    assert doc["network"]["packets_measured"] == 2 * 18_000
    demand = doc["demands"][0]
    assert demand["p50_delay_s"] <= demand["p95_delay_s"] <= demand["p99_delay_s"]
    assert {"queue_delay_s", "ci_half_width_s", "model_queue_delay_s", "loss"} <= set(doc["arcs"][0])
    assert plot.stat().st_size > 10_000
    assert "Kleinrock T" in proc.stdout and "p99" in proc.stdout


def test_saturated_link_is_refused(solution, tmp_path):
    doc = json.loads(solution.read_text())
    for link in doc["links"]:
        link["capacity"] /= 2
    halved = tmp_path / "halved.json"
    halved.write_text(json.dumps(doc))
    proc = run("simulate", SIX, halved, "--packets", "1000")
    one_line_error(proc, "is saturated (utilisation")
    proc = run("simulate", SIX, halved, "--packets", "1000", "--buffer", "20", "--replications", "1")
    assert proc.returncode == 0, proc.stderr


def test_solve_simulate_adds_the_model_error(tmp_path):
    out = tmp_path / "sol.json"
    proc = run("solve", SIX, "--simulate", "50000", "--out", out)
    assert proc.returncode == 0, proc.stderr
    sim = json.loads(out.read_text())["simulation"]
    assert sim["packets_measured"] == 45_000 and sim["replications"] == 5
    assert sim["kleinrock_delay_s"] == pytest.approx(json.loads(out.read_text())["objective"])
    assert "Kleinrock T" in proc.stdout and "simulation (45000 packets)" in proc.stdout


@pytest.mark.parametrize("args, match", [
    (("--lengths", "gamma"), "--lengths must be"),
    (("--buffer", "0"), "--buffer '0'"),
    (("--packets", "1.5"), "--packets must be a whole number"),
    (("--packets", "10", "--duration", "1"), "not both"),
    (("--warmup", "1"), "--warmup"),
    (("--out", "sim.txt"), "expected a .json file"),
    (("--link-buffer", "XY=3"), "link 'XY' is not in instance"),
    (("--seed", "-1"), "--seed must be >= 0"),
])
def test_bad_arguments_give_one_line(solution, args, match):
    from click.testing import CliRunner

    from topo_opt.cli.main import cli

    result = CliRunner().invoke(cli, ["simulate", str(SIX), str(solution), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], result.stderr
