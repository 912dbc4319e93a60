"""Synthesis of demands, capacities and lengths, checked against closed forms."""
import math

import numpy as np
import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.model.synthesis import (
    EARTH_RADIUS_M, STANDARD_LINE_RATES, gabriel_network, great_circle_m, gravity_demands,
    scale_demands, size_capacities, uniform_demands, with_lengths_from_coordinates,
)


def _star(link_model="duplex", rate_unit="bit/s"):
    """Hub h with leaves a, b, c (a has two links to h), and one demand."""
    nodes = [Node("h", 2.35, 48.86), Node("a", 4.84, 45.76), Node("b"), Node("c", -0.58, 44.84)]
    links = [Link("ha", "h", "a", 1e9), Link("hb", "h", "b", 2e9), Link("hc", "h", "c", 1e9),
             Link("ha2", "h", "a", 1e9, length_m=5.0)]
    return build_network(name="star", nodes=nodes, links=links, demands=[Demand("d", "a", "b", 1e6)],
                         link_model=link_model, rate_unit=rate_unit, metadata={"source": "test"})


# ----------------------------------------------------------------------------- lengths
def test_great_circle_closed_forms():
    # a quarter of a meridian and a quarter of the equator: π R / 2
    assert great_circle_m(0.0, 0.0, 0.0, 90.0) == pytest.approx(math.pi * EARTH_RADIUS_M / 2, rel=1e-12)
    assert great_circle_m(0.0, 0.0, 90.0, 0.0) == pytest.approx(math.pi * EARTH_RADIUS_M / 2, rel=1e-12)
    assert great_circle_m(10.0, 20.0, 10.0, 20.0) == 0.0
    assert great_circle_m(0.0, 0.0, 180.0, 0.0) == pytest.approx(math.pi * EARTH_RADIUS_M, rel=1e-12)
    # one degree of latitude is R π/180 ≈ 111.19 km; vectorised
    d = great_circle_m(np.zeros(2), np.array([0.0, 45.0]), np.zeros(2), np.array([1.0, 46.0]))
    np.testing.assert_allclose(d, EARTH_RADIUS_M * math.pi / 180, rtol=1e-12)


def test_lengths_from_coordinates_keep_existing_and_unknown():
    net = with_lengths_from_coordinates(_star())
    ha, hb, hc, ha2 = net.links
    assert ha.length_m == pytest.approx(great_circle_m(2.35, 48.86, 4.84, 45.76))
    assert 390e3 < ha.length_m < 400e3  # Paris-Lyon, about 392 km
    assert hb.length_m is None  # b has no coordinates
    assert ha2.length_m == 5.0  # kept
    assert net.metadata["lengths"]["links_set"] == 2 and net.metadata["source"] == "test"
    again = with_lengths_from_coordinates(_star(), overwrite=True)
    assert again.links[3].length_m == ha.length_m


# ----------------------------------------------------------------------------- demands
def test_gravity_total_and_formula():
    net = _star()
    out = gravity_demands(net, 1e9, masses=[1.0, 2.0, 3.0, 4.0])
    assert out.n_demands == 12 and out.total_demand == pytest.approx(1e9, rel=1e-12)
    m = {"h": 1.0, "a": 2.0, "b": 3.0, "c": 4.0}
    norm = sum(m[u] * m[v] for u in m for v in m if u != v)  # (Σm)² − Σm² = 100 − 30 = 70
    assert norm == 70.0
    for d in out.demands:
        assert d.rate == pytest.approx(1e9 * m[d.source] * m[d.target] / norm, rel=1e-12)
        assert d.id == f"{d.source}->{d.target}"
    gen = out.metadata["demand_generator"]
    assert gen["generator"] == "gravity" and gen["total_rate"] == 1e9 and gen["seed"] == 0
    assert out.metadata["source"] == "test"  # earlier provenance kept


def test_gravity_uniform_degree_and_capacity_masses():
    net = _star()
    uniform = gravity_demands(net, 12.0)
    assert all(d.rate == pytest.approx(1.0) for d in uniform.demands)
    degree = gravity_demands(net, 1.0, masses="degree")  # degrees h 4, a 2, b 1, c 1
    rate = {(d.source, d.target): d.rate for d in degree.demands}
    assert rate[("h", "a")] / rate[("b", "c")] == pytest.approx(8.0)
    capacity = gravity_demands(net, 1.0, masses="capacity")  # h 5e9, a 2e9, b 2e9, c 1e9
    rate = {(d.source, d.target): d.rate for d in capacity.demands}
    assert rate[("h", "a")] / rate[("a", "c")] == pytest.approx(5.0)


