"""Topology Zoo GraphML/GML and REPETITA: hand-written fixtures, the capacity rule, bad input."""
import shutil
from pathlib import Path

import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_instance
from topo_opt.io.native_json import dumps_json, loads_json
from topo_opt.io.repetita import read_repetita
from topo_opt.io.zoo import read_gml, read_graphml

FIXTURES = Path(__file__).parent / "fixtures"


# ----------------------------------------------------------------------------- GraphML
def test_graphml_without_capacity_is_an_error_that_says_how_to_size():
    with pytest.raises(InvalidInputError, match=r"^zoo-sample\.graphml:49: link 'e3' has no capacity "
                                                r"\(1 of 4 links have none\); size links with "
                                                r"`topo-opt convert --size-capacities"):
        read_instance(FIXTURES / "zoo-sample.graphml")


def test_graphml_with_a_capacity_rule():
    net = read_graphml(FIXTURES / "zoo-sample.graphml", missing_capacity_bps=1e9)
    assert [n.id for n in net.nodes] == ["Sydney", "Melbourne", "Brisbane", "Canberra"]
    assert (net.nodes[0].longitude, net.nodes[0].latitude) == (151.20732, -33.86785)
    caps = {link.id: (link.source, link.target, link.capacity) for link in net.links}
    assert caps == {"e0": ("Sydney", "Melbourne", 10e9), "e1": ("Sydney", "Brisbane", 2.5e9),
                    "e2": ("Sydney", "Canberra", 155e6),  # from LinkSpeed × LinkSpeedUnits
                    "e3": ("Melbourne", "Canberra", 1e9)}  # the rule
    assert net.metadata["capacity_rule"] == {"rule": "uniform capacity for links without one",
                                             "capacity_bps": 1e9, "links": ["e3"]}
    assert net.link_model == "duplex" and net.n_demands == 0
    assert net.metadata["graph_attributes"] == {"Network": "Sample"}
    assert loads_json(dumps_json(net)) == net


def _graphml_variant(tmp_path, old, new):
    text = (FIXTURES / "zoo-sample.graphml").read_text()
    assert old in text
    path = tmp_path / "v.graphml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_graphml_duplicate_labels_fall_back_to_node_keys(tmp_path):
    path = _graphml_variant(tmp_path, '<data key="d3">Brisbane</data>', '<data key="d3">Sydney</data>')
    net = read_graphml(path, missing_capacity_bps=1e9)
    assert [n.id for n in net.nodes] == ["0", "1", "2", "3"]
    assert net.metadata["node_labels"]["2"] == "Sydney"


def test_graphml_bad_values(tmp_path):
    path = _graphml_variant(tmp_path, '<data key="d6">2500000000.0</data>', '<data key="d6">-1.0</data>')
    with pytest.raises(InvalidInputError, match=r"^v\.graphml:40: link 'e1': capacity must be >= 0, got -1\.0 bit/s$"):
        read_graphml(path, missing_capacity_bps=1e9)
    path = _graphml_variant(tmp_path, '<data key="d1">-37.814</data>', '<data key="d1">-97.814</data>')
    with pytest.raises(InvalidInputError, match=r"^v\.graphml:19: node 'Melbourne': latitude must be >= -90, got -97\.814 deg$"):
        read_graphml(path, missing_capacity_bps=1e9)
    path = _graphml_variant(tmp_path, '<data key="d6">2500000000.0</data>', '<data key="d6">fast</data>')
    with pytest.raises(InvalidInputError, match=r"^v\.graphml: invalid GraphML: "):
        read_graphml(path)
    path = _graphml_variant(tmp_path, "</graph>", "")
    with pytest.raises(InvalidInputError, match=r"^v\.graphml:\d+: invalid XML: mismatched tag"):
        read_graphml(path)


def test_graphml_self_loops_are_dropped_and_recorded(tmp_path):
    path = _graphml_variant(tmp_path, '<edge id="e3" source="1" target="3">', '<edge id="e3" source="3" target="3">')
    net = read_graphml(path)
    assert net.metadata["dropped_self_loops"] == ["e3"] and net.n_links == 3


# ----------------------------------------------------------------------------- GML
def test_gml_fixture():
    net = read_instance(FIXTURES / "zoo-sample.gml")
    assert [n.id for n in net.nodes] == ["Paris", "Lyon", "Marseille"]
    ends = sorted((sorted((link.source, link.target)), link.capacity) for link in net.links)
    assert ends == [(["Lyon", "Marseille"], 1e9), (["Lyon", "Paris"], 10e9), (["Marseille", "Paris"], 2.5e9)]
    assert net.metadata["graph_attributes"]["Network"] == "Triangle"
    lines = {link.id: link for link in net.links}
    assert len(lines) == 3


