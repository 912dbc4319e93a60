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
from topo_opt.model.validation import replace_network
from topo_opt.evaluators.design_check import check_result
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
        sub = replace_network(net, links=links)
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
    sub = replace_network(net, links=(net.links[4],))
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
    with pytest.raises(InfeasibleError, match=r"below utilisation 0.1 \(min max-utilisation >= 0\.1\d*; "
                                              r"saturated links ") as info:
        solve_min_power(net, IDLE, max_utilization=0.1)
    assert 0.1 <= info.value.details["max_utilization_lower_bound"] <= (1 + 1e-9) / 6


def test_bad_input():
    with pytest.raises(InvalidInputError, match="needs a delay bound T_max or D_max, or max_utilization < 1"):
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


# ---- per-demand end-to-end bound D_max (candidate paths) and the geant regression ----------
LOADED = PowerProfile("loaded", chassis_w=100.0, port_w=10.0, load_shape="linear",
                      load_w_per_gbps=5.0, reference_capacity_bps=1e9)


def _detour():
    """a -> c over a long direct link (2000 km, 10 ms) or via b or d (100 km + 100 km); b -> c."""
    return build_network(
        name="detour", nodes=[Node(x) for x in "abcd"],
        links=[Link("ac", "a", "c", 1e9, length_m=2e6), Link("ab", "a", "b", 1e9, length_m=1e5),
               Link("bc", "b", "c", 1e9, length_m=1e5), Link("ad", "a", "d", 1e9, length_m=1e5),
               Link("dc", "d", "c", 1e9, length_m=1e5)],
        demands=[Demand("ac", "a", "c", 6e8), Demand("bc", "b", "c", 3e8)], packet_length_bits=8000.0)


def _enumerate_single_path(net, profile, d_max):
    """Least power over every single-path routing whose demands all meet D_max (brute force)."""
    from topo_opt.algorithms.path_enumeration import all_simple_paths
    from topo_opt.evaluators.metrics import evaluate_design
    from topo_opt.model import Design, Routing

    best = math.inf, None
    for choice in itertools.product(*all_simple_paths(net, 100)):
        routing = Routing.from_paths((k, p, 1.0) for k, p in enumerate(choice))
        flow = routing.arc_flow(net.demand_rate, net.n_arcs)
        link_on = np.bincount(net.arc_link, weights=flow, minlength=net.n_links) > 0
        node_on = np.zeros(net.n_nodes, dtype=bool)
        node_on[net.arc_tail[flow > 0]] = node_on[net.arc_head[flow > 0]] = True
        design = Design.for_network(net, routing, link_on=link_on, node_on=node_on)
        metrics = evaluate_design(net, design)
        if metrics.saturated or metrics.demand_worst_delay_s.max() > d_max:
            continue
        best = min(best, (network_power(net, design, profile).total_w, choice), key=lambda x: x[0])
    return best


def test_demand_delay_bound_forces_a_detour_by_enumeration():
    from topo_opt.evaluators.metrics import evaluate_design

    net = _detour()
    loose = solve_min_power(net, LOADED, max_demand_delay_s=0.1, gap=1e-9)
    assert loose.details["links_off"] == ["ab", "ad", "dc"]  # a -> c direct, b -> c; d off
    d_max = 5e-3  # below the 10 ms propagation of the direct link
    tight = solve_min_power(net, LOADED, max_demand_delay_s=d_max, gap=1e-9)
    power, choice = _enumerate_single_path(net, LOADED, d_max)
    assert tight.status.value == "optimal" and tight.details["candidates_complete"]
    assert tight.objective == pytest.approx(power, rel=1e-9)
    assert tight.lower_bound == pytest.approx(power, rel=1e-7)
    assert tight.objective > loose.objective  # the bound costs power: router b or d, more ports
    assert "ac" in tight.details["links_off"]
    assert check_result(net, tight, power=LOADED) == []
    worst = evaluate_design(net, tight.design).demand_worst_delay_s
    assert np.all(worst <= d_max) and tight.details["max_demand_delay_s"] == pytest.approx(worst.max())


