"""`topo-opt bench`: runs on bundled instances, every result passes the shared checker."""
import csv
import json
import math

import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.io.detect import read_instance
from topo_opt.batch.benchmark import METHODS, run_benchmark, summarize
from topo_opt.evaluators.design_check import check_result

INSTANCES = ("instances/six-node.json", "instances/nobel-us.json")


@pytest.fixture(scope="module")
def runs():
    networks = [(path, read_instance(path)) for path in INSTANCES]
    return networks, run_benchmark(networks, ["exact", "ga", "splittable", "min-hop"], seeds=2,
                                   time_limit_s=2.0)


def test_every_benchmark_result_passes_the_checker(runs):
    networks, results = runs
    by_name = dict(networks)
    assert len(results) == len(INSTANCES) * 5  # exact, ga x2, splittable, min-hop
    for run in results:
        assert check_result(by_name[run.record["instance"]], run.result) == [], run.record
        assert run.record["objective"] == run.result.objective


def test_best_bound_and_gaps_are_recomputed_consistently(runs):
    _, results = runs
    for path in INSTANCES:
        group = [r.record for r in results if r.record["instance"] == path]
        best = max(r["lower_bound"] for r in group)
        for r in group:
            assert r["best_bound"] == best
            if r["method"] != "splittable":
                assert r["objective"] >= best * (1 - 1e-9)
                assert r["gap_to_best_bound"] == pytest.approx(max(0, r["objective"] - best) / r["objective"])
    summary = {(s["instance"], s["method"]): s for s in summarize([r.record for r in results])}
    ga = [r.record["objective"] for r in results if r.record["method"] == "ga"
          and r.record["instance"] == INSTANCES[1]]
    s = summary[(INSTANCES[1], "ga")]
    assert s["runs"] == 2 and s["objective_mean"] == pytest.approx(sum(ga) / 2)
    assert s["objective_best"] == min(ga)


def test_bench_command_writes_csv_json_and_plot(tmp_path):
    out_csv, out_json, plot = tmp_path / "r.csv", tmp_path / "r.json", tmp_path / "conv.png"
    args = ["bench", INSTANCES[0], "--methods", "exact,ga", "--seeds", "2", "--time-limit", "1"]
    result = CliRunner().invoke(cli, args + ["--out", str(out_csv), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "six-node" in result.output and "gap" in result.output
    rows = list(csv.DictReader(out_csv.open()))
    assert [(r["method"], r["seed"]) for r in rows] == [("exact", ""), ("ga", "0"), ("ga", "1")]
    assert all(math.isfinite(float(r["objective"])) for r in rows)
    assert plot.stat().st_size > 1000 and plot.read_bytes()[:4] == b"\x89PNG"
    result = CliRunner().invoke(cli, args + ["--out", str(out_json)])
    doc = json.loads(out_json.read_text())
    assert doc["format"] == "topo-opt/benchmark" and len(doc["runs"]) == 3
    assert doc["runs"][1]["history"] and {"time_s", "objective"} <= set(doc["runs"][1]["history"][0])


def test_unknown_method_names_the_available_ones(tmp_path):
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(cli, ["bench", INSTANCES[0], "--methods", "exact,simplex",
                                      "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert f"available methods are {', '.join(METHODS)}" in result.output
    result = CliRunner().invoke(cli, ["bench", INSTANCES[0], "--out", str(tmp_path / "r.txt")])
    assert result.exit_code == 2 and ".csv or .json" in result.output