def test_gml_errors(tmp_path):
    text = (FIXTURES / "zoo-sample.gml").read_text()
    path = tmp_path / "bad.gml"
    path.write_text(text.replace("LinkSpeedRaw 1000000000.0", "LinkSpeedRaw 0"))
    with pytest.raises(InvalidInputError, match=r"^bad\.gml:\d+: link 'e\d' has no capacity"):
        read_gml(path)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InvalidInputError, match=r"^bad\.gml:\d+: invalid GML: expected"):
        read_gml(path)


# ----------------------------------------------------------------------------- REPETITA
def test_repetita_graph_with_demands():
    net = read_instance(FIXTURES / "tiny.graph")
    assert net.link_model == "directed" and [n.id for n in net.nodes] == ["0_Paris", "1_Lyon", "2_Marseille"]
    e0 = net.links[0]
    assert (e0.source, e0.target, e0.capacity, e0.routing_cost) == ("0_Paris", "1_Lyon", 10e9, 1.0)
    assert e0.length_m == 1956 * 200.0  # 1956 µs at 2e8 m/s
    assert net.arc_propagation_s[0] == pytest.approx(1956e-6, rel=1e-15)
    assert [(d.id, d.rate) for d in net.demands] == [("demand_0", 400e6), ("demand_1", 250e6)]
    assert net.metadata["dropped"] == {"zero_demands": ["demand_2"]}
    assert loads_json(dumps_json(net)) == net


def test_repetita_topology_only(tmp_path):
    shutil.copy(FIXTURES / "tiny.graph", tmp_path / "topo.graph")
    net = read_repetita(tmp_path / "topo.graph")
    assert net.n_demands == 0 and "demands_file" not in net.metadata


@pytest.mark.parametrize("old, new, pattern", [
    ("edge_2 1 2 3 2500000 1382", "edge_2 1 7 3 2500000 1382", r"^t\.graph:11: edge 'edge_2' dest: node number 7 out of range 0\.\.2$"),
    ("edge_2 1 2 3 2500000 1382", "edge_2 1 2 3 2.5M 1382", r"^t\.graph:11: malformed number '2\.5M' in edge 'edge_2' bw$"),
    ("edge_2 1 2 3 2500000 1382", "edge_2 1 2 3 2500000", r"^t\.graph:11: EDGES line must have 6 fields, got 5"),
    ("edge_2 1 2 3 2500000 1382", "edge_2 1 2 3 0 1382", r"^t\.graph:11: link 'edge_2' has no capacity"),
    ("edge_2 1 2 3 2500000 1382", "edge_2 1 1 3 2500000 1382", r"^t\.graph:11: link 'edge_2': self-loop at node '1_Lyon'$"),
    ("EDGES 4", "EDGES 6", r"^t\.graph:12: truncated file: EDGES announces 6 lines, found 4$"),
    ("EDGES 4", "LINKS 4", r"^t\.graph:7: expected 'EDGES <count>', got 'LINKS 4'$"),
    ("1_Lyon 4.84 45.76", "1_Lyon 4,84 45.76", r"^t\.graph:4: malformed number '4,84' in node '1_Lyon' x$"),
])
def test_repetita_bad_graph(tmp_path, old, new, pattern):
    text = (FIXTURES / "tiny.graph").read_text()
    assert old in text
    (tmp_path / "t.graph").write_text(text.replace(old, new, 1))
    with pytest.raises(InvalidInputError, match=pattern):
        read_repetita(tmp_path / "t.graph")


@pytest.mark.parametrize("old, new, pattern", [
    ("demand_1 2 0 250000", "demand_1 2 0 -250000", r"^t\.demands:4: demand 'demand_1': rate must be > 0, got -250000000\.0 bit/s$"),
    ("demand_1 2 0 250000", "demand_1 2 9 250000", r"^t\.demands:4: demand 'demand_1' dest: node number 9 out of range"),
    ("DEMANDS 3", "DEMANDS 5", r"^t\.demands:5: truncated file: DEMANDS announces 5 lines, found 3$"),
])
def test_repetita_bad_demands(tmp_path, old, new, pattern):
    shutil.copy(FIXTURES / "tiny.graph", tmp_path / "t.graph")
    text = (FIXTURES / "tiny.demands").read_text()
    (tmp_path / "t.demands").write_text(text.replace(old, new, 1))
    with pytest.raises(InvalidInputError, match=pattern):
        read_repetita(tmp_path / "t.graph")


def test_repetita_missing_capacity_rule(tmp_path):
    text = (FIXTURES / "tiny.graph").read_text().replace("edge_2 1 2 3 2500000", "edge_2 1 2 3 0")
    (tmp_path / "t.graph").write_text(text)
    net = read_instance(tmp_path / "t.graph", missing_capacity_bps=10e9)
    assert net.links[2].capacity == 10e9 and net.metadata["capacity_rule"]["links"] == ["edge_2"]