def test_demand_delay_bound_with_queueing_on_a_real_instance():
    from topo_opt.evaluators.metrics import evaluate_design

    net = read_instance(ROOT / "instances" / "abilene.json")
    profile = load_power_profile(ROOT / "models" / "power" / "core-router.toml")
    free = solve_min_power(net, profile, max_delay_s=2 * min_delay_all_on(net), gap=1e-4)
    free_worst = evaluate_design(net, free.design).demand_worst_delay_s.max()
    d_max = 0.9 * free_worst  # the splittable optimum's worst demand breaks it
    result = solve_min_power(net, profile, max_delay_s=2 * min_delay_all_on(net),
                             max_demand_delay_s=d_max, gap=1e-4)
    assert result.success and check_result(net, result, power=profile) == []
    assert evaluate_design(net, result.design).demand_worst_delay_s.max() <= d_max * (1 + 1e-6)
    assert result.objective >= free.lower_bound


def test_demand_delay_bound_below_every_path_names_the_demand():
    with pytest.raises(InfeasibleError, match=r"demand 'ac' \('a' -> 'c'\): none of its loop-free paths "
                                              r"meets D_max = 0.0001 s even at zero load"):
        solve_min_power(_detour(), LOADED, max_demand_delay_s=1e-4)


def test_card_runs_the_milp_with_a_demand_bound():
    from topo_opt.solve.cards import load_card
    from topo_opt.solve.dispatch import solve

    net = _detour()
    card = load_card(ROOT / "models" / "earp-min-power.toml",
                     ("constraints.max_demand_delay_s=5e-3", "constraints.max_delay_factor=0"))
    result = solve(net, card)
    assert result.method == "min-power-milp" and result.details["max_delay_s"] is None
    assert result.details["max_demand_delay_s"] <= 5e-3


def test_geant_design_power_equals_the_milp_incumbent():
    """Regression: HiGHS returned a −8e-7 flow unit (demand pt -> lu of 1e6 bit/s at a flow unit
    of 1.2e12 bit/s) on a reverse arc; the decomposition then failed and the min-delay fallback
    re-routed everything, drawing 1.6 % above the MILP bound."""
    net = read_instance(ROOT / "instances" / "geant.json")
    profile = load_power_profile(ROOT / "models" / "power" / "core-router.toml")
    result = solve_min_power(net, profile, max_delay_s=1.5 * min_delay_all_on(net), gap=1e-4)
    assert result.status.value == "optimal" and result.gap <= 2e-4
    assert result.objective == pytest.approx(result.details["milp_incumbent_w"], rel=1e-6)
    assert check_result(net, result, power=profile) == []


def test_bench_compares_power_methods_against_the_milp_bound():
    from topo_opt.batch.benchmark import run_benchmark

    net = read_instance(ROOT / "instances" / "six-node.json")
    runs = {r.record["method"]: r.record for r in
            run_benchmark([("six", net)], ["milp-power", "earp", "splittable"], 1, 30.0)}
    milp, earp = runs["milp-power"], runs["earp"]
    assert milp["objective_unit"] == earp["objective_unit"] == "W"
    assert earp["best_bound"] == milp["lower_bound"] and earp["objective"] >= milp["lower_bound"]
    assert earp["gap_to_best_bound"] == pytest.approx((earp["objective"] - milp["lower_bound"]) / earp["objective"])
    assert runs["splittable"]["best_bound"] == runs["splittable"]["lower_bound"]  # seconds: not mixed with W


def _islands():
    """Triangle a-b-c and pair d-e, joined through transit routers t, u (ring c-t-d-e-u-a);
    demands a -> b (1.2 Gbit/s: more than one 1 Gbit/s link), b -> c and d -> e."""
    return build_network(
        name="islands", nodes=[Node(x) for x in ("a", "b", "c", "d", "e", "t", "u")],
        links=[Link(s + d, s, d, 1e9) for s, d in ("ab", "bc", "ca", "ct", "td", "de", "eu", "ua")],
        demands=[Demand("ab", "a", "b", 1.2e9), Demand("bc", "b", "c", 3e8), Demand("de", "d", "e", 3e8)],
        packet_length_bits=8000.0)


