"""The topo-opt command end to end: solve, evaluate, info, convert, and bad input handling."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SIX = ROOT / "instances" / "six-node.json"
MIN_DELAY = ROOT / "models" / "min-delay.toml"


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "topo_opt", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def assert_clean_failure(proc, match):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert match in lines[0], lines[0]


def test_solve_then_evaluate_agree(tmp_path):
    out = tmp_path / "sol.json"
    proc = run("solve", SIX, "--model", MIN_DELAY, "--out", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["status"] == "optimal" and doc["gap"] <= 1e-6
    assert (doc["termination"], doc["solution"], doc["violations"]) == ("converged", "optimal", [])
    assert doc["lower_bound"] <= doc["objective"]
    assert doc["units"] == {"rate": "bit/s", "delay": "s", "power": "W", "length": "m"}
    assert doc["metrics"]["average_delay_s"] == pytest.approx(doc["objective"], rel=1e-9)
    for demand in doc["demands"]:
        assert sum(p["fraction"] for p in demand["paths"]) == pytest.approx(1.0)
    ev = tmp_path / "ev.json"
    proc = run("evaluate", SIX, out, "--out", ev)
    assert proc.returncode == 0, proc.stderr
    evaluation = json.loads(ev.read_text())
    assert evaluation["metrics"]["average_delay_s"] == pytest.approx(doc["objective"], rel=1e-9)
    assert "average_delay_s" in proc.stdout


@pytest.mark.parametrize("card", sorted((ROOT / "models").glob("*.toml")), ids=lambda p: p.name)
def test_every_card_runs_on_a_bundled_instance(card, tmp_path):
    out = tmp_path / "sol.json"
    proc = run("solve", SIX, "--model", card, "--out", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["status"] in ("optimal", "feasible")
    # the shared checker ran on the design against every constraint of its card
    assert doc["violations"] == [] and doc["termination"] == "converged" and doc["solution"] != "none"


def test_info_and_convert_round_trip(tmp_path):
    proc = run("info", SIX)
    assert proc.returncode == 0 and "total demand" in proc.stdout
    snd = tmp_path / "six.txt"
    assert run("convert", SIX, "--to", "sndlib", "--out", snd).returncode == 0
    back = tmp_path / "six.json"
    assert run("convert", snd, "--to", "json", "--out", back).returncode == 0
    a, b = json.loads(SIX.read_text()), json.loads(back.read_text())
    assert [d["rate"] for d in a["demands"]] == pytest.approx([d["rate"] for d in b["demands"]])


def test_convert_generates_a_gabriel_graph_with_gravity_among_endpoints(tmp_path):
    out = tmp_path / "g.json"
    proc = run("convert", "gabriel:40", "--seed", "2", "--gravity", "1e9", "--gravity-endpoints", "6",
               "--size-capacities", "0.5", "--out", out)
    assert proc.returncode == 0, proc.stderr
    from topo_opt.algorithms.baselines import min_hop_routing
    from topo_opt.io.detect import read_instance
    from topo_opt.model.synthesis import gabriel_network, gravity_demands

    network = read_instance(out)
    expected = gravity_demands(gabriel_network(40, seed=2), 1e9, seed=2, endpoints=6)
    assert network.n_nodes == 40 and [link.id for link in network.links] == [link.id for link in expected.links]
    assert network.n_demands == 30 and network.total_demand == pytest.approx(1e9)
    assert [d.id for d in network.demands] == [d.id for d in expected.demands]
    load = network.queue_load(min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs))
    assert np.all(load <= 0.5 * network.queue_capacity() + 1e-6)  # sized by the bundled rule
    for args, match in ((("gabriel:2",), "gabriel:N with N >= 3"), (("gabriel:x",), "gabriel:N with N >= 3"),
                        (("gabriel:9", "--gravity-endpoints", "3"), "--gravity-endpoints needs --gravity")):
        proc = run("convert", *args, "--out", tmp_path / "bad.json")
        assert proc.returncode == 2 and match in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_instance_gives_one_line_exit_2_and_no_output(tmp_path):
    doc = json.loads(SIX.read_text())
    doc["demands"][0]["target"] = "nowhere"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, indent=1))
    out = tmp_path / "sol.json"
    proc = run("solve", bad, "--out", out)
    assert_clean_failure(proc, "unknown node 'nowhere'")
    assert "bad.json" in proc.stderr
    assert not out.exists()


def test_missing_file_and_bad_card(tmp_path):
    assert_clean_failure(run("solve", tmp_path / "none.json"), "none.json")
    assert_clean_failure(run("solve", SIX, "--set", "solver.gapp=1"), "unknown key 'solver.gapp'")


def test_infeasible_instance_names_the_cut(tmp_path):
    doc = json.loads(SIX.read_text())
    for demand in doc["demands"]:
        demand["rate"] *= 50
    heavy = tmp_path / "heavy.json"
    heavy.write_text(json.dumps(doc))
    out = tmp_path / "sol.json"
    proc = run("solve", heavy, "--out", out)
    assert_clean_failure(proc, "infeasible")
    assert not out.exists()
