"""``topo-opt evaluate --power PROFILE`` (issue 12, defect 11): router power of a solution, by a
bundled profile name or a card path, checked against the closed form of the device model."""
import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
SIX = str(ROOT / "instances" / "six-node.json")


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate") / "six.json"
    result = CliRunner().invoke(cli, ["solve", SIX, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def _closed_form(card: dict, doc: dict, n_nodes: int, n_links: int) -> float:
    """All nodes and links on, linear load: Σ chassis + 2 ports per link + w_per_gbps · Σ_arcs F/1e9."""
    assert card["load"]["shape"] == "linear" and doc["units"]["rate"] == "bit/s"
    flow_gbps = sum(arc["flow"] for arc in doc["arcs"]) / 1e9
    return n_nodes * card["chassis_w"] + 2 * n_links * card["port_w"] + card["load"]["w_per_gbps"] * flow_gbps


@pytest.mark.parametrize("how", ["name", "path"])
def test_power_by_name_or_card_path_matches_the_closed_form(solution, tmp_path, how):
    card_text = (ROOT / "models" / "power" / "core-router.toml").read_text()
    if how == "path":  # a user's own card: other numbers, same model
        card_text = card_text.replace("chassis_w = 430.0", "chassis_w = 123.0").replace("port_w = 90.0", "port_w = 7.5")
        (tmp_path / "mine.toml").write_text(card_text)
    profile = "core-router" if how == "name" else str(tmp_path / "mine.toml")
    out = tmp_path / "ev.json"
    result = CliRunner().invoke(cli, ["evaluate", SIX, str(solution), "--power", profile, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"evaluation written to {out}" in result.output
    doc = json.loads(out.read_text())
    instance = json.loads(Path(SIX).read_text())
    expected = _closed_form(tomllib.loads(card_text), doc, len(instance["nodes"]), len(instance["links"]))
    assert doc["metrics"]["total_power_w"] == pytest.approx(expected, rel=1e-12)
    assert "total_power_w" in result.output and len(doc["nodes"]) == len(instance["nodes"])


def test_unknown_profile_is_one_line_naming_the_bundled_ones(solution):
    result = CliRunner().invoke(cli, ["evaluate", SIX, str(solution), "--power", "no-such-router"])
    assert result.exit_code == 2
    assert result.output.strip() == ("topo-opt: error: power profile 'no-such-router': no such card file, "
                                     "and not a bundled profile (core-router, small-router)")


def test_out_is_confirmed_without_power(solution, tmp_path):
    out = tmp_path / "ev.json"
    result = CliRunner().invoke(cli, ["evaluate", SIX, str(solution), "--out", str(out), "--no-links"])
    assert result.exit_code == 0 and f"evaluation written to {out}" in result.output
    assert "total_power_w" not in json.loads(out.read_text())["metrics"]
