"""evaluate_design: closed forms, agreement with the min-delay objective, saturation, JSON."""
import json
import math

import numpy as np
import pytest
from scipy.sparse.csgraph import shortest_path

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.evaluators.power import PowerProfile, network_power
from topo_opt.model import Demand, Design, Link, Node, Routing, build_network
from conftest import real_file

GRID1 = real_file("commalab", "grid", "grid1")


def _two_nodes(demand_bps=800e3, capacity_bps=1e6, link_model="duplex"):
    return build_network(name="pair", nodes=[Node("a"), Node("b")],
                         links=[Link("ab", "a", "b", capacity_bps)],
                         demands=[Demand("d", "a", "b", demand_bps)],
                         packet_length_bits=4000.0, link_model=link_model)


def _single_path_design(network, paths):
    return Design.for_network(network, Routing.from_paths((k, arcs, 1.0) for k, arcs in enumerate(paths)))


def _numbers(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, float):
        yield value


def test_single_mm1_link_textbook_numbers():
    # 1 Mbit/s, 500-byte packets, 800 kbit/s: μ = 250, λ = 200 packet/s, N = 4, T = 20 ms
    net = _two_nodes()
    m = evaluate_design(net, _single_path_design(net, [[0]]))
    assert m.average_packets_in_network == pytest.approx(4.0)
    assert m.average_delay_s == pytest.approx(0.020)
    assert m.arc_queue_delay_s[0] == pytest.approx(0.020)
    assert m.max_utilization == pytest.approx(0.8)
    assert m.mean_utilization == pytest.approx(0.4)  # the idle reverse direction is a queue too
    assert m.demand_delay_s[0] == pytest.approx(0.020) and m.path_loss[0] == 0.0


def test_kleinrock_network_delay_from_packets_in_network():
    # Σ N = 39 + 39 = 78 packets, γ = 2.5e6 packet/s  ->  T = 31.2 µs
    net = build_network(
        name="78", nodes=[Node("a"), Node("b"), Node("c")],
        links=[Link("ab", "a", "b", 1.0e6 * 40 / 39), Link("bc", "b", "c", 1.5e6 * 40 / 39)],
        demands=[Demand("x", "a", "b", 1.0e6), Demand("y", "b", "c", 1.5e6)],
        rate_unit="packet/s", link_model="directed")
    m = evaluate_design(net, _single_path_design(net, [[0], [1]]))
    assert m.average_packets_in_network == pytest.approx(78.0)
    assert m.average_delay_s == pytest.approx(31.2e-6)


def _grid1_min_hop():
    from topo_opt.io.commalab import read_commalab

    net = read_commalab(GRID1)
    n = net.n_nodes
    hops = np.zeros((n, n))
    hops[net.arc_tail, net.arc_head] = 1.0
    _, pred = shortest_path(hops, unweighted=True, return_predecessors=True)
    arc_of = {(int(t), int(h)): a for a, (t, h) in enumerate(zip(net.arc_tail, net.arc_head))}
    paths = []
    for k, (s, t) in enumerate(zip(net.demand_source, net.demand_target)):
        nodes = [int(t)]
        while nodes[-1] != s:
            nodes.append(int(pred[s, nodes[-1]]))
        nodes.reverse()
        paths.append((k, [arc_of[u, v] for u, v in zip(nodes, nodes[1:])], 1.0))
    routing = Routing.from_paths(paths)
    flow = routing.arc_flow(net.demand_rate, net.n_arcs)
    return net, Design.for_network(net, routing, link_capacity=net.link_capacity + 2 * flow)


def test_network_delay_equals_the_min_delay_objective_on_a_real_instance():
    net, design = _grid1_min_hop()
    m = evaluate_design(net, design)
    objective = DelayObjective.for_network(net, design.link_capacity)
    assert m.average_delay_s == pytest.approx(objective.value(design.arc_flow(net)), rel=1e-12)
    # Little's law the other way round: the rate-weighted mean of the demand delays
    assert m.average_delay_s == pytest.approx(np.average(m.demand_delay_s, weights=net.demand_rate), rel=1e-12)
    assert m.arc_packets.sum() == pytest.approx(m.average_packets_in_network, rel=1e-12)


