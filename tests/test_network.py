"""The network model: arcs and queues for each link model, units, incidence."""
import numpy as np
import pytest

from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.io.detect import read_instance
from topo_opt.model.validation import replace_network, sub_network


def _triangle(link_model):
    return build_network(
        name="tri", nodes=[Node("a"), Node("b"), Node("c", processing_delay_s=1e-6)],
        links=[Link("ab", "a", "b", 10e9, length_m=200e3), Link("bc", "b", "c", 1e9)],
        demands=[Demand("d", "a", "c", 5e8)], link_model=link_model, packet_length_bits=4800)


def test_duplex_links_give_two_arcs_with_their_own_queues():
    net = _triangle("duplex")
    assert net.n_arcs == 4 and net.n_queues == 4
    np.testing.assert_array_equal(net.arc_tail, [0, 1, 1, 2])
    np.testing.assert_array_equal(net.arc_head, [1, 2, 0, 1])
    np.testing.assert_array_equal(net.queue_capacity(), [10e9, 1e9, 10e9, 1e9])


def test_undirected_links_share_one_queue_per_link():
    net = _triangle("undirected")
    assert net.n_arcs == 4 and net.n_queues == 2
    np.testing.assert_array_equal(net.queue_load(np.array([1.0, 2.0, 3.0, 4.0])), [4.0, 6.0])


def test_directed_links_give_one_arc():
    net = _triangle("directed")
    assert net.n_arcs == 2 and net.n_queues == 2


def test_units_and_fixed_delays():
    net = _triangle("duplex")
    # 600-byte packets: 1 Gbit/s serves 208 333 packets per second (models.md)
    assert net.link_capacity[1] * net.packets_per_rate_unit == pytest.approx(208_333.33, rel=1e-6)
    assert net.total_packet_rate == pytest.approx(5e8 / 4800)
    # 200 km at 2e8 m/s is 1 ms; processing is charged at the tail node of an arc
    np.testing.assert_allclose(net.arc_fixed_delay_s, [1e-3, 0.0, 1e-3, 1e-6])


def test_incidence_matrix_gives_conservation():
    net = _triangle("duplex")
    flow = np.array([5e8, 5e8, 0.0, 0.0])  # a -> b -> c
    np.testing.assert_allclose(net.node_arc_incidence @ flow, [5e8, 0.0, -5e8])


def test_replace_revalidates():
    net = _triangle("duplex")
    with pytest.raises(ValueError, match=r"demand 'd': rate must be > 0, got -1.0 bit/s"):
        replace_network(net, demands=(Demand("d", "a", "c", -1.0),))


@pytest.mark.parametrize("drop_node", [False, True])
def test_sub_network_maps_every_arc_back_to_the_same_link_and_direction(drop_node):
    net = read_instance("instances/six-node.json")
    keep_link = np.ones(net.n_links, bool)
    keep_link[2] = False
    keep_node = np.ones(net.n_nodes, bool)
    if drop_node:  # node F, its links and its demands
        net = replace_network(net, demands=tuple(d for d in net.demands if "F" not in (d.source, d.target)))
        f = net.node_index["F"]
        keep_node[f] = False
        keep_link &= (net.link_source != f) & (net.link_target != f)
    sub, arc_map = sub_network(net, keep_node, keep_link)
    assert sub.n_arcs == len(arc_map) == len(set(arc_map.tolist()))
    for a, b in enumerate(arc_map.tolist()):
        assert sub.links[sub.arc_link[a]].id == net.links[net.arc_link[b]].id
        assert sub.nodes[sub.arc_tail[a]].id == net.nodes[net.arc_tail[b]].id
        assert sub.nodes[sub.arc_head[a]].id == net.nodes[net.arc_head[b]].id
