"""CommaLab planar/grid: every file loads, values, round trip, and bad input."""
from pathlib import Path

import numpy as np
import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.io.commalab import loads_commalab, read_commalab
from topo_opt.io.detect import read_instance
from topo_opt.io.native_json import dumps_json, loads_json

from conftest import benchmark_files, benchmark_path, real_file

LARGE = {"planar1000", "planar2500", "grid12", "grid13", "grid14", "grid15"}
ALL = [pytest.param(p, marks=[pytest.mark.slow] if p.name in LARGE else [], id=p.name)
       if isinstance(p, Path) else p  # the parameter that skips when the collection is absent
       for p in benchmark_files("commalab", "*/*")]


def _check_against_tokens(net, path):
    """Recompute everything from the raw token stream, independently of the reader."""
    values = np.array(path.read_text().split(), dtype=float)
    n, m, k = values[:3].astype(int)
    arcs = values[3: 3 + 4 * m].reshape(m, 4)
    coms = values[3 + 4 * m:].reshape(k, 3)
    assert (net.n_nodes, net.n_links, net.n_demands) == (n, m, k)
    np.testing.assert_array_equal(net.link_source + 1, arcs[:, 0])
    np.testing.assert_array_equal(net.link_target + 1, arcs[:, 1])
    np.testing.assert_array_equal(net.link_capacity, arcs[:, 3])
    np.testing.assert_array_equal([link.routing_cost for link in net.links], arcs[:, 2])
    np.testing.assert_array_equal(net.demand_source + 1, coms[:, 0])
    np.testing.assert_array_equal(net.demand_target + 1, coms[:, 1])
    np.testing.assert_array_equal(net.demand_rate, coms[:, 2])


def test_all_25_files_are_present():
    assert len(list(benchmark_path("commalab").glob("*/*"))) == 25


@pytest.mark.parametrize("path", ALL)
def test_files_load_and_round_trip_through_json(path):
    net = read_instance(path)  # detected from content: the files have no extension
    assert net.rate_unit == "packet/s" and net.link_model == "directed" and net.n_arcs == net.n_links
    _check_against_tokens(net, path)
    assert loads_json(dumps_json(net), "x.json") == net


def test_planar30_values_and_ids():
    net = read_commalab(real_file("commalab", "planar", "planar30"))  # first arc: 1 14 9981 48
    first = net.links[0]
    assert (first.id, first.source, first.target, first.routing_cost, first.capacity) == ("a1", "1", "14", 9981.0, 48.0)
    assert net.links[-1].id == "a150" and net.demands[0].id == "k1" and net.demands[-1].id == "k92"
    assert [n.id for n in net.nodes] == [str(i) for i in range(1, 31)]
    assert net.metadata["source_format"] == "commalab" and "dropped" not in net.metadata


TEXT = """3
3
2
1 2 10 100
2 3 10 50
3 1 5 80
1 3 20
2 1 7
"""


def test_tiny_instance_and_zero_rules():
    net = loads_commalab(TEXT, "tiny")
    assert [(d.id, d.source, d.target, d.rate) for d in net.demands] == [("k1", "1", "3", 20.0), ("k2", "2", "1", 7.0)]
    zero = TEXT.replace("2 3 10 50", "2 3 10 0").replace("2 1 7", "2 1 0")
    net = loads_commalab(zero, "tiny")
    assert [link.id for link in net.links] == ["a1", "a3"] and [d.id for d in net.demands] == ["k1"]
    assert net.metadata["dropped"] == {"zero_capacity_arcs": ["a2"], "zero_demand_commodities": ["k2"]}


@pytest.mark.parametrize("text, pattern", [
    (TEXT.replace("2 3 10 50", "2 3 1O 50"), r"^tiny:5: malformed number '1O' in arc a2 cost$"),
    (TEXT.replace("2 1 7", "2 1 x7"), r"^tiny:8: malformed number 'x7' in commodity k2 demand$"),
    (TEXT[: TEXT.index("2 1 7")], r"^tiny:7: truncated file: the header announces 3 arcs and 2 commodities "
                                  r"\(21 numbers\), found 18; data ends in commodity 2$"),
    (TEXT[: TEXT.index("3 1 5 80") + 5], r"^tiny:6: truncated file: .* data ends in arc 3$"),
    (TEXT + "9 9\n", r"^tiny:9: unexpected data after the last commodity: '9'$"),
    (TEXT.replace("3 1 5 80", "3 4 5 80"), r"^tiny:6: arc 3: node numbers must be integers in 1\.\.3, got 3 4$"),
    (TEXT.replace("1 3 20", "1.5 3 20"), r"^tiny:7: commodity 1: node numbers must be integers"),
    (TEXT.replace("2 3 10 50", "2 3 10 -50"), r"^tiny:5: link 'a2': capacity must be >= 0, got -50\.0 packet/s$"),
    (TEXT.replace("1 2 10 100", "1 2 10 nan"), r"^tiny:4: link 'a1': capacity must be a finite number, got nan packet/s$"),
    (TEXT.replace("2 1 7", "2 1 -7"), r"^tiny:8: demand 'k2': rate must be > 0, got -7\.0 packet/s$"),
    (TEXT.replace("2 1 7", "2 2 7"), r"^tiny:8: demand 'k2': source and target are the same node '2'$"),
    ("3 3\n", r"^tiny:1: truncated file: expected the header"),
    ("three 3 2\n", r"^tiny:1: malformed count 'three' in number of nodes$"),
])
def test_bad_input_names_line_element_and_value(text, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        loads_commalab(text, "tiny")
