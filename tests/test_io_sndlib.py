"""SNDlib native and XML: all 26 real files, round trips, values, and bad input."""
import xml.etree.ElementTree as ET

import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_instance, write_instance
from topo_opt.io.native_json import dumps_json, loads_json
from topo_opt.io.sndlib import dumps_sndlib, loads_sndlib, read_sndlib
from topo_opt.io.sndlib_xml import NAMESPACE, loads_sndlib_xml, read_sndlib_xml
from topo_opt.model.validation import replace_network

from conftest import FIXTURES, benchmark_files, benchmark_path, real_file

FILES = benchmark_files("sndlib", "*.txt")


def _same(a, b):
    """Identical content (the metadata of a re-read file differs only in provenance)."""
    assert a.nodes == b.nodes and a.links == b.links and a.demands == b.demands
    assert (a.name, a.rate_unit, a.link_model, a.packet_length_bits) == (
        b.name, b.rate_unit, b.link_model, b.packet_length_bits)


def test_all_26_files_are_present():
    assert len(sorted(benchmark_path("sndlib").glob("*.txt"))) == 26


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_sndlib_file_loads_and_round_trips(path):
    net = read_sndlib(path)
    assert net.n_nodes > 0 and net.n_links > 0 and net.n_demands > 0
    assert net.link_model == "duplex" and net.rate_unit == "bit/s"
    via_json = loads_json(dumps_json(net), "x.json")
    assert via_json == net  # including metadata
    _same(loads_sndlib(dumps_sndlib(net), "x.txt"), net)


def test_abilene_values():
    net = read_sndlib(real_file("sndlib", "abilene.txt"))
    assert (net.n_nodes, net.n_links, net.n_demands) == (12, 15, 130)
    link = net.links[net.link_index["ATLAng_IPLSng"]]
    # SNDlib lists (IPLSng ATLAng): the file order of the end nodes is kept
    assert (link.source, link.target, link.capacity) == ("IPLSng", "ATLAng", 2480e6)
    assert link.modules[0].capacity == 40000e6 and link.modules[0].cost == 591.0
    node = net.nodes[net.node_index["ATLAM5"]]
    assert (node.longitude, node.latitude) == (-84.3833, 33.75)
    demand = net.demands[net.demand_index["IPLSng_STTLng"]]
    assert demand.rate == 3580e6 and demand.max_path_length is None
    assert net.metadata["sndlib_unit"] == "MBITPERSEC" and net.metadata["coordinates"] == "geographic"
    assert "assumptions" not in net.metadata


def test_costs_units_and_capacity_design_links():
    atlanta = read_sndlib(real_file("sndlib", "atlanta.txt"))  # L1 ( N1 N6 ) 11000.00 0.00 67.80 0.00 ( ... )
    l1 = atlanta.links[0]
    assert l1.capacity == 11000e6 and l1.preinstalled_cost == 0.0
    assert l1.routing_cost == pytest.approx(67.80 / 1e6, rel=1e-15)  # per Mbit/s on file, per bit/s here
    assert [(m.capacity, m.cost) for m in l1.modules] == [(1000e6, 950000.0), (4000e6, 1090000.0)]
    assert atlanta.metadata["assumptions"] == ["META unit absent: assumed MBITPERSEC"]
    france = read_sndlib(real_file("sndlib", "france.txt"))  # LinkN01_N02 ( N01 N02 ) 0.00 0.00 0.00 1300.00 ( 2500.00 200.00 )
    assert france.links[0].fixed_cost == 1300.0 and france.links[0].capacity == 0.0
    gwin = read_sndlib(real_file("sndlib", "dfn-gwin.txt"))  # Frankfurt_IP ( IP Frankfurt ) 622.00 1200.00 0.00 0.00 ( )
    fixed = [link for link in gwin.links if not link.modules]
    assert [(link.capacity, link.preinstalled_cost) for link in fixed] == [(622e6, 1200.0)] * 2
    geant = read_sndlib(real_file("sndlib", "geant.txt"))
    assert all(link.capacity == 0 and link.modules for link in geant.links)  # capacity design


