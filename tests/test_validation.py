"""build_network: every bad-input case names the source, line, element and value."""
import math

import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.model import Demand, Link, Module, Node, build_network

LINES = {("node", "a"): 3, ("node", "b"): 4, ("link", "ab"): 7, ("demand", "d"): 11}


def _build(nodes=None, links=None, demands=None, **kwargs):
    nodes = [Node("a"), Node("b")] if nodes is None else nodes
    links = [Link("ab", "a", "b", 1e9)] if links is None else links
    demands = [Demand("d", "a", "b", 1e8)] if demands is None else demands
    return build_network(name="n", nodes=nodes, links=links, demands=demands,
                         source="net.json", lines=LINES, **kwargs)


def test_a_valid_instance_builds():
    net = _build()
    assert (net.n_nodes, net.n_links, net.n_demands) == (2, 1, 1)


@pytest.mark.parametrize("links, demands, pattern", [
    ([Link("ab", "a", "x", 1e9)], None, r"^net\.json:7: link 'ab': unknown node 'x'$"),
    (None, [Demand("d", "a", "zz", 1.0)], r"^net\.json:11: demand 'd': unknown node 'zz'$"),
    ([Link("ab", "a", "a", 1e9)], None, r"^net\.json:7: link 'ab': self-loop at node 'a'$"),
    (None, [Demand("d", "b", "b", 1.0)], r"^net\.json:11: demand 'd': source and target are the same node 'b'$"),
])
def test_unknown_nodes_and_self_loops(links, demands, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        _build(links=links, demands=demands)


@pytest.mark.parametrize("capacity, shown", [(-5.0, r"must be >= 0, got -5\.0 bit/s"),
                                             (math.nan, r"must be a finite number, got nan bit/s"),
                                             (math.inf, r"must be a finite number, got inf bit/s"),
                                             (0.0, r"must be > 0 for an installed link without modules, got 0 bit/s")])
def test_bad_capacity_is_named_with_value_and_unit(capacity, shown):
    with pytest.raises(InvalidInputError, match=r"^net\.json:7: link 'ab': capacity " + shown):
        _build(links=[Link("ab", "a", "b", capacity)])


def test_zero_capacity_is_valid_with_modules_or_as_candidate():
    _build(links=[Link("ab", "a", "b", 0.0, modules=(Module(1e9, 10.0),))])
    _build(links=[Link("ab", "a", "b", 0.0, installed=False)])


@pytest.mark.parametrize("rate, shown", [(0.0, r"must be > 0, got 0\.0"), (-1.0, r"must be > 0, got -1\.0"),
                                         (math.nan, r"must be a finite number, got nan"),
                                         ("12", r"must be a finite number, got '12'")])
def test_bad_rate(rate, shown):
    with pytest.raises(InvalidInputError, match=r"^net\.json:11: demand 'd': rate " + shown + " bit/s$"):
        _build(demands=[Demand("d", "a", "b", rate)])


def test_packet_rate_unit_is_shown():
    with pytest.raises(InvalidInputError, match=r"rate must be > 0, got -2\.0 packet/s"):
        _build(demands=[Demand("d", "a", "b", -2.0)], rate_unit="packet/s")


@pytest.mark.parametrize("kind, kwargs", [
    ("node", {"nodes": [Node("a"), Node("b"), Node("a")]}),
    ("link", {"links": [Link("ab", "a", "b", 1e9), Link("ab", "b", "a", 1e9)]}),
    ("demand", {"demands": [Demand("d", "a", "b", 1.0), Demand("d", "b", "a", 1.0)]}),
])
def test_duplicate_ids(kind, kwargs):
    with pytest.raises(InvalidInputError, match=rf"^net\.json:\d+: {kind} '\w+': duplicate {kind} id$"):
        _build(**kwargs)


def test_without_a_line_the_source_and_element_are_still_named():
    with pytest.raises(InvalidInputError, match=r"^net\.json: link 'cd': unknown node 'c'$"):
        _build(links=[Link("ab", "a", "b", 1e9), Link("cd", "c", "b", 1e9)])


@pytest.mark.parametrize("field, value, pattern", [
    ("length_m", -1.0, r"link 'ab': length_m must be >= 0, got -1\.0 m"),
    ("routing_cost", math.nan, r"link 'ab': routing_cost must be a finite number, got nan"),
    ("modules", (Module(0.0, 1.0),), r"link 'ab': module capacity must be > 0, got 0\.0 bit/s"),
])
def test_bad_link_fields(field, value, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        _build(links=[Link("ab", "a", "b", 1e9, **{field: value})])


def test_bad_coordinates_and_processing_delay():
    with pytest.raises(InvalidInputError, match=r"net\.json:3: node 'a': latitude must be within ±90, got 95\.0 deg"):
        _build(nodes=[Node("a", longitude=0.0, latitude=95.0), Node("b")])
    with pytest.raises(InvalidInputError, match=r"node 'b': processing_delay_s must be >= 0, got -1e-06 s"):
        _build(nodes=[Node("a"), Node("b", processing_delay_s=-1e-6)])


def test_bad_max_path_length_and_globals():
    with pytest.raises(InvalidInputError, match=r"demand 'd': max_path_length must be a positive integer, got 0"):
        _build(demands=[Demand("d", "a", "b", 1.0, max_path_length=0)])
    with pytest.raises(InvalidInputError, match=r"^net\.json: packet_length_bits must be > 0, got 0\.0 bit$"):
        _build(packet_length_bits=0.0)
    with pytest.raises(InvalidInputError, match=r"link_model must be one of duplex, directed, undirected, got 'ring'"):
        _build(link_model="ring")
    with pytest.raises(InvalidInputError, match=r"rate_unit must be one of bit/s, packet/s, got 'Mbit/s'"):
        _build(rate_unit="Mbit/s")
    with pytest.raises(InvalidInputError, match=r"^net\.json: the instance has no nodes$"):
        _build(nodes=[], links=[], demands=[])


def test_a_sub_network_of_every_node_equals_the_validated_one():
    """sub_network skips validation when every node is kept (a subset of validated links passes
    every check): the same network as build_network gives, arcs mapped back to the same links."""
    from pathlib import Path

    import numpy as np

    from topo_opt.io.detect import read_instance
    from topo_opt.model.validation import replace_network, sub_network

    net = read_instance(Path(__file__).resolve().parents[1] / "instances" / "six-node.json")
    keep = np.arange(net.n_links) != net.link_index["DF"]
    sub, arc_map = sub_network(net, keep_link=keep)
    validated = replace_network(net, links=tuple(link for link, k in zip(net.links, keep) if k))
    assert sub == validated
    for name in ("arc_tail", "arc_head", "arc_link", "demand_rate", "link_capacity"):
        np.testing.assert_array_equal(getattr(sub, name), getattr(validated, name))
    np.testing.assert_array_equal(net.arc_link[arc_map], np.flatnonzero(keep)[sub.arc_link])
    np.testing.assert_array_equal(net.arc_tail[arc_map], sub.arc_tail)