def test_gravity_skips_massless_nodes_and_checks_input():
    out = gravity_demands(_star(), 10.0, masses=np.array([1.0, 1.0, 0.0, 0.0]))
    assert sorted(d.id for d in out.demands) == ["a->h", "h->a"] and out.total_demand == pytest.approx(10.0)
    with pytest.raises(InvalidInputError, match=r"total_rate must be a finite number > 0, got -1"):
        gravity_demands(_star(), -1)
    with pytest.raises(InvalidInputError, match=r"masses must have one value per node \(4\)"):
        gravity_demands(_star(), 1.0, masses=[1.0, 2.0])
    with pytest.raises(InvalidInputError, match=r"every pair of distinct nodes has zero mass product"):
        gravity_demands(_star(), 1.0, masses=[1.0, 0.0, 0.0, 0.0])
    with pytest.raises(InvalidInputError, match=r"masses must be None, 'degree', 'capacity'"):
        gravity_demands(_star(), 1.0, masses="population")


def test_gravity_perturbation_is_seeded_and_keeps_the_total():
    a = gravity_demands(_star(), 1e9, perturbation=0.5, seed=42)
    b = gravity_demands(_star(), 1e9, perturbation=0.5, seed=42)
    c = gravity_demands(_star(), 1e9, perturbation=0.5, seed=43)
    assert a.demands == b.demands and a.demands != c.demands
    assert a.total_demand == pytest.approx(1e9, rel=1e-12)
    rates = a.demand_rate
    assert rates.min() >= 1e9 / 12 * 0.5 / 1.5 and rates.max() <= 1e9 / 12 * 1.5 / 0.5
    assert a.metadata["demand_generator"]["seed"] == 42


def test_gravity_among_endpoints_is_the_formula_over_them():
    net = _star()  # degrees h 4, a 2, b 1, c 1
    out = gravity_demands(net, 1e9, masses="degree", endpoints=3, seed=5)
    chosen = out.metadata["demand_generator"]["endpoint_nodes"]
    assert len(chosen) == 3 and out.n_demands == 6 and out.total_demand == pytest.approx(1e9, rel=1e-12)
    m = {k: v for k, v in {"h": 4.0, "a": 2.0, "b": 1.0, "c": 1.0}.items() if k in chosen}
    norm = sum(m[u] * m[v] for u in m for v in m if u != v)
    for d in out.demands:
        assert d.source in m and d.target in m
        assert d.rate == pytest.approx(1e9 * m[d.source] * m[d.target] / norm, rel=1e-12)
    again = gravity_demands(net, 1e9, masses="degree", endpoints=3, seed=5)
    assert again.demands == out.demands  # seeded
    seen = {tuple(gravity_demands(net, 1.0, endpoints=2, seed=s).metadata["demand_generator"]["endpoint_nodes"])
            for s in range(40)}
    assert len(seen) == 6  # every pair of the 4 nodes is drawn for some seed
    # all nodes as endpoints: the all-pairs matrix
    every = gravity_demands(net, 1e9, masses="degree", endpoints=4)
    assert every.demands == gravity_demands(net, 1e9, masses="degree").demands  # endpoints sorted
    # only nodes of positive mass are drawn
    massive = gravity_demands(net, 1.0, masses=[1.0, 0.0, 1.0, 1.0], endpoints=3)
    assert "a" not in massive.metadata["demand_generator"]["endpoint_nodes"]
    for bad in (1, 5, 2.0):
        with pytest.raises(InvalidInputError, match=r"endpoints must be an integer in \[2, 4\]"):
            gravity_demands(net, 1.0, endpoints=bad)


def test_gabriel_network_matches_the_definition():
    net = gabriel_network(60, seed=3)
    xy = np.array([net.metadata["node_xy"][n.id] for n in net.nodes])
    expected = set()
    for u in range(60):
        for v in range(u + 1, 60):
            dots = np.einsum("ij,ij->i", xy[u] - xy, xy[v] - xy)
            dots[[u, v]] = 1.0
            if np.all(dots > 0):  # no other point in the disc with diameter uv
                expected.add((str(u), str(v)))
    assert {tuple(sorted((link.source, link.target), key=int)) for link in net.links} == expected
    assert net.n_demands == 0 and net.link_model == "duplex"
    assert all(link.capacity == STANDARD_LINE_RATES[0] and link.length_m is None for link in net.links)
    # connected: one component
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    graph = sp.coo_matrix((np.ones(net.n_links), (net.link_source, net.link_target)), shape=(60, 60))
    assert connected_components(graph, directed=False)[0] == 1
    assert gabriel_network(60, seed=3).links == net.links and gabriel_network(60, seed=4).links != net.links
    with pytest.raises(InvalidInputError, match="n_nodes must be an integer >= 3, got 2"):
        gabriel_network(2)


