"""``topo-opt tradeoff``: table, CSV/JSON and plot; MILP never above EARP; bad input exits 2."""
import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.model.scenarios import parse_range
from topo_opt.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[1]
SIX = str(ROOT / "instances" / "six-node.json")
CARD = str(ROOT / "models" / "earp-min-power.toml")


def test_sweep_writes_csv_json_and_plot(tmp_path):
    runner = CliRunner()
    out_csv, out_json, png = tmp_path / "t.csv", tmp_path / "t.json", tmp_path / "t.png"
    for out, extra in ((out_csv, ["--plot", str(png)]), (out_json, [])):
        result = runner.invoke(cli, ["tradeoff", SIX, "--model", CARD, "--tmax-range", "1.1:1.5:0.4",
                                     "--relative", "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert "power against delay" in result.output
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 2
    for row in rows:
        milp, bound, earp = (float(row[k]) for k in ("milp_power_w", "milp_bound_w", "earp_power_w"))
        assert bound <= milp * (1 + 1e-9) and bound <= earp * (1 + 1e-9)
        assert float(row["milp_delay_s"]) <= float(row["max_delay_s"]) * (1 + 1e-6)
        assert float(row["earp_delay_s"]) <= float(row["max_delay_s"]) * (1 + 1e-9)
    data = json.loads(out_json.read_text())
    assert data["format"] == "topo-opt/tradeoff" and len(data["records"]) == 2
    assert data["records"][1]["max_delay_s"] == pytest.approx(1.5 * data["min_delay_s"])
    assert png.stat().st_size > 1000


def test_bad_range_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["tradeoff", SIX, "--model", CARD, "--tmax-range", "2:1:0.1",
                                      "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "--tmax-range '2:1:0.1': need STEP > 0 and STOP >= START" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_parse_range():
    assert parse_range("1:2:0.5") == [1.0, 1.5, 2.0]
    assert parse_range("0.02") == [0.02]
    with pytest.raises(InvalidInputError, match="--tmax-range 'a:b': expected START:STOP:STEP"):
        parse_range("a:b", "--tmax-range")
