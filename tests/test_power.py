"""Power model: hand-computed totals, load shapes, incremental power, profile cards."""
import math
from pathlib import Path

import numpy as np
import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.power import NodePowerModel, PowerProfile, incremental_power_w, network_power
from topo_opt.io.power_profile import load_node_profiles, load_power_profile
from topo_opt.model import Demand, Design, Link, Node, Routing, build_network
from topo_opt.model.validation import replace_network

CARDS = Path(__file__).resolve().parents[1] / "models" / "power"
# 100 W chassis, 10 W per active port, 2 W per Gbit/s up to a 10 Gbit/s reference (20 W at full load)
PROFILE = PowerProfile("test", chassis_w=100.0, port_w=10.0, load_shape="linear",
                       load_w_per_gbps=2.0, reference_capacity_bps=10e9)


def _triangle(rate_unit="bit/s", rate=1e9, packet_length_bits=8000.0):
    return build_network(name="tri", nodes=[Node("a"), Node("b"), Node("c"), Node("d")],
                         links=[Link("ab", "a", "b", 10e9), Link("bc", "b", "c", 10e9),
                                Link("ac", "a", "c", 10e9)],
                         demands=[Demand("k", "a", "c", rate)], rate_unit=rate_unit,
                         packet_length_bits=packet_length_bits)


def _design(net, link_on=(True, True, False), node_on=(True, True, True, False)):
    return Design.for_network(net, Routing.from_paths([(0, [0, 1], 1.0)]),  # a -> b -> c
                              link_on=list(link_on), node_on=list(node_on))


def test_three_routers_with_one_link_off_by_hand():
    net = _triangle()
    p = network_power(net, _design(net), PROFILE)
    # a: chassis 100 + port(ab) 10 + 1 Gbit/s sent on ab: 2 W
    # b: 100 + ports(ab, bc) 20 + 1 Gbit/s sent on bc: 2 W;  c: 100 + port(bc) 10;  d is off
    np.testing.assert_allclose(p.node_w, [112.0, 122.0, 110.0, 0.0])
    np.testing.assert_allclose(p.chassis_w, [100.0, 100.0, 100.0, 0.0])
    np.testing.assert_allclose(p.port_w, [10.0, 20.0, 10.0, 0.0])
    np.testing.assert_allclose(p.load_w, [2.0, 2.0, 0.0, 0.0])
    assert p.total_w == pytest.approx(344.0)


def test_packet_rates_are_converted_to_bits():
    net = _triangle(rate_unit="packet/s", rate=1.25e5, packet_length_bits=8000.0)  # 1 Gbit/s
    assert network_power(net, _design(net), PROFILE).total_w == pytest.approx(344.0)


@pytest.mark.parametrize("shape, port_w, load_w", [
    ("on-off", 10.0, 20.0),                       # full 20 W as soon as traffic flows
    ("linear", 10.0, 20.0 * 0.5),
    ("cubic", 10.0, 20.0 * 0.5 ** 3),
    ("log", 10.0, 20.0 * math.log2(1.5)),
    ("proportional", 0.0, (10.0 + 20.0) * 0.5),  # no idle port power, all of it scales with load
])
def test_load_shapes_on_one_port_at_half_load(shape, port_w, load_w):
    net = build_network(name="one", nodes=[Node("a"), Node("b")], links=[Link("ab", "a", "b", 10e9)],
                        demands=[Demand("k", "a", "b", 5e9)], link_model="directed")
    profile = PowerProfile("p", 0.0, 10.0, shape, 2.0, 10e9)
    p = network_power(net, Design.for_network(net, Routing.from_paths([(0, [0], 1.0)])), profile)
    np.testing.assert_allclose(p.port_w, [port_w, port_w])  # the head end of the link is a port too
    np.testing.assert_allclose(p.load_w, [load_w, 0.0])     # ... but transmits nothing


