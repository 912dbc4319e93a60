"""First-contact defects of issue 12: each reproduced as a new user met it, then fixed.

1. ``convert --size-capacities`` on a topology without link speeds (the command the
   missing-capacity error recommends) must work.
3. Networks whose links have no installed capacity, only modules (most SNDlib networks): info,
   whatif and the routing messages say "no installed capacity", and whatif buys the modules.
7. GraphML: an edge to an unknown node, a duplicate node id and a self-loop.
12. Click usage errors are one ``topo-opt: error:`` line with exit code 2; non-finite card values
    are rejected.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError
from topo_opt.solve.cards import load_card

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
ABILENE = ROOT / "instances" / "abilene.json"
MIN_DELAY = ROOT / "models" / "min-delay.toml"


def run_cli(*args):
    """The CLI in-process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="topo-opt")
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code, stderr, match):
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("topo-opt: error: ") and match in lines[0], lines[0]


# ------------------------------------------------------------------------------ defect 1
def test_size_capacities_sizes_links_without_a_speed(tmp_path):
    out = tmp_path / "z.json"
    code, stdout, stderr = run_cli("convert", FIXTURES / "zoo-sample.graphml", "--gravity", "1e9",
                                   "--size-capacities", "0.5", "--out", out)
    assert code == 0, stderr
    doc = json.loads(out.read_text())
    # every link sized to a standard line rate that keeps its min-hop load under 50 %
    from topo_opt.algorithms.baselines import min_hop_routing
    from topo_opt.io.detect import read_instance

    network = read_instance(out)
    load = network.queue_load(min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs))
    assert np.all(load <= 0.5 * network.queue_capacity() + 1e-6)
    assert doc["metadata"]["capacity_rule"]["target_utilization"] == 0.5
    assert len(doc["links"]) == 4


def test_links_without_a_speed_are_still_an_error_without_size_capacities(tmp_path):
    code, _, stderr = run_cli("convert", FIXTURES / "zoo-sample.graphml", "--out", tmp_path / "z.json")
    assert_one_line_error(code, stderr, "has no capacity")
    assert not (tmp_path / "z.json").exists()


# ------------------------------------------------------------------------------ defect 12
@pytest.mark.parametrize("args, match", [
    (("info", "{tmp}"), "is a directory"),
    (("convert", str(ABILENE), "--to", "xml", "--out", "{tmp}/a.xml"), "'xml' is not one of"),
    (("info",), "Missing argument 'INSTANCE'"),
    (("solve", str(ABILENE), "--gap", "abc"), "'abc' is not a valid float"),
    (("nonsense",), "No such command 'nonsense'"),
    (("--bogus", "info"), "No such option '--bogus'"),
])
def test_usage_errors_are_one_line(args, match, tmp_path):
    code, _, stderr = run_cli(*(a.format(tmp=tmp_path) for a in args))
    assert_one_line_error(code, stderr, match)


def test_unreadable_file_is_one_line(tmp_path, monkeypatch):
    import os

    path = tmp_path / "secret.json"
    path.write_text("{}")
    real_access = os.access
    # as root every file is readable: make click's readability check see what a user would
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(path) else real_access(p, mode, **kw))
    code, _, stderr = run_cli("info", path)
    assert_one_line_error(code, stderr, "is not readable")


def test_usage_error_end_to_end_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "topo_opt", "info", str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert_one_line_error(proc.returncode, proc.stderr, "is a directory")


def test_help_still_prints_usage():
    code, stdout, _ = run_cli("info", "--help")
    assert code == 0 and "Usage:" in stdout


@pytest.mark.parametrize("override", ["solver.gap=1e400", "solver.gap=inf", "solver.time_limit_s=-inf"])
def test_non_finite_card_values_are_rejected(override):
    with pytest.raises(InvalidInputError, match=r"solver\.(gap|time_limit_s) must be a (finite )?number"):
        load_card(MIN_DELAY, (override,))


def test_gap_option_of_1e400_is_rejected():
    code, _, stderr = run_cli("solve", ABILENE, "--model", MIN_DELAY, "--gap", "1e400")
    assert_one_line_error(code, stderr, "solver.gap must be a finite number, got inf")


# ------------------------------------------------------------------------------ defect 3
def _buy_network():
    """A-B installed (10 Mbit/s); B-C and A-C without installed capacity, only modules."""
    from topo_opt.model.network import Demand, Link, Module, Node
    from topo_opt.model.validation import build_network

    return build_network(
        name="buy", nodes=[Node("A"), Node("B"), Node("C")],
        links=[Link("AB", "A", "B", 10e6),
               Link("BC", "B", "C", 0.0, modules=(Module(10e6, 3.0), Module(40e6, 5.0))),
               Link("AC", "A", "C", 0.0, modules=(Module(10e6, 7.0),))],
        demands=[Demand("d", "A", "C", 2e6), Demand("e", "A", "B", 1e6)])