def test_max_path_lengths_routing_units_planar_coordinates_and_repeats():
    ta2 = read_sndlib(real_file("sndlib", "ta2.txt"))
    assert {d.max_path_length for d in ta2.demands} == {20, None}
    assert ta2.metadata["coordinates"] == "planar"
    assert all(n.longitude is None for n in ta2.nodes)
    assert ta2.metadata["node_xy"]["N1"] == [243.0, 574.0]
    rrs = read_sndlib(real_file("sndlib", "rrs.txt"))
    assert rrs.metadata["sndlib_routing_units"]["C1_R3"] == 4.0


def test_repeated_demand_lines_and_ignored_paths():
    nobel = read_sndlib(real_file("sndlib", "nobel-us.txt"))
    assert nobel.n_demands == 91  # 97 lines, 6 verbatim repeats
    assert nobel.metadata["dropped_repeated_lines"] == {"DEMANDS": [60, 62, 63, 64, 65, 66]}
    polska = read_sndlib(real_file("sndlib", "polska.txt"))
    assert polska.metadata["ignored"] == {"ADMISSIBLE_PATHS": "paths given for 66 demands"}


def test_sndlib_write_read_on_disk_keeps_meta_and_units(tmp_path):
    net = read_sndlib(real_file("sndlib", "abilene.txt"))
    path = tmp_path / "abilene.txt"
    write_instance(net, path, format="sndlib")
    text = path.read_text()
    assert "unit = MBITPERSEC" in text and "ATLAM5_ATLAng ( ATLAng ATLAM5 ) 9920.0" in text
    again = read_instance(path)
    _same(again, net)
    assert again.metadata["sndlib_meta"] == net.metadata["sndlib_meta"]


def test_sndlib_writer_for_packet_and_directed_instances():
    from topo_opt.model import Demand, Link, Node, build_network
    net = build_network(name="p", nodes=[Node("a"), Node("b")], links=[Link("l", "a", "b", 48.0)],
                        demands=[Demand("d", "a", "b", 7.0)], rate_unit="packet/s", link_model="directed")
    again = loads_sndlib(dumps_sndlib(net), "p.txt")
    _same(again, net)
    bad = replace_network(net, nodes=(Node("a b"), Node("b")), links=(Link("l", "a b", "b", 48.0),),
                      demands=(Demand("d", "a b", "b", 7.0),))
    with pytest.raises(InvalidInputError, match=r"node 'a b': SNDlib ids cannot contain whitespace"):
        dumps_sndlib(bad)


ABILENE = real_file("sndlib", "abilene.txt").read_text()


def _abilene_line(prefix):
    lines = ABILENE.splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.strip().startswith(prefix))