def test_switching_cuts_on_a_closed_form_and_never_cut_off_the_enumerated_optimum():
    """|E| − k = 5 − 2 links at least, two across {a} (1.2 Gbit/s over 1 Gbit/s links), two at
    each transit router that is on; the enumerated optimum satisfies every row and the MILP
    reaches it."""
    import pyomo.environ as pyo

    from topo_opt.evaluators.power import NodePowerModel
    from topo_opt.formulations.switching import build_min_power_model, demand_end_points, fewest_links

    net = _islands()
    ends, components = demand_end_points(net)
    assert ends.tolist() == [True] * 5 + [False] * 2 and components == 2
    assert fewest_links([1.0, 3.0, 2.0], 3.5) == 2 and fewest_links([1.0, 1.0], 0.5) == 1
    assert fewest_links([1.0, 1.0], 5.0) == 2  # short of the demand: all of them
    model = build_min_power_model(net, NodePowerModel.for_network(net, IDLE))
    assert model.spanning_forest.lower == 3 and len(model.transit_degree) == 2
    assert max(row.lower for row in model.cut_links.values()) == 2
    for factor in (4.0, 1.02):
        t_max = factor * min_delay_all_on(net)
        power, pattern = _enumerate(net, t_max)
        result = solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9)
        assert result.objective == pytest.approx(power) and result.lower_bound == pytest.approx(power, rel=1e-6)
        assert check_result(net, result, power=IDLE) == []
        on = np.array(pattern, dtype=bool)
        for l in range(net.n_links):
            model.link_on[l].set_value(float(on[l]))
        for n, node in enumerate(net.nodes):
            model.node_on[n].set_value(float(ends[n] or on[(net.link_source == n) | (net.link_target == n)].any()))
        rows = [model.spanning_forest, *model.transit_degree.values(), *model.cut_links.values()]
        assert all(pyo.value(row.body) >= row.lower - 1e-9 for row in rows)
    assert on.sum() > 3  # the tight bound keeps more than a forest on


def test_trim_dead_ends_keeps_the_links_a_routing_can_use():
    from topo_opt.algorithms.power_start import trim_dead_ends

    net = _islands()
    # the whole ring but u-a: t and u are transit, u hangs off e alone (dead end)
    on = np.array([True, True, True, True, True, True, True, False])
    assert trim_dead_ends(net, on).tolist() == [True] * 6 + [False, False]
    # a dangling t-d: t is a transit router of degree one
    assert trim_dead_ends(net, np.array([True, True, True, False, True, False, False, False])).tolist() \
        == [True, True, True, False, False, False, False, False]
    cycle = build_network(name="cycle", nodes=[Node(x) for x in "abxyz"],
                          links=[Link(s + d, s, d, 1e9) for s, d in ("ab", "xy", "yz", "zx")],
                          demands=[Demand("ab", "a", "b", 1e8)])
    assert trim_dead_ends(cycle, np.ones(4, dtype=bool)).tolist() == [True, False, False, False]


def test_removal_cost_is_the_flow_times_the_detour_in_first_derivative_lengths():
    from topo_opt.algorithms.power_start import removal_cost
    from topo_opt.evaluators.delay import DelayObjective

    c, f = 1e9, 6e8
    net = build_network(name="triangle", nodes=[Node(x) for x in "abc"],
                        links=[Link(s + d, s, d, c) for s, d in ("ab", "bc", "ca")],
                        demands=[Demand("ab", "a", "b", f)], packet_length_bits=8000.0)
    flow = np.zeros(net.n_arcs)
    flow[0] = f  # a -> b on its own link
    scale = DelayObjective.for_network(net).scale
    # the detour a -> c -> b runs over two empty links of first-derivative length scale/C each
    expected = f * scale * (2 / c - c / (c - f) ** 2)
    cost = removal_cost(net, net.link_capacity, flow, np.arange(3), include_fixed_delay=False)
    assert cost == pytest.approx([expected, 0.0, 0.0])
    path = replace_network(net, links=net.links[:2], demands=(Demand("ac", "a", "c", f),))
    flow = np.zeros(path.n_arcs)
    flow[[0, 1]] = f
    assert np.isinf(removal_cost(path, path.link_capacity, flow, np.arange(2))).all()  # bridges


