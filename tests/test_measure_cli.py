"""``topo-opt measure``: the shipped examples end to end, and bad input as one line with exit 2."""
import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.io.detect import read_instance

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples" / "measure"
T0 = 1_767_571_200


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_clean_failure(result, match):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("topo-opt: error:"), result.output
    assert match in lines[0], lines[0]


def test_rates_tm_solve_on_the_example(tmp_path):
    rates_csv, rates_json, plot = tmp_path / "rates.csv", tmp_path / "rates.json", tmp_path / "cmp.png"
    result = invoke("measure", "rates", EX / "abilene-counters.csv", "--instance", EX / "abilene-measured.json",
                    "--solution", "min-hop", "--plot", plot, "--out", rates_json)
    assert result.exit_code == 0, result.output
    assert "reset: DNVRng_KSCYng forward" in result.output and plot.stat().st_size > 1000
    doc = json.loads(rates_json.read_text())
    assert doc["format"] == "topo-opt/link-rates" and len(doc["links"]) == 54
    assert len(doc["bins"]["edges_s"]) == 289 and len(doc["options"]["comparison"]) == 54
    # the example's demands are the truth's mean: measured/predicted within the 1 % of the means
    assert all(abs(r["ratio"] - 1) < 0.01 for r in doc["options"]["comparison"])
    assert invoke("measure", "rates", EX / "abilene-counters.csv", "--out", rates_csv).exit_code == 0
    rows = list(csv.DictReader(rates_csv.open()))
    assert len(rows) == 54 and rows[0]["rate_unit"] == "bit/s"
    out = tmp_path / "estimated.json"
    result = invoke("measure", "tm", EX / "abilene-measured.json", rates_csv, "--routing", "min-hop", "--out", out)
    assert result.exit_code == 0, result.output
    estimated = read_instance(out)
    assert estimated.metadata["demand_estimate"]["method"] == "tomogravity"
    solution = tmp_path / "sol.json"
    result = invoke("solve", out, "--model", ROOT / "models" / "min-delay.toml", "--out", solution)
    assert result.exit_code == 0 and "optimal" in result.output, result.output
    # a solution file as the routing whose loads are compared
    result = invoke("measure", "rates", EX / "abilene-counters.csv", "--instance", out, "--solution", solution,
                    "--out", rates_json)
    assert result.exit_code == 0, result.output
    assert len(json.loads(rates_json.read_text())["options"]["comparison"]) == 54


def write(tmp_path, text, name="c.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, match", [
    (f"timestamp,link,direction,counter\n{T0 + 60},L,forward,5\n{T0},L,forward,9\n", "c.csv:3"),
    (f"timestamp,link,direction,counter\n{T0},L,forward,-7\n", "negative counter -7"),
    ("timestamp;link\n1;2\n", "header must start"),
])
def test_bad_counter_files_fail_in_one_line(tmp_path, text, match):
    assert_clean_failure(invoke("measure", "rates", write(tmp_path, text)), match)


def test_unknown_link_fails_in_one_line(tmp_path):
    text = f"timestamp,link,direction,counter\n{T0},NOPE,forward,5\n{T0 + 60},NOPE,forward,9\n"
    result = invoke("measure", "rates", write(tmp_path, text), "--instance", EX / "abilene-measured.json")
    assert_clean_failure(result, "link 'NOPE' is not in instance 'abilene'")
    rates = write(tmp_path, "link,direction,mean\nNOPE,forward,5\n", "r.csv")
    result = invoke("measure", "tm", EX / "abilene-measured.json", rates, "--out", tmp_path / "x.json")
    assert_clean_failure(result, "link 'NOPE' is not in instance 'abilene'")
    assert not (tmp_path / "x.json").exists()


def test_output_paths_are_checked_first(tmp_path):
    result = invoke("measure", "rates", EX / "abilene-counters.csv", "--out", tmp_path / "r.txt")
    assert_clean_failure(result, "expected a .csv or .json file")
    result = invoke("measure", "rates", EX / "abilene-counters.csv", "--plot", tmp_path / "p.png")
    assert_clean_failure(result, "need --instance")