def test_whatif_buys_modules_on_links_without_installed_capacity():
    from topo_opt.model.scenarios import Scenario
    from topo_opt.batch.whatif import WhatIfOptions, run_whatif

    record, = run_whatif(_buy_network(), [Scenario("base")], WhatIfOptions(max_delay_s=0.01)).records
    assert record["status"] == "infeasible"
    assert "no installed capacity on any path from 'A' to 'C'" in record["reason"]
    # the cheapest way to reach C: one 10 Mbit/s module on B-C (cost 3) rather than A-C (cost 7)
    assert record["upgrade_status"] == "optimal" and record["upgrade_cost"] == pytest.approx(3.0)
    assert record["modules_added"] == [{"link": "BC", "module_capacity": 10e6, "count": 1, "cost": 3.0}]
    # Kleinrock delay of the upgraded network, every flow on its only path (packets of 8000 bit):
    # T = (1/γ) Σ F/(C − F), A-B carries 3 Mbit/s of 10, B-C 2 of 10
    gamma = 3e6 / 8000
    assert record["upgraded_average_delay_s"] == pytest.approx((3 / 7 + 2 / 8) / gamma, rel=1e-6)


def test_truly_disconnected_demand_is_still_not_upgradable():
    from topo_opt.model.scenarios import Scenario
    from topo_opt.batch.whatif import WhatIfOptions, run_whatif

    record, = run_whatif(_buy_network(), [Scenario("cut", failed_links=("BC", "AC"))],
                         WhatIfOptions(max_delay_s=0.01)).records
    assert "no usable path from 'A' to 'C'" in record["reason"]
    assert record["upgrade_status"] == "infeasible"
    assert "cannot reconnect" in record["upgrade_reason"]


def test_polska_messages_say_no_installed_capacity(tmp_path):
    from conftest import benchmark_path

    polska = benchmark_path("sndlib", "polska.txt")
    code, stdout, stderr = run_cli("info", polska)
    assert code == 0, stderr
    assert "capacity to buy: 18 links have no installed capacity" in " ".join(stdout.split())
    assert "no installed capacity at node" in stdout and "a node cannot send" not in stdout
    # whatif with T_max = "installed": one line naming the reason
    code, _, stderr = run_cli("whatif", polska, "--model", ROOT / "models" / "modular-capacity.toml",
                              "--no-upgrades")
    assert_one_line_error(code, stderr, "no installed capacity on any path from 'Gdansk' to 'Bydgoszcz'")
    code, stdout, stderr = run_cli("whatif", polska, "--model", ROOT / "models" / "modular-capacity.toml",
                                   "--no-upgrades", "--set", "constraints.max_delay_s=0.01")
    assert code == 0, stderr
    assert "no installed capacity on any path" in " ".join(stdout.split())
    code, _, stderr = run_cli("solve", polska, "--model", MIN_DELAY)
    assert_one_line_error(code, stderr, "no installed capacity: its modules can be bought")


# ------------------------------------------------------------------------------ defect 7
def _graphml(tmp_path, old, new, name="bad.graphml"):
    text = (FIXTURES / "zoo-sample.graphml").read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old, new, match", [
    ('source="1" target="3"', 'source="1" target="9"', "bad.graphml:49: edge to unknown node '9'"),
    ('<node id="3">', '<node id="2">', "bad.graphml:29: duplicate node id '2' (first at line 24)"),
])
def test_graphml_structure_errors(tmp_path, old, new, match):
    code, _, stderr = run_cli("info", _graphml(tmp_path, old, new))
    assert_one_line_error(code, stderr, match)


def test_graphml_self_loop_is_dropped_quietly_and_listed(tmp_path):
    from topo_opt.io.detect import read_instance

    # a self-loop on the only link without a speed: the file now has capacities everywhere
    path = _graphml(tmp_path, 'source="1" target="3"', 'source="1" target="1"')
    network = read_instance(path)
    assert network.n_links == 3 and network.metadata["dropped_self_loops"] == ["e3"]
    code, stdout, stderr = run_cli("info", path)
    assert code == 0 and "dropped self loops" in stdout
    # an error after the drop (no demands to solve) is still one line (a subprocess: logging
    # writes to the real stderr)
    proc = subprocess.run([sys.executable, "-m", "topo_opt", "solve", str(path), "--model", str(MIN_DELAY)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert_one_line_error(proc.returncode, proc.stderr, "")


def test_graphml_checks_accept_networkx_and_yed_files(tmp_path):
    """The structure checks know GraphML, not only the Zoo's subset: networkx's own output and
    a yEd file (keys without attr.name, graphics inside <data>) still read."""
    import networkx as nx

    from topo_opt.io.zoo import read_graphml

    graph = nx.MultiGraph()
    graph.add_node("a", label="A", Latitude=1.0, Longitude=2.0)
    graph.add_node("b", label="B")
    graph.add_edge("a", "b", LinkSpeedRaw=1e9)
    nx.write_graphml(graph, tmp_path / "nx.graphml")
    network = read_graphml(tmp_path / "nx.graphml")
    assert [(l.source, l.target, l.capacity) for l in network.links] == [("A", "B", 1e9)]
    (tmp_path / "yed.graphml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:y="http://www.yworks.com/xml/graphml">\n'
        '  <key for="node" id="d6" yfiles.type="nodegraphics"/>\n'
        '  <key attr.name="LinkSpeedRaw" attr.type="double" for="edge" id="d1"/>\n'
        '  <graph edgedefault="undirected" id="G">\n'
        '    <node id="n0"><data key="d6"><y:ShapeNode><y:Geometry height="30.0"/></y:ShapeNode></data></node>\n'
        '    <node id="n1"/>\n'
        '    <edge id="e0" source="n0" target="n1"><data key="d1">1e9</data></edge>\n'
        '  </graph>\n</graphml>\n')
    network = read_graphml(tmp_path / "yed.graphml")
    assert [(l.source, l.target, l.capacity) for l in network.links] == [("n0", "n1", 1e9)]