def test_a_poor_start_gives_way_to_min_delay_routing_on_the_milp_links(monkeypatch):
    """One round whose MILP design misses T_max: min-delay routing on its links meets T_max with
    less power than a start of every link on, so that design is reported, never the start."""
    from topo_opt.solve import min_power

    net = _square()
    t_max = 1.1 * min_delay_all_on(net)
    monkeypatch.setattr(min_power, "switch_off_start", lambda network, *a, **k: (
        np.ones(network.n_links, dtype=bool), np.ones(network.n_nodes, dtype=bool)))
    result = solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9, max_iterations=1)
    assert "the MILP's last design missed T_max: its links with min-delay routing reported" in result.message
    assert result.details["delay_bound_met"] and result.details["links_off"]
    assert result.objective < IDLE.chassis_w * 4 + 2 * IDLE.port_w * 5  # below the all-on start
    assert result.objective >= _enumerate(net, t_max)[0] - 1e-9 >= result.lower_bound - 1e-9
    assert check_result(net, result, power=IDLE) == []


def test_swaps_improve_the_greedy_start_and_keep_t_max(monkeypatch):
    """A 6-node network (found by a seeded random search) where the greedy ends at a design one
    swap (a link on, another off) improves: load power counts, so the longer routes matter."""
    from topo_opt.algorithms import power_start
    from topo_opt.algorithms.support_routing import min_delay_on_support
    from topo_opt.evaluators.power import NodePowerModel
    from topo_opt.model.design import Design

    loaded = PowerProfile("loaded", chassis_w=100.0, port_w=10.0, load_shape="linear",
                          load_w_per_gbps=20.0, reference_capacity_bps=1e9)
    ends = [("n2", "n3", 2), ("n0", "n4", 1), ("n1", "n2", 2), ("n2", "n4", 1), ("n1", "n3", 2),
            ("n3", "n5", 2), ("n3", "n4", 2), ("n0", "n1", 1), ("n1", "n4", 1)]
    net = build_network(
        name="swap", nodes=[Node(f"n{i}") for i in range(6)],
        links=[Link(f"l{i}", s, t, c * 1e9) for i, (s, t, c) in enumerate(ends)],
        demands=[Demand("d0", "n3", "n5", 1.31e8), Demand("d1", "n2", "n5", 5.26e8),
                 Demand("d2", "n1", "n3", 5.2e8), Demand("d3", "n1", "n3", 3.55e8)], packet_length_bits=8000.0)
    t_max = 2.1637980849280292e-05
    power = NodePowerModel.for_network(net, loaded)

    def start_power(states):
        routing = power_start.greedy_routing(net, states[0], t_max)
        return network_power(net, Design.for_network(net, routing, link_on=states[0], node_on=states[1]),
                             loaded).total_w

    swapped = power_start.switch_off_start(net, power, t_max)
    monkeypatch.setattr(power_start, "SWAP_TRIES", 0)
    greedy = power_start.switch_off_start(net, power, t_max)
    assert start_power(swapped) < start_power(greedy) - 1.0
    assert min_delay_on_support(net, np.where(swapped[0], net.link_capacity, 0.0), gap=1e-9).objective <= t_max
    result = solve_min_power(net, loaded, max_delay_s=t_max, gap=1e-9)
    assert result.lower_bound <= result.objective <= start_power(swapped) + 1e-6


@pytest.mark.parametrize("stop", ["interrupted", "time_limit"])
def test_a_milp_stopped_without_incumbent_returns_the_start_with_the_milp_bound(monkeypatch, stop):
    """Ctrl-C (or the limit) before HiGHS has an incumbent of its own: the checked switch-off
    start is the answer, with the dual bound HiGHS proved (here: the bound of the real first MILP,
    its incumbent withheld), status ``interrupted`` (``time_limit``)."""
    import dataclasses

    from topo_opt.errors import SolveInterrupted
    from topo_opt.model.result import Status
    from topo_opt.solve.highs import HighsSolver

    net = read_instance(ROOT / "instances" / "abilene.json")
    profile = load_power_profile(ROOT / "models" / "power" / "core-router.toml")
    t_max = 1.5 * min_delay_all_on(net)
    real, bounds = HighsSolver.solve, []

    def no_incumbent(self, *args, **kwargs):
        outcome = dataclasses.replace(real(self, *args, **kwargs), status=Status(stop), objective=math.nan)
        bounds.append(outcome.bound)
        if stop == "interrupted":
            raise SolveInterrupted(outcome)
        return outcome

    monkeypatch.setattr(HighsSolver, "solve", no_incumbent)
    if stop == "interrupted":
        with pytest.raises(SolveInterrupted) as caught:
            solve_min_power(net, profile, max_delay_s=t_max, gap=1e-6)
        result = caught.value.partial
    else:
        result = solve_min_power(net, profile, max_delay_s=t_max, gap=1e-6)
    assert result.status.value == stop and result.iterations == 0 and len(bounds) == 1
    assert 0 < result.lower_bound == pytest.approx(bounds[0], rel=1e-12) and result.lower_bound <= result.objective
    assert result.details["lower_bound_source"].startswith("MILP dual bound")
    assert "the switch-off start reported" in result.message and result.details["delay_bound_met"]
    assert check_result(net, result, power=profile) == []
    monkeypatch.setattr(HighsSolver, "solve", real)  # the same start is what the full solve starts from
    assert solve_min_power(net, profile, max_delay_s=t_max, gap=1e-6).objective <= result.objective + 1e-9


