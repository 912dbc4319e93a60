"""Native JSON: round trip, unit scaling, and every bad input named by file:line and element."""
import json
import math

import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_instance, write_instance
from topo_opt.io.native_json import dumps_json, loads_json
from topo_opt.model import Demand, Link, Module, Node, build_network

TEXT = """{
  "format": "topo-opt/network",
  "version": 1,
  "name": "toy",
  "units": {"rate": "Mbit/s"},
  "packet_length_bits": 4800,
  "nodes": [
    {"id": "A", "longitude": 13.4, "latitude": 52.5, "processing_delay_s": 1e-6},
    {"id": "B", "power_profile": "core-router"},
    {"id": "C", "insecurity": 0.2}
  ],
  "links": [
    {"id": "AB", "source": "A", "target": "B", "capacity": 1000, "length_m": 120000.0,
     "capacity_cost": 3, "routing_cost": 0.5, "modules": [{"capacity": 10000, "cost": 7}]},
    {"id": "BC", "source": "B", "target": "C", "capacity": 0, "installed": false, "fixed_cost": 9}
  ],
  "demands": [
    {"id": "AB1", "source": "A", "target": "B", "rate": 250, "class": "gold"},
    {"id": "AC", "source": "A", "target": "C", "rate": 1.5, "max_path_length": 3}
  ]
}
"""


def _line_of(text, needle):
    return text[: text.index(needle)].count("\n") + 1


def _bad(replace_from, replace_to):
    assert replace_from in TEXT
    return TEXT.replace(replace_from, replace_to, 1)


def test_reads_every_field_and_scales_units():
    net = loads_json(TEXT, "toy.json")
    assert net.name == "toy" and net.rate_unit == "bit/s" and net.packet_length_bits == 4800.0
    a, b, c = net.nodes
    assert (a.longitude, a.latitude, a.processing_delay_s) == (13.4, 52.5, 1e-6)
    assert b.power_profile == "core-router" and c.insecurity == 0.2
    ab, bc = net.links
    assert ab.capacity == 1e9 and ab.modules == (Module(1e10, 7.0),)
    # costs per rate unit are per Mbit/s on file, per bit/s in the model
    assert ab.capacity_cost == pytest.approx(3e-6) and ab.routing_cost == pytest.approx(0.5e-6)
    assert ab.length_m == 120e3 and bc.installed is False and bc.fixed_cost == 9.0
    assert net.demands[0].rate == 250e6 and net.demands[0].demand_class == "gold"
    assert net.demands[1].max_path_length == 3 and net.demands[0].max_path_length is None


@pytest.mark.parametrize("unit, factor, rate_unit", [("bit/s", 1.0, "bit/s"), ("kbit/s", 1e3, "bit/s"),
                                                     ("Gbit/s", 1e9, "bit/s"), ("packet/s", 1.0, "packet/s")])
def test_rate_units(unit, factor, rate_unit):
    net = loads_json(TEXT.replace("Mbit/s", unit), "toy.json")
    assert net.rate_unit == rate_unit
    assert net.links[0].capacity == 1000 * factor
    assert net.demands[0].rate == 250 * factor


def test_round_trip_gives_identical_numbers(tmp_path):
    net = loads_json(TEXT, "toy.json")
    path = tmp_path / "toy.json"
    write_instance(net, path)
    again = read_instance(path)
    assert again == net  # dataclass equality: every float identical
    doc = json.loads(path.read_text())
    assert doc["units"] == {"rate": "bit/s"} and doc["format"] == "topo-opt/network"


def test_round_trip_of_awkward_floats():
    net = build_network(name="f", nodes=[Node("a"), Node("b")],
                        links=[Link("l", "a", "b", 0.1 + 0.2, routing_cost=1 / 3)],
                        demands=[Demand("d", "a", "b", 1e-300)], metadata={"seed": 7, "notes": ["x"]})
    assert loads_json(dumps_json(net)) == net


def test_written_elements_are_one_per_line_and_errors_point_there():
    net = loads_json(TEXT, "toy.json")
    text = dumps_json(net).replace('"rate": 250000000.0', '"rate": -1.0')
    with pytest.raises(InvalidInputError, match=rf"^out\.json:{_line_of(text, '-1.0')}: demand 'AB1': "
                                                r"rate must be > 0, got -1\.0 bit/s$"):
        loads_json(text, "out.json")


