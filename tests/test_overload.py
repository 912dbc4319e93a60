"""An overloaded design says so (issue 12, defect 8): a flag and a message in the JSON and on the
terminal, whatever status the method ended with; min-hop prefers the less loaded equal-hop routing."""
import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.io.detect import read_instance

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


@pytest.fixture(scope="module")
def doubled(tmp_path_factory):
    """six-node with every demand doubled: min-hop loads links to 180 %, U* = 1.7."""
    doc = json.loads((ROOT / "instances" / "six-node.json").read_text())
    for demand in doc["demands"]:
        demand["rate"] *= 2
    path = tmp_path_factory.mktemp("overload") / "six2.json"
    path.write_text(json.dumps(doc))
    return path


def _solve(instance, card, tmp_path):
    out = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["solve", str(instance), "--model", str(MODELS / card), "--quiet",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), result


def _max_utilization(doc):
    return max(a["flow"] / a["capacity"] for a in doc["arcs"] if a["capacity"] > 0)


@pytest.mark.parametrize("card, status", [("routing-baseline.toml", "feasible"), ("min-max-utilization.toml", "optimal")])
def test_overloaded_designs_are_flagged(doubled, tmp_path, card, status):
    doc, result = _solve(doubled, card, tmp_path)
    top = _max_utilization(doc)  # recomputed from the arcs, not from the flag
    assert doc["status"] == status and top > 1.5
    assert doc["overloaded"] is True
    assert doc["details"]["overload_max_utilization"] == pytest.approx(top, rel=1e-9)
    over = {a["link"] for a in doc["arcs"] if a["flow"] >= a["capacity"]}
    assert set(doc["details"]["overloaded_links"]) == over
    assert doc["message"].startswith(f"overloaded: {len(over)} links at or above capacity")
    assert "OVERLOADED" in result.stdout
    assert result.stderr.startswith("topo-opt: warning: overloaded:")


def test_a_design_below_capacity_is_not_flagged(tmp_path):
    doc, result = _solve(ROOT / "instances" / "six-node.json", "routing-baseline.toml", tmp_path)
    assert doc["overloaded"] is False and _max_utilization(doc) < 1
    assert "OVERLOADED" not in result.output and not result.stderr


def test_min_hop_prefers_the_less_loaded_of_equal_hop_routings(tmp_path):
    """abilene: a vertex of the min-hop LP put two links at exactly 100 %; an equally short
    routing (the networkx hop count of every demand) stays below 50 %."""
    doc, _ = _solve(ROOT / "instances" / "abilene.json", "min-hop.toml", tmp_path)
    network = read_instance(ROOT / "instances" / "abilene.json")
    graph = nx.DiGraph((network.nodes[t].id, network.nodes[h].id)
                       for t, h in zip(network.arc_tail.tolist(), network.arc_head.tolist()))
    hops = sum(d.rate * nx.shortest_path_length(graph, d.source, d.target) for d in network.demands)
    assert doc["status"] == "optimal" and doc["overloaded"] is False
    assert doc["objective"] == pytest.approx(hops, rel=2e-9)
    assert _max_utilization(doc) < 0.5
    assert doc["details"]["max_utilization"] == pytest.approx(_max_utilization(doc), rel=1e-6)


def test_evaluate_takes_an_overloaded_design_and_says_it_is_overloaded(doubled, tmp_path):
    """The routing-baseline answer on six-node x2 loads links to 180 %: ``evaluate`` reads it
    back, evaluates it (exit code 0, as ``solve`` for the same design) and flags the overload."""
    doc, _ = _solve(doubled, "routing-baseline.toml", tmp_path)
    over = {a["link"] for a in doc["arcs"] if a["flow"] >= a["capacity"]}
    evaluation = tmp_path / "ev.json"
    result = CliRunner().invoke(cli, ["evaluate", str(doubled), str(tmp_path / "s.json"), "--no-links",
                                      "--out", str(evaluation)])
    assert result.exit_code == 0, result.output
    ev = json.loads(evaluation.read_text())
    assert ev["overloaded"] is True and set(ev["overloaded_links"]) == over
    assert ev["metrics"]["saturated"] is True and ev["metrics"]["average_delay_s"] is None  # no steady state
    assert ev["metrics"]["max_utilization"] == pytest.approx(_max_utilization(doc), rel=1e-9)
    assert "OVERLOADED" in result.stdout
    assert result.stderr.startswith(f"topo-opt: warning: overloaded: {len(over)} link(s) at or above capacity")
    below = CliRunner().invoke(cli, ["evaluate", str(ROOT / "instances" / "six-node.json"),
                                     str(tmp_path / "s.json"), "--no-links", "--out", str(evaluation)])
    assert below.exit_code == 0 and "OVERLOADED" not in below.output and not below.stderr
    assert json.loads(evaluation.read_text())["overloaded"] is False