@pytest.mark.parametrize("old, new, pattern", [
    ("ATLAng_HSTNng ( HSTNng ATLAng ) 9920.00", "ATLAng_HSTNng ( HSTNng ATLAng ) x12",
     r"^abilene\.txt:{ATLAng_HSTNng}: malformed number 'x12' in link 'ATLAng_HSTNng' pre-installed capacity$"),
    ("ATLAng_HSTNng ( HSTNng ATLAng ) 9920.00", "ATLAng_HSTNng ( HSTNng XXX ) 9920.00",
     r"^abilene\.txt:{ATLAng_HSTNng}: link 'ATLAng_HSTNng': unknown node 'XXX'$"),
    ("ATLAng_HSTNng ( HSTNng ATLAng ) 9920.00", "ATLAng_HSTNng ( HSTNng ATLAng ) -9920.00",
     r"^abilene\.txt:{ATLAng_HSTNng}: link 'ATLAng_HSTNng': capacity must be >= 0, got -9920000000\.0 bit/s$"),
    ("ATLAng_HSTNng ( HSTNng ATLAng ) 9920.00", "ATLAng_HSTNng ( HSTNng ATLAng ) nan",
     r"^abilene\.txt:{ATLAng_HSTNng}: link 'ATLAng_HSTNng': capacity must be a finite number, got nan bit/s$"),
    ("ATLAng_IPLSng ( IPLSng ATLAng )", "ATLAng_HSTNng ( IPLSng ATLAng )",
     r"^abilene\.txt:{ATLAng_IPLSng}: link 'ATLAng_HSTNng': duplicate link id$"),
    ("IPLSng_STTLng ( IPLSng STTLng ) 1 3580.00", "IPLSng_STTLng ( IPLSng STTLng ) 1 -3580.00",
     r"^abilene\.txt:{IPLSng_STTLng}: demand 'IPLSng_STTLng': rate must be > 0, got -3580000000\.0 bit/s$"),
    ("IPLSng_STTLng ( IPLSng STTLng ) 1 3580.00", "IPLSng_STTLng ( IPLSng IPLSng ) 1 3580.00",
     r"^abilene\.txt:{IPLSng_STTLng}: demand 'IPLSng_STTLng': source and target are the same node"),
    ("IPLSng_STTLng ( IPLSng STTLng ) 1 3580.00 UNLIMITED", "IPLSng_STTLng ( IPLSng STTLng ) 1 3580.00 ten",
     r"^abilene\.txt:{IPLSng_STTLng}: malformed integer 'ten' in demand 'IPLSng_STTLng' max path length$"),
    ("IPLSng_STTLng ( IPLSng STTLng ) 1 3580.00 UNLIMITED", "IPLSng_STTLng ( IPLSng STTLng ) 1 3580.00",
     r"^abilene\.txt:{IPLSng_STTLng}: malformed demand line, expected"),
    ("ATLAM5 ( -84.3833 33.75 )", "ATLAM5 ( -84.3833 33,75 )",
     r"^abilene\.txt:{ATLAM5}: malformed number '33,75' in node 'ATLAM5' y-coordinate"),
    ("ATLAng ( -85.50 34.50 )", "ATLAM5 ( -85.50 34.50 )", r"^abilene\.txt:{ATLAng}: node 'ATLAM5': duplicate node id$"),
    ("ATLAM5_ATLAng ( ATLAng ATLAM5 ) 9920.00 0.00 0.00 0.00 ( 40000.00 133.00 )",
     "ATLAM5_ATLAng ( ATLAng ATLAM5 ) 9920.00 0.00 0.00 0.00 ( 40000.00 )",
     r"^abilene\.txt:{ATLAM5_ATLAng}: link 'ATLAM5_ATLAng': module list must hold \(capacity, cost\) pairs"),
    ("unit  = MBITPERSEC", "unit  = MBYTEPERSEC", r"^abilene\.txt:{unit}: unknown unit 'MBYTEPERSEC'"),
])
def test_bad_lines_name_file_line_element_and_value(old, new, pattern):
    assert old in ABILENE
    text = ABILENE.replace(old, new, 1)
    key = pattern.split("{")[1].split("}")[0]
    line = _abilene_line(key + " (") if key in ("ATLAM5", "ATLAng") else _abilene_line(key)
    with pytest.raises(InvalidInputError, match=pattern.replace("{" + key + "}", str(line))):
        loads_sndlib(text, "abilene.txt")


def test_unit_scaling_from_meta():
    net = loads_sndlib(ABILENE.replace("unit  = MBITPERSEC", "unit  = GBITPERSEC"), "abilene.txt")
    assert net.links[0].capacity == 9920e9