@pytest.mark.parametrize("old, new, anchor, pattern", [
    ('"target": "C", "capacity": 0', '"target": "Z", "capacity": 0', '{"id": "BC"', r"link 'BC': unknown node 'Z'"),
    ('"id": "AC", "source": "A"', '"id": "AC", "source": "Q"', '{"id": "AC"', r"demand 'AC': unknown node 'Q'"),
    ('"id": "AC"', '"id": "AB1"', '{"id": "AB1", "source": "A", "target": "C"', r"demand 'AB1': duplicate demand id"),
    ('"capacity": 1000,', '"capacity": -1000,', '{"id": "AB"', r"link 'AB': capacity must be >= 0, got -1000000000\.0 bit/s"),
    ('"capacity": 1000,', '"capacity": NaN,', '{"id": "AB"', r"link 'AB': capacity must be a finite number, got nan bit/s"),
    ('"capacity": 1000,', '"capacity": "1000",', '{"id": "AB"', r"link 'AB': 'capacity' must be a number, got '1000'"),
    ('"rate": 1.5', '"rate": 0', '{"id": "AC"', r"demand 'AC': rate must be > 0, got 0\.0 bit/s"),
    ('"target": "C", "rate"', '"target": "A", "rate"', '{"id": "AC"', r"demand 'AC': source and target are the same node 'A'"),
    ('"class": "gold"', '"class": "gold", "priority": 1', '{"id": "AB1"', r"demand 'AB1': unknown key 'priority'"),
    ('"fixed_cost": 9', '"fixed_cost": 9, "colour": "red"', '{"id": "BC"', r"link 'BC': unknown key 'colour'"),
    ('"id": "AC", ', "", '{"source": "A", "target": "C"', r"demand #2: missing required field 'id'"),
    ('"capacity": 0, ', "", '{"id": "BC"', r"link 'BC': missing required field 'capacity'"),
    ('"installed": false', '"installed": "no"', '{"id": "BC"', r"link 'BC': 'installed' must be true or false, got 'no'"),
    ('"max_path_length": 3', '"max_path_length": 2.5', '{"id": "AC"', r"demand 'AC': 'max_path_length' must be an integer"),
    ('"id": "C"', '"id": 3', '{"id": 3', r"node #3: 'id' must be a string, got 3"),
    ('{"capacity": 10000, "cost": 7}', '{"capacity": 10000}', '{"id": "AB"', r"link 'AB': module #1 must be an object"),
])
def test_bad_elements_name_file_line_element_and_value(old, new, anchor, pattern):
    text = _bad(old, new)
    line = _line_of(text, anchor)  # the line where the element starts
    with pytest.raises(InvalidInputError, match=rf"^toy\.json:{line}: " + pattern):
        loads_json(text, "toy.json")


@pytest.mark.parametrize("text, pattern", [
    (TEXT[:200], r"^toy\.json:\d+: invalid JSON: "),
    ("", r"^toy\.json:1: invalid JSON: Expecting value"),
    ('{"format": "topo-opt/network", "version": 1, "nodes": [], "links": [}', r"^toy\.json:1: invalid JSON"),
    ("[1, 2]", r"^toy\.json:1: not a topo-opt network file: top level is a JSON list"),
    ('{"type": "FeatureCollection"}', r"^toy\.json:1: not a topo-opt network file: 'format' must be"),
    (TEXT.replace('"version": 1', '"version": 2'), r"^toy\.json:3: unsupported version 2"),
    (TEXT.replace('"name": "toy"', '"name": "toy", "extra": {}'), r"^toy\.json:4: unknown top-level key 'extra'"),
    (TEXT.replace('"rate": "Mbit/s"', '"rate": "Mbps"'), r"^toy\.json:5: unknown rate unit 'Mbps'"),
    (TEXT.replace('"packet_length_bits": 4800', '"packet_length_bits": "4800"'),
     r"^toy\.json:6: 'packet_length_bits' must be a number"),
    ('{"format": "topo-opt/network", "version": 1, "nodes": []}', r"missing required top-level key 'links'"),
])
def test_bad_files(text, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        loads_json(text, "toy.json")


def test_truncated_file_on_disk_names_the_last_line(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(TEXT[: TEXT.index('"demands"')])
    with pytest.raises(InvalidInputError, match=r"^cut\.json:\d+: invalid JSON"):
        read_instance(path)


def test_packet_length_and_speed_defaults():
    text = ('{"format": "topo-opt/network", "version": 1, "nodes": [{"id": "a"}, {"id": "b"}], '
            '"links": [{"id": "l", "source": "a", "target": "b", "capacity": 1e9}]}')
    net = loads_json(text, "min.json", default_name="min")
    assert (net.name, net.packet_length_bits, net.propagation_speed_mps, net.link_model) == (
        "min", 8000.0, 2e8, "duplex")
    assert net.n_demands == 0 and math.isnan(net.link_length_m[0])