def test_incremental_power_by_hand_and_as_a_difference():
    net = _triangle()
    design = _design(net)
    model = NodePowerModel.for_network(net, PROFILE)
    flow = design.arc_flow(net)
    # 0.5 Gbit/s more over a -> c (link ac is off): two ports 20 W + 0.5 Gbit/s · 2 W = 21 W
    added = incremental_power_w(net, model, flow, design.link_on, design.node_on, np.array([2]), 0.5e9)
    assert added == pytest.approx(21.0)
    # over a -> b -> c: only the load of ports a and b grows, 2 × 1 W
    assert incremental_power_w(net, model, flow, design.link_on, design.node_on,
                               np.array([0, 1]), 0.5e9) == pytest.approx(2.0)
    # the difference of network_power before and after, with a cubic shape and node d switched on
    net_d = replace_network(net, links=net.links + (Link("cd", "c", "d", 10e9),))
    before = Design.for_network(net_d, design.routing, link_on=[True, True, False, False],
                                node_on=[True, True, True, False])
    cubic = NodePowerModel.for_network(net_d, PowerProfile("c", 100.0, 10.0, "cubic", 2.0, 10e9))
    path = np.array([0, 1, 3])  # a -> b -> c -> d, 3 Gbit/s more
    delta = incremental_power_w(net_d, cubic, before.arc_flow(net_d), before.link_on, before.node_on, path, 3e9)
    # chassis d 100 W + ports of cd 20 W + cubic load 20·(2·0.4³ + 0.3³) − 20·(2·0.1³)
    assert delta == pytest.approx(100.0 + 20.0 + 20 * (2 * 0.4 ** 3 + 0.3 ** 3) - 20 * 2 * 0.1 ** 3)
    p1 = 400.0 + 60.0 + 20 * (2 * 0.4 ** 3 + 0.3 ** 3)  # 4 chassis, 6 ports, load
    assert network_power(net_d, before, cubic).total_w + delta == pytest.approx(p1)


def test_missing_profile_names_the_node():
    net = _triangle()
    with pytest.raises(InvalidInputError, match=r"node 'c': no power profile \(2 nodes without one\)"):
        network_power(net, _design(net), {"a": PROFILE, "b": PROFILE})


def test_shipped_cards_load_and_are_idle_dominated():
    for name in ("core-router", "small-router"):
        profile = load_power_profile(CARDS / f"{name}.toml")
        assert profile.name == name and "et al." in profile.source
        # load part at full reference load: a few % to ~10% of a port's idle power plus chassis share
        assert 0.01 < profile.full_load_w / profile.port_w <= 0.25
        assert profile.full_load_w < 0.1 * (profile.chassis_w + 4 * profile.port_w)


def test_node_profiles_from_node_attributes():
    net = build_network(name="n", nodes=[Node("a", power_profile="core-router"), Node("b")],
                        links=[Link("ab", "a", "b", 1e9)], demands=[])
    profiles = load_node_profiles(net, CARDS, default="small-router")
    assert (profiles["a"].name, profiles["b"].name) == ("core-router", "small-router")
    with pytest.raises(InvalidInputError, match=r"node 'b': no power_profile and no default"):
        load_node_profiles(net, CARDS)


GOOD = """
source = "test"
chassis_w = 1.0
port_w = 2.0
[load]
shape = "linear"
w_per_gbps = 0.5
reference_capacity_bps = 1e9
"""


@pytest.mark.parametrize("text, message", [
    ("chasis_w = 3.0\n" + GOOD, r"bad\.toml: unknown key 'chasis_w'"),
    (GOOD.replace("port_w = 2.0", "port_w = -2.0"), r"bad\.toml: port_w must be a finite number >= 0, got -2.0 W"),
    (GOOD.replace("chassis_w = 1.0\n", ""), r"bad\.toml: missing key 'chassis_w'"),
    (GOOD.replace('"linear"', '"quadratic"'), r"bad\.toml: load.shape must be one of .* got 'quadratic'"),
    (GOOD + "speed = 1\n", r"unknown key 'load.speed'"),
    (GOOD.replace("1e9", "0"), r"load.reference_capacity_bps must be a finite number > 0, got 0 bit/s"),
    (GOOD.replace('source = "test"', ""), r"missing key 'source'"),
    (GOOD.replace("w_per_gbps = 0.5", 'w_per_gbps = "0.5"'), r"load.w_per_gbps must be a finite number"),
    ("chassis_w = ", r"bad\.toml: invalid TOML"),
])
def test_bad_cards_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        load_power_profile(path)


def test_good_card_defaults(tmp_path):
    path = tmp_path / "edge.toml"
    path.write_text(GOOD)
    profile = load_power_profile(path)
    assert (profile.name, profile.description, profile.load_shape) == ("edge", "", "linear")
    assert profile.full_load_w == pytest.approx(0.5)  # 0.5 W per Gbit/s at 1 Gbit/s