def test_uniform_and_scaled_demands():
    out = uniform_demands(_star(), 5e6)
    assert out.n_demands == 12 and set(out.demand_rate) == {5e6}
    scaled = scale_demands(scale_demands(out, 0.5), 0.5)
    assert set(scaled.demand_rate) == {1.25e6} and scaled.metadata["demand_scale"] == 0.25
    with pytest.raises(InvalidInputError, match=r"rate_per_pair must be a finite number > 0, got nan"):
        uniform_demands(_star(), float("nan"))


# ----------------------------------------------------------------------------- capacities
def test_size_capacities_picks_the_smallest_line_rate_meeting_the_target():
    net = _star()  # duplex: arcs 0..3 forward (h→x), 4..7 backward
    load = np.array([40e6, 0.0, 600e6, 0.0, 60e6, 0.0, 4.9e9, 350e9])
    out = size_capacities(net, load, target_utilization=0.5)
    # link load = max of its two directions: 60 Mbit/s, 0, 4.9 Gbit/s, 350 Gbit/s; needed at 50 %:
    # 120 Mbit/s -> 1 G; 0 -> 100 M; 9.8 G -> 10 G; 700 G -> 2 x 400 G
    caps = [link.capacity for link in out.links]
    assert caps == [1e9, 100e6, 10e9, 800e9]
    util = np.maximum(load[:4], load[4:]) / np.array(caps)
    assert np.all(util <= 0.5)
    rule = out.metadata["capacity_rule"]
    assert rule["target_utilization"] == 0.5 and rule["line_rates_bps"] == list(STANDARD_LINE_RATES)


def test_size_capacities_edges_of_the_rule():
    net = _star()
    exact = np.zeros(8)
    exact[0] = 0.5 * 2.5e9  # exactly at the target for 2.5 Gbit/s
    exact[1] = 0.5 * 2.5e9 * (1 + 1e-9)  # just above -> 10 Gbit/s
    exact[2] = 1.0e12  # above 400 G at 50 %: k = ceil(2e12 / 400e9) = 5 modules
    out = size_capacities(net, exact)
    assert [link.capacity for link in out.links] == [2.5e9, 10e9, 2e12, 100e6]
    custom = size_capacities(net, exact, target_utilization=1.0, line_rates_bps=[1e9, 5e9])
    assert [link.capacity for link in custom.links] == [5e9, 5e9, 1e12, 1e9]


def test_size_capacities_undirected_and_packet_units():
    und = _star(link_model="undirected")  # both directions share one queue: loads add
    out = size_capacities(und, np.array([30e6, 0, 0, 0, 30e6, 0, 0, 0]))
    assert out.links[0].capacity == 1e9  # 60 Mbit/s > 50 % of 100 Mbit/s
    pkt = _star(rate_unit="packet/s")  # L̄ = 8000 bit: 100 Mbit/s = 12 500 pkt/s
    out = size_capacities(pkt, np.array([6000.0, 6250.0, 6251.0, 0, 0, 0, 0, 0]))
    assert [link.capacity for link in out.links] == [12500.0, 12500.0, 125000.0, 12500.0]


def test_size_capacities_makes_candidate_links_installed_and_checks_input():
    net = build_network(name="c", nodes=[Node("a"), Node("b")], links=[Link("l", "a", "b", 0.0, installed=False)],
                        demands=[Demand("d", "a", "b", 1e6)])
    out = size_capacities(net, np.array([1e6, 0.0]))
    assert out.links[0].installed and out.links[0].capacity == 100e6
    with pytest.raises(InvalidInputError, match=r"arc_load must have one value per arc \(2\), got shape \(3,\)"):
        size_capacities(net, np.zeros(3))
    with pytest.raises(InvalidInputError, match=r"arc_load must be finite and >= 0"):
        size_capacities(net, np.array([-1.0, 0.0]))
    with pytest.raises(InvalidInputError, match=r"target_utilization must be in \(0, 1\], got 1\.5"):
        size_capacities(net, np.zeros(2), target_utilization=1.5)


def test_size_capacities_from_min_hop_routing_meets_the_target():
    from topo_opt.algorithms.baselines import min_hop_routing
    net = gravity_demands(_star(), 30e9, masses="degree", seed=1)
    load = min_hop_routing(net).arc_flow(net.demand_rate, net.n_arcs)
    sized = size_capacities(net, load, target_utilization=0.5)
    queue_util = net.queue_load(load) / sized.queue_capacity()
    assert queue_util.max() <= 0.5
    # and no smaller standard rate would do for the busiest queue of each link
    link_load = np.zeros(net.n_links)
    np.maximum.at(link_load, net.queue_link, net.queue_load(load))
    for c, f in zip(sized.link_capacity, link_load):
        smaller = [r for r in STANDARD_LINE_RATES if r < c]
        assert not smaller or f > 0.5 * max(smaller)