def test_fixed_delays_fractions_and_hop_sums_by_hand():
    # a -> c split 1/2 over a-b-c and 1/2 over a-c; 200 km on ab (1 ms); 0.1 ms processing at b
    net = build_network(
        name="tri", nodes=[Node("a"), Node("b", processing_delay_s=1e-4), Node("c")],
        links=[Link("ab", "a", "b", 1e6, length_m=200e3), Link("bc", "b", "c", 1e6),
               Link("ac", "a", "c", 2e6)],
        demands=[Demand("k", "a", "c", 5e5)], packet_length_bits=1000.0)
    routing = Routing.from_paths([(0, [0, 1], 0.5), (0, [2], 0.5)])
    m = evaluate_design(net, Design.for_network(net, routing))
    # μ = 1000 packet/s on ab, bc, 2000 on ac; λ = 250 on each used arc
    d_abc = 1 / (1000 - 250) + 1e-3 + 1 / (1000 - 250) + 1e-4
    d_ac = 1 / (2000 - 250)
    np.testing.assert_allclose(m.path_delay_s, [d_abc, d_ac])
    assert m.demand_delay_s[0] == pytest.approx(0.5 * d_abc + 0.5 * d_ac)
    assert m.demand_worst_delay_s[0] == pytest.approx(d_abc)
    n = 2 * 250 / 750 + 250 / 1750
    assert m.average_delay_s == pytest.approx((n + 250 * (1e-3 + 1e-4)) / 500)
    no_fixed = evaluate_design(net, Design.for_network(net, routing), include_fixed_delay=False)
    assert no_fixed.average_delay_s == pytest.approx(n / 500)


def test_undirected_link_is_one_shared_queue():
    net = build_network(name="u", nodes=[Node("a"), Node("b")], links=[Link("ab", "a", "b", 10.0)],
                        demands=[Demand("x", "a", "b", 3.0), Demand("y", "b", "a", 4.0)],
                        rate_unit="packet/s", link_model="undirected")
    m = evaluate_design(net, _single_path_design(net, [[0], [1]]))
    assert m.average_packets_in_network == pytest.approx(7 / 3)
    np.testing.assert_allclose(m.arc_queue_delay_s, [1 / 3, 1 / 3])
    np.testing.assert_allclose(m.arc_packets, [1.0, 4 / 3])  # Little per arc: λ_a T_q


def test_saturated_link_reports_nan_and_the_link():
    net = _two_nodes(demand_bps=1.2e6)
    m = evaluate_design(net, _single_path_design(net, [[0]]))
    assert m.saturated and m.n_saturated == 1 and m.saturated_links == ("ab",)
    assert math.isnan(m.average_delay_s) and math.isnan(m.average_packets_in_network)
    doc = m.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["metrics"]["average_delay_s"] is None and doc["metrics"]["saturated"] is True
    assert doc["metrics"]["max_utilization"] == pytest.approx(1.2)
    assert doc["arcs"][0]["delay_s"] is None and doc["demands"][0]["delay_s"] is None
    assert all(x >= 0 for x in _numbers(doc))


def test_finite_buffers_allow_overload_and_report_loss():
    # two hops at ρ = 1 and ρ = 2 with K = 4: P_B = 1/5 and (1/2)/(1 − 2⁻⁵) ... by the direct sum
    net = build_network(name="k", nodes=[Node("a"), Node("b"), Node("c")],
                        links=[Link("ab", "a", "b", 10.0), Link("bc", "b", "c", 5.0)],
                        demands=[Demand("x", "a", "c", 10.0)], rate_unit="packet/s", link_model="directed")
    m = evaluate_design(net, _single_path_design(net, [[0, 1]]), queue="mm1k", buffer_packets=4)
    p2 = 2.0 ** np.arange(5) / (2.0 ** np.arange(5)).sum()
    blocking = [1 / 5, p2[-1]]
    assert not m.saturated and m.max_utilization == pytest.approx(2.0)
    assert m.path_loss[0] == pytest.approx(1 - (1 - blocking[0]) * (1 - blocking[1]))
    assert m.demand_loss[0] == pytest.approx(m.path_loss[0])
    assert m.average_packets_in_network == pytest.approx(2.0 + np.arange(5) @ p2)


