"""Baseline routings: min-hop, shortest length and ECMP, checked against networkx."""

import networkx as nx
import numpy as np
import pytest

from topo_opt.algorithms.baselines import ecmp_routing, min_hop_routing, shortest_length_routing
from topo_opt.errors import InfeasibleError, TopoOptError
from topo_opt.io.commalab import read_commalab
from topo_opt.io.sndlib import read_sndlib
from topo_opt.model import Demand, Design, Link, Node, build_network
from topo_opt.evaluators.design_check import check_design
from conftest import real_file



def _valid(net, routing):
    """Conservation and fractions, by the shared checker (capacities not considered)."""
    design = Design.for_network(net, routing, link_capacity=np.full(net.n_links, np.inf))
    assert check_design(net, design) == []
    for p in range(routing.n_paths):  # loop-free: no node visited twice
        arcs = routing.path_arcs(p)
        nodes = np.append(net.arc_tail[arcs], net.arc_head[arcs[-1]])
        assert len(set(nodes.tolist())) == len(nodes)


def _digraph(net, weight):
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(range(net.n_nodes))
    for a in range(net.n_arcs):
        graph.add_edge(int(net.arc_tail[a]), int(net.arc_head[a]), weight=float(weight[a]))
    return graph


@pytest.mark.parametrize("name", ["abilene", "germany50", "nobel-us"])
def test_min_hop_paths_have_the_bfs_hop_count(name):
    net = read_sndlib(real_file("sndlib", f"{name}.txt"))
    routing = min_hop_routing(net)
    _valid(net, routing)
    graph = _digraph(net, np.ones(net.n_arcs))
    hops = [nx.shortest_path_length(graph, int(s), int(t))
            for s, t in zip(net.demand_source, net.demand_target)]
    np.testing.assert_array_equal(np.diff(routing.indptr), hops)
    np.testing.assert_array_equal(routing.fraction, 1.0)


def test_shortest_length_uses_lengths_and_breaks_ties_by_hops():
    #   a --1000 m-- b --1000 m-- d        a --2000 m-- d directly (same length, fewer hops)
    #   a --500 m--  c --500 m--- e        e: target of the second demand, lengths unknown to c
    nodes = [Node(n) for n in "abcde"]
    links = [Link("ab", "a", "b", 1.0, length_m=1000.0), Link("bd", "b", "d", 1.0, length_m=1000.0),
             Link("ad", "a", "d", 1.0, length_m=2000.0), Link("ac", "a", "c", 1.0, length_m=500.0),
             Link("ce", "c", "e", 1.0), Link("ae", "a", "e", 1.0, length_m=400.0)]
    net = build_network(name="len", nodes=nodes, links=links,
                        demands=[Demand("ad", "a", "d", 1.0), Demand("ae", "a", "e", 1.0),
                                 Demand("be", "b", "e", 1.0)])
    routing = shortest_length_routing(net)
    _valid(net, routing)
    ids = [[net.links[net.arc_link[a]].id for a in routing.path_arcs(p)] for p in range(3)]
    assert ids[0] == ["ad"]              # 2000 m either way: one hop wins
    assert ids[1] == ["ae"]              # 400 m beats 500 m + unknown (0 m) + a hop
    assert ids[2] == ["ab", "ae"]        # 1400 m


def test_shortest_length_matches_networkx_on_a_real_network():
    net = read_sndlib(real_file("sndlib", "nobel-eu.txt"))
    lengths = np.nan_to_num(net.link_length_m, nan=0.0)[net.arc_link]
    routing = shortest_length_routing(net)
    _valid(net, routing)
    graph = _digraph(net, lengths)
    for k in range(net.n_demands):
        expected = nx.dijkstra_path_length(graph, int(net.demand_source[k]), int(net.demand_target[k]))
        assert lengths[routing.path_arcs(k)].sum() == pytest.approx(expected, rel=1e-12, abs=1e-6)


def _square():
    """s -> {a, b} -> t, and a -> c -> t is one hop longer; plus s -> a -> {x, y} -> u."""
    nodes = [Node(n) for n in ("s", "a", "b", "t", "x", "y", "u")]
    links = [Link(f"{u}{v}", u, v, 1.0) for u, v in
             [("s", "a"), ("s", "b"), ("a", "t"), ("b", "t"), ("a", "x"), ("a", "y"),
              ("x", "u"), ("y", "u")]]
    return build_network(name="sq", nodes=nodes, links=links, link_model="directed",
                         demands=[Demand("st", "s", "t", 4.0), Demand("su", "s", "u", 8.0)])


def test_ecmp_splits_equally_at_every_node():
    net = _square()
    routing = ecmp_routing(net)
    _valid(net, routing)
    by_demand = {}
    for p in range(routing.n_paths):
        names = "-".join(net.links[net.arc_link[a]].id for a in routing.path_arcs(p))
        by_demand.setdefault(int(routing.demand[p]), {})[names] = routing.fraction[p]
    assert by_demand[0] == pytest.approx({"sa-at": 0.5, "sb-bt": 0.5})
    assert by_demand[1] == pytest.approx({"sa-ax-xu": 0.5, "sa-ay-yu": 0.5})


def _ecmp_arc_flows(net):
    """Independent ECMP arc flows: per destination, push traffic down the min-hop DAG."""
    graph = _digraph(net, np.ones(net.n_arcs)).reverse()
    flow = np.zeros(net.n_arcs)
    for t in np.unique(net.demand_target):
        hops = nx.single_source_shortest_path_length(graph, int(t))
        node_flow = np.zeros(net.n_nodes)
        np.add.at(node_flow, net.demand_source[net.demand_target == t], net.demand_rate[net.demand_target == t])
        for u in sorted(hops, key=hops.get, reverse=True):
            out = [a for a in range(net.n_arcs) if net.arc_tail[a] == u
                   and hops.get(int(net.arc_head[a]), -9) == hops[u] - 1]
            for a in out:
                flow[a] += node_flow[u] / len(out)
                node_flow[net.arc_head[a]] += node_flow[u] / len(out)
    return flow


@pytest.mark.parametrize("name", ["abilene", "germany50"])
def test_ecmp_arc_flows_match_the_per_node_split(name):
    net = read_sndlib(real_file("sndlib", f"{name}.txt"))
    routing = ecmp_routing(net)
    _valid(net, routing)
    np.testing.assert_allclose(routing.arc_flow(net.demand_rate, net.n_arcs), _ecmp_arc_flows(net),
                               rtol=1e-10, atol=1e-6)


def test_ecmp_path_limit():
    net = read_commalab(real_file("commalab", "grid", "grid1"))
    with pytest.raises(TopoOptError, match=r"ECMP routing needs more than max_paths=10 paths"):
        ecmp_routing(net, max_paths=10)


@pytest.mark.parametrize("rule", [min_hop_routing, shortest_length_routing, ecmp_routing])
def test_unreachable_demand_is_infeasible(rule):
    net = build_network(name="cut", nodes=[Node("a"), Node("b"), Node("c")],
                        links=[Link("ab", "a", "b", 1.0)],
                        demands=[Demand("ca", "c", "a", 1.0)])
    with pytest.raises(InfeasibleError, match=r"demand 'ca' cannot be routed"):
        rule(net)
