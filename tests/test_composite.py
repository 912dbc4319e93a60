"""Composite goal G = a·r/R₀ + b·Q/Q₀ + c·E/E₀: hand computations, conservation, real instances."""
import math
from pathlib import Path

import numpy as np
import pytest

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.composite import (
    CompositeWeights, attributed_power_w, composite_goal, reference_normalisers,
)
from topo_opt.evaluators.power import PowerProfile, network_power
from topo_opt.io.detect import read_instance
from topo_opt.io.power_profile import load_power_profile
from topo_opt.model import Demand, Design, Link, Node, Routing, build_network
from topo_opt.model.validation import replace_network

ROOT = Path(__file__).resolve().parents[1]
# 100 W chassis, 10 W per port, 2 W per Gbit/s (linear): hand-checkable numbers
PROFILE = PowerProfile("test", chassis_w=100.0, port_w=10.0, load_shape="linear",
                       load_w_per_gbps=2.0, reference_capacity_bps=10e9)


def _line():
    """a - b - c (directed links, 10 Gbit/s), b insecure; demands a→c (1 Gbit/s), a→b (3 Gbit/s)."""
    return build_network(
        name="line", nodes=[Node("a"), Node("b", insecurity=0.6), Node("c")],
        links=[Link("ab", "a", "b", 10e9, length_m=2e5), Link("bc", "b", "c", 10e9)],
        demands=[Demand("ac", "a", "c", 1e9), Demand("ab", "a", "b", 3e9, demand_class="gold")],
        link_model="directed", packet_length_bits=8000.0)


def _line_design(net):
    return Design.for_network(net, Routing.from_paths([(0, [0, 1], 1.0), (1, [0], 1.0)]))


def test_attributed_power_by_hand():
    net = _line()
    energy, idle = attributed_power_w(net, _line_design(net), PROFILE)
    # node a: 4 Gbit/s visit (ac 1, ab 3); b: 4 (ac 1, ab 3); c: 1 (ac)
    # link ab: ports 20 W, 4 Gbit/s; link bc: 20 W, 1 Gbit/s; load: ab 8 W / 4 Gbit/s, bc 2 W
    ac = 100 / 4 + 100 / 4 + 100 + 20 / 4 + 20 + 8 / 4 + 2
    ab = 3 * (100 / 4 + 100 / 4 + 20 / 4 + 8 / 4)
    np.testing.assert_allclose(energy, [ac, ab])
    assert idle == 0.0
    assert energy.sum() == pytest.approx(network_power(net, _line_design(net), PROFILE).total_w)


def test_goal_terms_by_hand_with_given_normalisers():
    net = _line()
    w = CompositeWeights(rejection=2.0, delay=1.0, energy=0.5, rejection_ref=0.5,
                         delay_ref_s=1e-3, energy_ref_w=100.0, rejection_form="max")
    g = composite_goal(net, _line_design(net), w, PROFILE, {"gold": 0.2})
    # rejection max: ac visits b (0.6 − 0 = 0.6); ab visits b with tolerance 0.2: 0.4
    np.testing.assert_allclose(g.rejection, [0.6, 0.4])
    np.testing.assert_allclose(g.rejection_term, 2.0 * np.array([0.6, 0.4]) / 0.5)
    # M/M/1 sojourn 1/(μ − λ), μ = 1.25e6 pkt/s; ab carries 4 Gbit/s (λ = 5e5), bc 1 Gbit/s
    t_ab, t_bc = 1 / (1.25e6 - 5e5), 1 / (1.25e6 - 1.25e5)
    prop = 2e5 / 2e8
    np.testing.assert_allclose(g.delay_s, [t_ab + prop + t_bc, t_ab + prop])
    np.testing.assert_allclose(g.delay_term, g.delay_s / 1e-3)
    np.testing.assert_allclose(g.energy_term, 0.5 * g.energy_w / 100.0)
    np.testing.assert_allclose(g.per_demand, g.rejection_term + g.delay_term + g.energy_term)
    assert g.total == pytest.approx((1 * g.per_demand[0] + 3 * g.per_demand[1]) / 4)