def test_ctrl_c_in_the_switch_off_start_keeps_its_last_checked_design(monkeypatch):
    """Ctrl-C during the greedy's third check: the last design it adopted (its check met T_max)
    is the answer, status ``interrupted``, no bound (no MILP ran), and it passes the checker."""
    from topo_opt.algorithms import power_start
    from topo_opt.errors import SolveInterrupted

    net = read_instance(ROOT / "instances" / "abilene.json")
    profile = load_power_profile(ROOT / "models" / "power" / "core-router.toml")
    t_max = 1.5 * min_delay_all_on(net)
    real, calls = power_start.min_delay_on_support, []

    def third_is_interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(power_start, "min_delay_on_support", third_is_interrupted)
    with pytest.raises(SolveInterrupted) as caught:
        solve_min_power(net, profile, max_delay_s=t_max, gap=1e-6)
    result = caught.value.partial
    assert result.status.value == "interrupted" and result.iterations == 0
    assert result.lower_bound == -math.inf and result.details["lower_bound_source"].startswith("none")
    assert "switch-off start" in result.message and result.details["delay_bound_met"]
    assert result.details["average_delay_s"] <= t_max * (1 + 1e-6)
    assert check_result(net, result, power=profile) == []
    all_on = network_power(net, solve_min_delay_gp(net, gap=1e-6).design, profile).total_w
    assert result.objective < all_on  # a link was switched off before the signal


def test_ctrl_c_before_the_first_checked_start_design_keeps_nothing(monkeypatch):
    from topo_opt.algorithms import power_start

    net = read_instance(ROOT / "instances" / "abilene.json")
    profile = load_power_profile(ROOT / "models" / "power" / "core-router.toml")
    t_max = 1.5 * min_delay_all_on(net)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(power_start, "min_delay_on_support", interrupted)
    with pytest.raises(KeyboardInterrupt) as caught:
        solve_min_power(net, profile, max_delay_s=t_max)
    assert getattr(caught.value, "partial", None) is None


def _six_routers(name: str, ends: list, demands: list):
    """6 routers n0..n5, links l0.. of ``ends`` (a, b, Gbit/s), demands d0.. of ``demands``
    (source, target, bit/s), 1000-byte packets."""
    return build_network(
        name=name, nodes=[Node(f"n{i}") for i in range(6)],
        links=[Link(f"l{i}", s, t, c * 1e9) for i, (s, t, c) in enumerate(ends)],
        demands=[Demand(f"d{i}", s, t, rate) for i, (s, t, rate) in enumerate(demands)], packet_length_bits=8000.0)


def _pairs():
    """6 routers, 9 links (a seeded random network): from the design of links l0 l2 l4 l5 l7 l8
    (720 W with IDLE) no single link off, nor one on and one off (of the 5 least costly), meets
    T_max = 2 T*(all on) with less power, while one on and two off reaches the optimum, 5 links
    (700 W)."""
    return _six_routers("pairs", [("n0", "n1", 2), ("n0", "n2", 1), ("n0", "n4", 1), ("n0", "n5", 2), ("n1", "n3", 2),
                                  ("n2", "n3", 2), ("n2", "n4", 2), ("n3", "n5", 2), ("n4", "n5", 1)],
                        [("n4", "n2", 5.2e8), ("n5", "n1", 4.8e8), ("n4", "n1", 7.3e8), ("n0", "n1", 5.4e8)])


