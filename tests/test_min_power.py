"""Min-power MILP: enumeration of every on/off pattern, delay bound, checker, infeasibility."""
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.evaluators.power import PowerProfile, network_power
from topo_opt.io.detect import read_instance
from topo_opt.io.power_profile import load_power_profile
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.solve.checker import check_result
from topo_opt.solve.min_power import min_delay_all_on, solve_min_power

ROOT = Path(__file__).resolve().parents[1]
# no load-dependent part: the power of a design is a function of its on/off pattern alone
IDLE = PowerProfile("idle", chassis_w=100.0, port_w=10.0, load_shape="linear",
                    load_w_per_gbps=0.0, reference_capacity_bps=1e9)


def _square():
    """Ring a-b-c-d-a plus chord a-c, 1 Gbit/s; one demand a -> c of 0.5 Gbit/s."""
    return build_network(
        name="square", nodes=[Node(x) for x in "abcd"],
        links=[Link("ab", "a", "b", 1e9), Link("bc", "b", "c", 1e9), Link("cd", "c", "d", 1e9),
               Link("da", "d", "a", 1e9), Link("ac", "a", "c", 1e9)],
        demands=[Demand("ac", "a", "c", 5e8)], packet_length_bits=8000.0)


def _enumerate(net, t_max):
    """Least power over all link subsets whose min-delay routing meets T ≤ t_max (brute force)."""
    best = math.inf, None
    for pattern in itertools.product([False, True], repeat=net.n_links):
        links = tuple(link for link, on in zip(net.links, pattern) if on)
        if not links:
            continue
        sub = net.replace(links=links)
        try:
            t = solve_min_delay_gp(sub, gap=1e-9).objective
        except InfeasibleError:
            continue
        if t > t_max:
            continue
        nodes = {d.source for d in net.demands} | {d.target for d in net.demands}
        nodes |= {x for link in links for x in (link.source, link.target)}
        power = IDLE.chassis_w * len(nodes) + 2 * IDLE.port_w * len(links)
        best = min(best, (power, pattern), key=lambda x: x[0])
    return best


def test_switching_links_off_is_optimal_by_enumeration():
    net = _square()
    t_max = 3 * min_delay_all_on(net)
    result = solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9)
    power, pattern = _enumerate(net, t_max)
    assert result.status.value == "optimal"
    assert result.objective == pytest.approx(power) and result.lower_bound == pytest.approx(power)
    # only the chord a-c stays on, b and d are switched off
    assert result.details["links_off"] == ["ab", "bc", "cd", "da"]
    assert result.details["nodes_off"] == ["b", "d"]
    assert pattern == (False, False, False, False, True)
    assert check_result(net, result, power=IDLE) == []


def test_tight_delay_bound_forces_a_link_back_on():
    net = _square()
    sub = net.replace(links=(net.links[4],))
    t_chord = solve_min_delay_gp(sub).objective  # delay with the chord alone
    t_max = 0.9 * t_chord
    result = solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9)
    power, _ = _enumerate(net, t_max)
    assert result.objective == pytest.approx(power)
    assert len(result.details["links_off"]) < 4  # a second route a-b-c or a-d-c is back on
    assert result.details["average_delay_s"] <= t_max * (1 + 1e-6)
    assert check_result(net, result, power=IDLE) == []


def test_delay_bound_below_minimum_is_infeasible_with_reason():
    net = _square()
    t_star = min_delay_all_on(net)
    with pytest.raises(InfeasibleError, match=r"T_max = .* s is below the minimum average delay"):
        solve_min_power(net, IDLE, max_delay_s=0.99 * t_star)


def test_utilisation_cap_below_min_max_utilisation_is_infeasible():
    net = _square()  # the 0.5 Gbit/s demand split over 3 routes: U* = 1/6
    with pytest.raises(InfeasibleError, match=r"below utilisation 0.1 \(min max-utilisation 0.16666"):
        solve_min_power(net, IDLE, max_utilization=0.1)


def test_bad_input():
    with pytest.raises(InvalidInputError, match="needs a delay bound T_max or max_utilization < 1"):
        solve_min_power(_square(), IDLE)
    cubic = PowerProfile("c", 1.0, 1.0, "cubic", 1.0, 1e9)
    with pytest.raises(InvalidInputError, match=r"node 'a': load shape 'cubic' is not linear"):
        solve_min_power(_square(), cubic, max_utilization=0.9)


def test_real_instance_checker_recomputes_power_and_delay():
    net = read_instance(ROOT / "instances" / "abilene.json")
    profile = load_power_profile(ROOT / "models" / "power" / "core-router.toml")
    all_on = solve_min_delay_gp(net, gap=1e-6)
    t_max = 1.5 * all_on.objective
    result = solve_min_power(net, profile, max_delay_s=t_max, gap=1e-3)
    assert result.success and result.gap <= 1e-3
    assert check_result(net, result, power=profile) == []
    assert result.details["average_delay_s"] <= t_max * (1 + 1e-6)
    # switching off saves power against min-delay routing with everything on
    assert result.objective < network_power(net, all_on.design, profile).total_w
    assert len(result.details["links_off"]) >= 1
    assert np.isclose(result.objective, network_power(net, result.design, profile).total_w)
