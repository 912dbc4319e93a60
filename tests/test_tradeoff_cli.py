"""``topo-opt tradeoff``: table, CSV/JSON and plot; MILP never above EARP; bad input exits 2."""
import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError
from topo_opt.model.scenarios import parse_range

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


def _fake(power: float, delay: float, bound: float):
    from topo_opt.model.result import SolveResult, Status

    return SolveResult(Status.OPTIMAL, "min-power-milp", "total_power_w", "W", objective=power,
                       lower_bound=bound, details={"average_delay_s": delay})


def test_a_looser_bound_never_reports_a_worse_design(monkeypatch):
    """Issue 12, defect 10: 7186.21 W at T_max 0.0232 s, then 7187.93 W at 0.0264 s (within the MIP
    gap).  The tighter bound's design meets the looser bound, so it is the one reported."""
    import topo_opt.algorithms.earp as earp
    import topo_opt.batch.tradeoff as tradeoff
    from topo_opt.io.detect import read_instance
    from topo_opt.io.power_profile import BUNDLED_POWER_PROFILES, load_node_profiles

    milp = {0.0232: (7186.21, 0.0161, 7185.9), 0.0264: (7187.93, 0.0170, 7185.5)}
    heuristic = {0.0232: (7600.0, 0.0150, None), 0.0264: (7700.0, 0.0180, None)}
    monkeypatch.setattr(tradeoff, "solve_min_power", lambda network, model, max_delay_s, **_: _fake(*milp[max_delay_s]))
    monkeypatch.setattr(earp, "solve_earp", lambda network, model, max_delay_s, **_: _fake(*heuristic[max_delay_s][:2], float("-inf")))
    network = read_instance(SIX)
    profiles = load_node_profiles(network, BUNDLED_POWER_PROFILES, default="core-router")
    first, second = tradeoff.power_delay_tradeoff(network, profiles, [0.0264, 0.0232])
    assert first["max_delay_s"] == 0.0232 and first["milp_power_w"] == 7186.21
    assert second["max_delay_s"] == 0.0264
    assert (second["milp_power_w"], second["milp_delay_s"], second["milp_design_max_delay_s"]) == (7186.21, 0.0161, 0.0232)
    assert second["milp_bound_w"] == 7185.5  # the bound proven at this T_max
    assert second["milp_gap"] == pytest.approx((7186.21 - 7185.5) / 7186.21)
    assert (second["earp_power_w"], second["earp_design_max_delay_s"]) == (7600.0, 0.0232)
    assert second["earp_excess"] == pytest.approx(7600.0 / 7186.21 - 1)


def test_plot_draws_designs_as_points_not_a_zig_zag_line(tmp_path):
    from topo_opt.report.tradeoff_plot import plot_tradeoff

    records = [{"max_delay_s": t, "milp_power_w": p, "milp_delay_s": d, "milp_bound_w": p - 1,
                "earp_power_w": p + 5, "earp_delay_s": e}
               for t, p, d, e in ((0.020, 10.0, 0.018, 0.017), (0.022, 9.0, 0.016, 0.021), (0.024, 8.0, 0.020, 0.015))]
    fig = plot_tradeoff(records, tmp_path / "t.svg", "t")
    milp, earp, bound = fig.axes[0].get_lines()
    for line in (milp, earp):
        x = list(line.get_xdata())
        assert x == sorted(x) and len(x) == 3 and line.get_linestyle() == "None"
    assert bound.get_linestyle() == ":" and list(bound.get_xdata()) == [20.0, 22.0, 24.0]
    assert list(earp.get_ydata()) == [13.0, 15.0, 14.0]  # EARP by achieved delay 15, 17, 21 ms
    assert (tmp_path / "t.svg").stat().st_size > 1000


def test_a_row_without_designs_says_why():
    result = CliRunner().invoke(cli, ["tradeoff", SIX, "--model", CARD, "--tmax-range", "0.5:0.5:1", "--relative"])
    assert result.exit_code == 0, result.output
    assert "MILP infeasible" in result.output and "EARP infeasible" in result.output