def test_one_on_two_off_reaches_the_enumerated_optimum_where_single_moves_stop():
    from topo_opt.algorithms.power_start import PAIR_TRIES, DesignCheck, improve_by_swaps
    from topo_opt.algorithms.support_routing import min_delay_on_support
    from topo_opt.evaluators.power import NodePowerModel

    net = _pairs()
    t_max = 2 * min_delay_all_on(net)
    optimum, _ = _enumerate(net, t_max)
    check = DesignCheck(net, NodePowerModel.for_network(net, IDLE), t_max)
    on = np.isin(np.arange(net.n_links), [0, 2, 4, 5, 7, 8])
    routed = check.routing(on)
    start_w = check.watts(on, routed)
    assert start_w == 720.0 > optimum == 700.0
    single = improve_by_swaps(check, on, routed, start_w, tries=PAIR_TRIES, pairs=False)
    assert single[2] == start_w and (single[0] == on).all()  # stuck: no single move improves
    offered = []
    on_end, routed_end, end_w = improve_by_swaps(check, on, routed, start_w, tries=PAIR_TRIES, pairs=True,
                                                 offer=lambda *found: offered.append(found))
    assert end_w == pytest.approx(optimum) and on_end.sum() == 5
    powers = [start_w] + [w for *_, w in offered]
    assert all(b < a for a, b in zip(powers, powers[1:]))  # never worse, every step better
    for links, routing, w in offered:  # every design offered meets T_max (certified, gap 1e-9)
        assert w == check.watts(links, routing)
        assert min_delay_on_support(net, np.where(links, net.link_capacity, 0.0), gap=1e-9).objective <= t_max


def _cut_short(monkeypatch):
    """A poor MIP start (every link on) and HiGHS stopped at a relative gap of 10 (1000 %)."""
    from topo_opt.solve import min_power
    from topo_opt.solve.highs import HighsSolver

    real = HighsSolver.solve
    monkeypatch.setattr(HighsSolver, "solve", lambda self, *a, **k: real(self, *a, **{**k, "mip_rel_gap": 10.0}))
    monkeypatch.setattr(min_power, "switch_off_start", lambda network, *a, **k: (
        np.ones(network.n_links, dtype=bool), np.ones(network.n_nodes, dtype=bool)))


def test_the_search_after_a_cut_short_milp_reaches_the_enumerated_optimum(monkeypatch):
    """One MILP round cut short leaves a 740-W design; the search after it ends at the
    enumerated optimum (700 W), proven optimal by the MILP's bound, and passes the checker."""
    net = _pairs()
    t_max = 2 * min_delay_all_on(net)
    _cut_short(monkeypatch)
    result = solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9, max_iterations=1)
    searched = result.details["local_search"]
    assert searched["from_w"] == result.details["milp_incumbent_w"] == 740.0
    assert searched["improvements"] >= 1 and result.objective == pytest.approx(_enumerate(net, t_max)[0])
    assert result.status.value == "optimal" and "the local search after the MILP lowered" in result.message
    assert result.history[-1]["objective"] == result.objective
    assert check_result(net, result, power=IDLE) == []


def test_ctrl_c_in_the_search_keeps_its_best_checked_design_with_the_milp_bound(monkeypatch):
    from topo_opt.algorithms.power_start import DesignCheck
    from topo_opt.errors import SolveInterrupted
    from topo_opt.solve import min_power

    net = _pairs()
    t_max = 2 * min_delay_all_on(net)
    _cut_short(monkeypatch)
    found, real_search, real_routing = [], min_power.improve_by_swaps, DesignCheck.routing

    def search(check, *args, offer, **kwargs):
        return real_search(check, *args, offer=lambda *a: (found.append(a[2]), offer(*a)), **kwargs)

    def interrupted_after_an_improvement(self, on):
        if found:
            raise KeyboardInterrupt
        return real_routing(self, on)

    monkeypatch.setattr(min_power, "improve_by_swaps", search)
    monkeypatch.setattr(DesignCheck, "routing", interrupted_after_an_improvement)
    with pytest.raises(SolveInterrupted) as caught:
        solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9, max_iterations=1)
    result = caught.value.partial
    assert result.status.value == "interrupted" and "in the local search after the MILP" in result.message
    assert result.objective == found[0] < result.details["local_search"]["from_w"] == 740.0
    assert result.lower_bound == result.history[0]["lower_bound"] > 0 and result.details["delay_bound_met"]
    assert check_result(net, result, power=IDLE) == []