@pytest.mark.parametrize("text, pattern", [
    (ABILENE[: ABILENE.index("DEMANDS (") + 200], r"^abilene\.txt:64: unbalanced parentheses in DEMANDS line "
                                                  r"'HSTNng_LOSAng \( HSTNng LOS' \(truncated file\?\)$"),
    (ABILENE[: ABILENE.index("DEMANDS (") + 205], r"^abilene\.txt:64: section DEMANDS is not closed by '\)' \(truncated file\?\)$"),
    (ABILENE[: ABILENE.index("# DEMAND SECTION")], r"^abilene\.txt:\d+: missing section DEMANDS"),
    (ABILENE.replace("type: network", "type: solution"), r"^abilene\.txt:1: not an SNDlib network file"),
    (ABILENE.replace("LINKS (", "CABLES ("), r"^abilene\.txt:\d+: unknown section 'CABLES'"),
    ("hello world\n", r"^abilene\.txt:1: expected a section header"),
    ("# only a comment\n", r"^abilene\.txt:1: not an SNDlib native file: no sections found"),
])
def test_bad_files(text, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        loads_sndlib(text, "abilene.txt")


def test_truncated_file_line_is_the_last_line():
    text = ABILENE[: ABILENE.index("DEMANDS (") + 205]
    with pytest.raises(InvalidInputError, match=rf"^abilene\.txt:{len(text.splitlines())}: "):
        loads_sndlib(text, "abilene.txt")


# ----------------------------------------------------------------------------- XML
def test_hand_written_xml_fixture():
    net = read_sndlib_xml(FIXTURES / "abilene-sample.xml")
    assert [n.id for n in net.nodes] == ["ATLAng", "HSTNng", "IPLSng", "WASHng"]
    assert net.nodes[1].longitude == -95.517364 and net.nodes[1].latitude == 29.770031
    ab = net.links[0]
    assert (ab.source, ab.target, ab.capacity) == ("HSTNng", "ATLAng", 9920e6)
    assert ab.routing_cost == pytest.approx(2e-6) and ab.fixed_cost == 10.0
    assert [(m.capacity, m.cost) for m in net.links[2].modules] == [(40000e6, 901.0), (160000e6, 2703.0)]
    assert net.links[1].routing_cost == 0.0 and net.links[1].fixed_cost == 0.0
    assert [d.rate for d in net.demands] == [3337e6, 1520.5e6, 808e6]
    assert [d.max_path_length for d in net.demands] == [None, 3, None]
    assert net.metadata["sndlib_meta"]["origin"] == "hand-written test fixture"
    assert read_instance(FIXTURES / "abilene-sample.xml") == net  # detected from content


def _to_xml(net):
    """Independent converter used only by the tests: Network from the native reader -> SNDlib XML."""
    ns = NAMESPACE
    root = ET.Element(f"{{{ns}}}network", version="1.0")
    meta = ET.SubElement(root, f"{{{ns}}}meta")
    ET.SubElement(meta, f"{{{ns}}}unit").text = "MBITPERSEC"
    structure = ET.SubElement(root, f"{{{ns}}}networkStructure")
    geo = net.metadata.get("coordinates") == "geographic"
    nodes = ET.SubElement(structure, f"{{{ns}}}nodes", coordinatesType="geographical" if geo else "pixel")
    for n in net.nodes:
        node = ET.SubElement(nodes, f"{{{ns}}}node", id=n.id)
        x, y = (n.longitude, n.latitude) if geo else net.metadata["node_xy"][n.id]
        coords = ET.SubElement(node, f"{{{ns}}}coordinates")
        ET.SubElement(coords, f"{{{ns}}}x").text = repr(x)
        ET.SubElement(coords, f"{{{ns}}}y").text = repr(y)
    links = ET.SubElement(structure, f"{{{ns}}}links")
    for link in net.links:
        el = ET.SubElement(links, f"{{{ns}}}link", id=link.id)
        ET.SubElement(el, f"{{{ns}}}source").text = link.source
        ET.SubElement(el, f"{{{ns}}}target").text = link.target
        pre = ET.SubElement(el, f"{{{ns}}}preInstalledModule")
        ET.SubElement(pre, f"{{{ns}}}capacity").text = repr(link.capacity / 1e6)
        ET.SubElement(pre, f"{{{ns}}}cost").text = repr(link.preinstalled_cost)
        ET.SubElement(el, f"{{{ns}}}routingCost").text = repr(link.routing_cost * 1e6)
        ET.SubElement(el, f"{{{ns}}}setupCost").text = repr(link.fixed_cost)
        mods = ET.SubElement(el, f"{{{ns}}}additionalModules")
        for m in link.modules:
            add = ET.SubElement(mods, f"{{{ns}}}addModule")
            ET.SubElement(add, f"{{{ns}}}capacity").text = repr(m.capacity / 1e6)
            ET.SubElement(add, f"{{{ns}}}cost").text = repr(m.cost)
    demands = ET.SubElement(root, f"{{{ns}}}demands")
    for d in net.demands:
        el = ET.SubElement(demands, f"{{{ns}}}demand", id=d.id)
        ET.SubElement(el, f"{{{ns}}}source").text = d.source
        ET.SubElement(el, f"{{{ns}}}target").text = d.target
        ET.SubElement(el, f"{{{ns}}}demandValue").text = repr(d.rate / 1e6)
        ET.SubElement(el, f"{{{ns}}}maxPathLength").text = (
            "UNLIMITED" if d.max_path_length is None else str(d.max_path_length))
    ET.indent(root)
    return ET.tostring(root, encoding="ISO-8859-1", xml_declaration=True)


@pytest.mark.parametrize("name", ["abilene", "france", "ta2", "dfn-gwin"])
def test_native_converted_to_xml_reads_back_identically(name):
    native = read_sndlib(real_file("sndlib", f"{name}.txt"))
    xml_net = loads_sndlib_xml(_to_xml(native), f"{name}.xml", default_name=name)
    for a, b in zip(xml_net.links, native.links):  # /1e6*1e6 may move the last bit of a cost
        assert a.routing_cost == pytest.approx(b.routing_cost, rel=1e-15)
    _same(replace_network(xml_net, links=native.links), native)
    assert [(x.capacity, x.modules) for x in xml_net.links] == [(x.capacity, x.modules) for x in native.links]
    assert xml_net.metadata["coordinates"] == native.metadata["coordinates"]


XML = (FIXTURES / "abilene-sample.xml").read_bytes()


@pytest.mark.parametrize("old, new, pattern", [
    (b"<capacity>2480.00</capacity>", b"<capacity>2480,00</capacity>",
     r"^s\.xml:58: malformed number '2480,00' in link 'ATLAng_IPLSng' capacity$"),
    (b"<target>ATLAng</target>", b"<target>NOWHERE</target>", r"^s\.xml:38: link 'ATLAng_HSTNng': unknown node 'NOWHERE'$"),
    (b"<demandValue>808.00</demandValue>", b"<demandValue>0</demandValue>",
     r"^s\.xml:\d+: demand 'IPLSng_WASHng': rate must be > 0, got 0\.0 bit/s$"),
    (b"<demandValue>808.00</demandValue>", b"", r"^s\.xml:\d+: demand 'IPLSng_WASHng': missing <demandValue>$"),
    (b'<node id="IPLSng">', b'<node id="HSTNng">', r"^s\.xml:24: node 'HSTNng': duplicate node id$"),
    (b"</demands>", b"", r"^s\.xml:\d+: invalid XML: mismatched tag"),
    (b"<network xmlns", b"<graph xmlns", r"^s\.xml:\d+: invalid XML"),
])
def test_bad_xml(old, new, pattern):
    assert old in XML
    with pytest.raises(InvalidInputError, match=pattern):
        loads_sndlib_xml(XML.replace(old, new, 1), "s.xml")


def test_xml_with_wrong_root_and_truncation():
    with pytest.raises(InvalidInputError, match=r"^s\.xml:1: not an SNDlib XML network file: root element is <graph>"):
        loads_sndlib_xml(b"<graph><node/></graph>", "s.xml")
    with pytest.raises(InvalidInputError, match=r"^s\.xml:54: invalid XML: unclosed token"):
        loads_sndlib_xml(XML[: len(XML) // 2], "s.xml")
    with pytest.raises(InvalidInputError, match=r"^s\.xml:\d+: invalid XML: no element found"):
        loads_sndlib_xml(XML[: XML.index(b"</network>")], "s.xml")