def test_link_off_has_no_capacity_and_idle_off_links_do_not_count():
    net = build_network(name="off", nodes=[Node("a"), Node("b"), Node("c")],
                        links=[Link("ab", "a", "b", 1e6), Link("bc", "b", "c", 1e6), Link("ac", "a", "c", 1e6)],
                        demands=[Demand("k", "a", "c", 5e5)], packet_length_bits=1000.0)
    routing = Routing.from_paths([(0, [0, 1], 1.0)])
    m = evaluate_design(net, Design.for_network(net, routing, link_on=[True, True, False]))
    assert not m.saturated and m.max_utilization == pytest.approx(0.5)
    assert m.mean_utilization == pytest.approx(0.25)  # 4 queues with capacity: 0.5, 0.5, 0, 0
    loaded = evaluate_design(net, Design.for_network(net, Routing.from_paths([(0, [2], 1.0)]),
                                                     link_on=[True, True, False]))
    assert loaded.saturated and loaded.saturated_links == ("ac",)


def test_to_dict_ids_units_and_round_trip_through_a_solution_file(tmp_path):
    from topo_opt.io.solution_json import read_design

    net = build_network(name="tri", nodes=[Node("a"), Node("b"), Node("c")],
                        links=[Link("ab", "a", "b", 1e6), Link("bc", "b", "c", 1e6), Link("ac", "a", "c", 2e6)],
                        demands=[Demand("k", "a", "c", 5e5), Demand("m", "b", "c", 1e5)])
    routing = Routing.from_paths([(1, [1], 1.0), (0, [0, 1], 0.25), (0, [2], 0.75)])
    design = Design.for_network(net, routing)
    doc = evaluate_design(net, design, power=PowerProfile("p", 10.0, 1.0, "linear", 1.0, 1e9),
                          security={}).to_dict()
    text = json.dumps(doc, allow_nan=False)
    assert {"average_delay_s", "average_packets_in_network", "max_utilization", "mean_utilization",
            "total_power_w", "mean_rejection_sum"} <= set(doc["metrics"])
    assert {"link", "from", "to", "capacity", "flow", "utilization", "delay_s", "queue_delay_s",
            "fixed_delay_s", "packets", "blocking"} <= set(doc["arcs"][2])
    assert doc["arcs"][2]["link"] == "ac" and doc["arcs"][2]["flow"] == pytest.approx(3.75e5)
    assert (doc["arcs"][3]["from"], doc["arcs"][3]["to"]) == ("b", "a")
    k = doc["demands"][0]
    assert [p["nodes"] for p in k["paths"]] == [["a", "b", "c"], ["a", "c"]]
    assert [p["links"] for p in k["paths"]] == [["ab", "bc"], ["ac"]]
    assert [p["fraction"] for p in k["paths"]] == [0.25, 0.75]
    assert doc["demands"][1]["paths"][0]["nodes"] == ["b", "c"]
    assert [n["id"] for n in doc["nodes"]] == ["a", "b", "c"]

    solution = tmp_path / "s.json"
    solution.write_text(json.dumps({"format": "topo-opt/solution", **json.loads(text)}))
    back = read_design(solution, net)
    np.testing.assert_allclose(back.arc_flow(net), design.arc_flow(net))


def test_power_and_security_are_attached():
    net, design = _grid1_min_hop()
    profile = PowerProfile("p", 100.0, 5.0, "cubic", 0.2, 1e4)
    m = evaluate_design(net, design, power=profile, security={"default": 0.0})
    assert m.total_power_w == pytest.approx(network_power(net, design, profile).total_w)
    np.testing.assert_array_equal(m.rejection.demand_sum, np.zeros(net.n_demands))


def test_bad_options():
    net = _two_nodes()
    design = _single_path_design(net, [[0]])
    with pytest.raises(InvalidInputError, match="queue model must be one of mm1, md1, mg1, mm1k, got 'mm2'"):
        evaluate_design(net, design, queue="mm2")
    with pytest.raises(InvalidInputError, match="'mm1k' needs buffer_packets"):
        evaluate_design(net, design, queue="mm1k")
    with pytest.raises(InvalidInputError, match="routing refers to demands or arcs"):
        evaluate_design(net, _single_path_design(net, [[5]]))