def test_a_start_past_its_deadline_checks_every_link_on_and_stops():
    from topo_opt.algorithms import power_start
    from topo_opt.evaluators.power import NodePowerModel

    net = _pairs()
    power = NodePowerModel.for_network(net, IDLE)
    t_max = 2 * min_delay_all_on(net)
    link_on, _ = power_start.switch_off_start(net, power, t_max, deadline=0.0)  # perf_counter 0: passed
    assert link_on.all()
    assert not power_start.switch_off_start(net, power, t_max)[0].all()  # without it links go off


def test_the_search_from_several_starts_reaches_the_optimum_where_one_start_does_not():
    """On ``_pairs`` single moves from the 720-W design l0 l2 l4 l5 l7 l8 find nothing, while
    from another 720-W design (the optimum and l1) they reach the enumerated optimum: searched
    from both in turn (either order), the best end is the optimum; never worse than the starts."""
    from topo_opt.algorithms.power_start import PAIR_TRIES, DesignCheck, improve_from_each
    from topo_opt.evaluators.power import NodePowerModel

    net = _pairs()
    t_max = 2 * min_delay_all_on(net)
    optimum, pattern = _enumerate(net, t_max)
    check = DesignCheck(net, NodePowerModel.for_network(net, IDLE), t_max)
    starts = []
    for links in ([0, 2, 4, 5, 7, 8], np.flatnonzero(pattern).tolist() + [1]):
        on = np.isin(np.arange(net.n_links), links)
        routed = check.routing(on)
        starts.append((on, routed, check.watts(on, routed)))
    assert [w for *_, w in starts] == [720.0, 720.0] and optimum == 700.0
    assert improve_from_each(check, starts[:1], tries=PAIR_TRIES, pairs=False)[2] == 720.0  # one start: stuck
    for ordered in (starts, starts[::-1]):
        on, routed, w = improve_from_each(check, ordered, tries=PAIR_TRIES, pairs=False)
        assert w == pytest.approx(optimum) and (on == np.asarray(pattern)).all()
        assert w == check.watts(on, routed)
    check.max_checks = check.checks  # exhausted: the starts as they are, the least power of them
    assert improve_from_each(check, starts[::-1], tries=PAIR_TRIES, pairs=False)[2] == 720.0


def _two_orders():
    """6 routers, 9 links (a seeded random network) where the two greedy orders end in different
    designs, so the start searches from the other order's design."""
    return _six_routers("orders", [("n0", "n2", 1), ("n2", "n3", 2), ("n2", "n4", 2), ("n1", "n5", 2), ("n3", "n5", 2),
                                   ("n0", "n1", 2), ("n1", "n3", 1), ("n0", "n4", 1), ("n1", "n2", 2)],
                        [("n2", "n5", 6.9e8), ("n4", "n1", 6.1e8), ("n3", "n1", 2.6e8), ("n1", "n0", 3.7e8)])


def test_ctrl_c_in_the_start_s_search_from_the_other_order_keeps_its_best_checked_design(monkeypatch):
    """Ctrl-C while the start searches from the other greedy order's design: the best design the
    start checked is the answer, status ``interrupted``, no bound, and it passes the checker."""
    from topo_opt.algorithms import power_start
    from topo_opt.errors import SolveInterrupted

    net = _two_orders()
    t_max = 2 * min_delay_all_on(net)
    searched = []

    def interrupted(check, starts, **kwargs):
        searched.append(min(w for *_, w in starts))
        raise KeyboardInterrupt

    monkeypatch.setattr(power_start, "improve_from_each", interrupted)
    with pytest.raises(SolveInterrupted) as caught:
        solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9)
    result = caught.value.partial
    assert searched  # the other order's design was being searched
    assert result.status.value == "interrupted" and result.lower_bound == -math.inf
    assert "switch-off start" in result.message and result.details["delay_bound_met"]
    assert check_result(net, result, power=IDLE) == []
    monkeypatch.undo()
    solved = solve_min_power(net, IDLE, max_delay_s=t_max, gap=1e-9)
    assert solved.status.value == "optimal" and solved.objective == pytest.approx(_enumerate(net, t_max)[0])
    assert solved.objective <= result.objective <= searched[0] + 1e-9  # the greedy's best, or a swap's