def test_reference_normalisers_closed_form():
    net = _line()
    hop = Design.for_network(net, min_hop_routing(net))
    r0, q0, e0 = reference_normalisers(net, hop, PROFILE, {"gold": 0.2}, "sum")
    # min-hop = the line design; zero-load delay L̄/C + propagation per arc
    tx = 8000 / 10e9
    assert q0 == pytest.approx((1 * (2 * tx + 1e-3) + 3 * (tx + 1e-3)) / 4)
    assert r0 == pytest.approx((1 * 0.6 + 3 * 0.4) / 4)
    energy, _ = attributed_power_w(net, _line_design(net), PROFILE)
    assert e0 == pytest.approx((energy[0] + 3 * energy[1]) / 4)
    # the reference design scores exactly c on energy and a on rejection
    w = CompositeWeights(delay=0.0).resolve(net, hop, PROFILE, {"gold": 0.2})
    g = composite_goal(net, _line_design(net), w, PROFILE, {"gold": 0.2})
    assert g.total == pytest.approx(2.0)
    assert np.all(g.delay_term == 0)


def test_no_insecure_element_gives_unit_rejection_normaliser():
    net = replace_network(_line(), nodes=(Node("a"), Node("b"), Node("c")))
    assert reference_normalisers(net, _line_design(net), PROFILE)[0] == 1.0


def test_split_reference_design_weights_its_paths_zero_load_delay():
    net = replace_network(_line(), links=_line().links + (Link("ac", "a", "c", 10e9),),
                          demands=(Demand("ac", "a", "c", 1e9),))
    split = Design.for_network(net, Routing.from_paths([(0, [0, 1], 0.25), (0, [2], 0.75)]))
    tx = 8000 / 10e9
    assert reference_normalisers(net, split, PROFILE)[1] == pytest.approx(0.25 * (2 * tx + 1e-3) + 0.75 * tx)


def test_unresolved_normalisers_are_an_error():
    net = _line()
    with pytest.raises(InvalidInputError, match="normalisers rejection_ref, delay_ref_s, energy_ref_w are not set"):
        composite_goal(net, _line_design(net), CompositeWeights(), PROFILE)


def test_saturated_design_is_infinite_unless_delay_weight_is_zero():
    net = replace_network(_line(), demands=(Demand("ac", "a", "c", 12e9),))
    design = Design.for_network(net, Routing.from_paths([(0, [0, 1], 1.0)]))
    w = CompositeWeights(rejection_ref=1.0, delay_ref_s=1.0, energy_ref_w=1.0)
    assert composite_goal(net, design, w, PROFILE).total == math.inf
    no_delay = CompositeWeights(delay=0.0, rejection_ref=1.0, delay_ref_s=1.0, energy_ref_w=1.0)
    assert math.isfinite(composite_goal(net, design, no_delay, PROFILE).total)


@pytest.mark.parametrize("kwargs, match", [
    ({"delay": -1.0}, r"composite weight 'delay' must be a finite number >= 0, got -1"),
    ({"energy_ref_w": 0.0}, r"'energy_ref_w' must be a finite number > 0, got 0"),
    ({"rejection_form": "mean"}, r"rejection_form must be one of sum, max, got 'mean'"),
])
def test_bad_weights(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        CompositeWeights(**kwargs)


def test_real_instance_power_is_conserved_and_idle_elements_unattributed():
    net = read_instance(ROOT / "instances" / "abilene.json")
    profile = load_power_profile(ROOT / "models" / "power" / "core-router.toml")
    design = solve_min_delay_gp(net, gap=1e-4).design
    hop = Design.for_network(net, min_hop_routing(net))
    w = CompositeWeights().resolve(net, hop, profile)
    g = composite_goal(net, design, w, profile)
    total = network_power(net, design, profile).total_w
    assert g.energy_w.sum() + g.unattributed_power_w == pytest.approx(total, rel=1e-12)
    assert np.all(g.energy_w > 0) and math.isfinite(g.total)
    # a link switched on but unused shows up as unattributed power, not in any demand
    used = np.bincount(net.arc_link, weights=hop.arc_flow(net), minlength=net.n_links) > 0
    g_hop = composite_goal(net, hop, w, profile)
    assert g_hop.unattributed_power_w == pytest.approx(2 * profile.port_w * (~used).sum())
    # at the reference design the energy term averages to exactly c = 1
    rate = net.demand_rate
    assert rate @ g_hop.energy_term / rate.sum() == pytest.approx(1.0)
