"""Continuous capacity assignment: Kleinrock's square-root rule and CFA.

Oracles: the closed forms of models.md §3 (written out here independently of the code),
scipy's SLSQP for links with two queues, and the shared solution checker.
"""
import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.algorithms.square_root_rule import (
    link_queue_loads, min_cost_for_packets, min_delay_for_budget,
)
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.io.detect import read_instance
from topo_opt.io.sndlib import read_sndlib
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.model.costs import unit_capacity_cost
from topo_opt.model.validation import replace_network
from topo_opt.algorithms.capacity_flow_assignment import solve_capacity_assignment
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.dispatch import solve
from conftest import INSTANCES, benchmark_files


def sqrt_budget(F, d, D):
    """C_a = F_a + D_e √(F_a/d_a)/Σ√(F_b d_b), N* = (Σ√(F d))²/D_e (Kleinrock 1964)."""
    s, spare = np.sum(np.sqrt(F * d)), D - np.sum(d * F)
    return F + spare * np.sqrt(F / d) / s, s ** 2 / spare


def sqrt_delay_bound(F, d, n_max):
    """C_a = F_a + √(F_a/d_a) Σ√(F_b d_b)/N_max."""
    return F + np.sqrt(F / d) * np.sum(np.sqrt(F * d)) / n_max


def as_directed(network):
    """Each link split into two directed links: every queue gets its own capacity (channels)."""
    links = [dataclasses.replace(link, id=f"{link.id}>") for link in network.links] + \
        [dataclasses.replace(link, id=f"{link.id}<", source=link.target, target=link.source)
         for link in network.links]
    return replace_network(network, links=tuple(links), link_model="directed")


def test_budget_form_is_the_square_root_assignment():
    rng = np.random.default_rng(3)
    F, d = rng.uniform(0.1, 10, 20), rng.uniform(0.5, 3, 20)
    budget = 2.5 * d @ F
    ca = min_delay_for_budget(F[:, None], d, budget)
    capacity, n = sqrt_budget(F, d, budget)
    np.testing.assert_allclose(ca.capacity, capacity, rtol=1e-12)
    assert ca.packets == pytest.approx(n, rel=1e-12) and ca.cost == pytest.approx(budget, rel=1e-12)
    assert ca.dual_bound == pytest.approx(n, rel=1e-12)


def test_delay_bound_form_is_the_square_root_assignment():
    rng = np.random.default_rng(4)
    F, d = rng.uniform(0.1, 10, 20), rng.uniform(0.5, 3, 20)
    ca = min_cost_for_packets(F[:, None], d, 7.0)
    np.testing.assert_allclose(ca.capacity, sqrt_delay_bound(F, d, 7.0), rtol=1e-12)
    assert ca.packets == pytest.approx(7.0, rel=1e-12)
    assert ca.dual_bound == pytest.approx(ca.cost, rel=1e-12)


def test_links_with_two_queues_agree_with_slsqp():
    rng = np.random.default_rng(5)
    loads, d = rng.uniform(0, 10, (6, 2)), rng.uniform(0.5, 2, 6)
    budget = 2.0 * d @ loads.max(axis=1)
    ca = min_delay_for_budget(loads, d, budget)

    def n(c):
        return np.sum(loads / (c[:, None] - loads))
    ref = minimize(n, ca.capacity * 1.05 + 0.1, method="SLSQP",
                   constraints=[{"type": "eq", "fun": lambda c: d @ c - budget}],
                   bounds=[(f + 1e-6, None) for f in loads.max(axis=1)],
                   options={"ftol": 1e-14, "maxiter": 1000})
    assert ref.success
    assert ca.packets <= ref.fun * (1 + 1e-9)
    assert ca.packets == pytest.approx(ref.fun, rel=1e-6)
    assert ca.dual_bound == pytest.approx(ca.packets, rel=1e-10)
    # the delay-bound form at that N gives back the budget
    back = min_cost_for_packets(loads, d, ca.packets)
    assert back.cost == pytest.approx(budget, rel=1e-9)


def test_link_queue_loads_pairs_the_directions():
    abilene = read_instance("instances/abilene.json")
    flow = np.arange(abilene.n_arcs, dtype=float)
    loads = link_queue_loads(abilene.queue_load(flow), abilene.queue_link, abilene.n_links)
    assert loads.shape == (abilene.n_links, 2)
    np.testing.assert_array_equal(loads.sum(axis=1), flow[:abilene.n_links] + flow[abilene.n_links:])


@pytest.mark.parametrize("path", benchmark_files("sndlib", "*.txt"), ids=lambda p: p.stem)
def test_every_sndlib_network_matches_the_closed_form(path):
    """On every SNDlib network, min-hop flows, one capacity per direction (Kleinrock's channels)."""
    network = as_directed(read_sndlib(path))
    flow = network.queue_load(min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs))
    d = unit_capacity_cost(network)
    used = flow > 0
    budget = 3.0 * d @ flow
    result = solve_capacity_assignment(network, form="budget", routing_rule="min-hop", target=budget,
                                       include_fixed_delay=False)
    capacity, n = sqrt_budget(flow[used], d[used], budget)
    np.testing.assert_allclose(result.design.link_capacity[used], capacity, rtol=1e-9)
    assert result.objective == pytest.approx(n / network.total_packet_rate, rel=1e-9)
    assert result.gap <= 1e-9 and check_result(network, result) == []
    t_max = 2 * result.objective
    bound = solve_capacity_assignment(network, form="delay-bound", routing_rule="min-hop",
                                      target=t_max, include_fixed_delay=False)
    expected = sqrt_delay_bound(flow[used], d[used], network.total_packet_rate * t_max)
    np.testing.assert_allclose(bound.design.link_capacity[used], expected, rtol=1e-9)


@pytest.fixture(scope="module")
def abilene():
    return read_instance("instances/abilene.json")


@pytest.mark.parametrize("card", ["capacity-min-delay-budget", "capacity-min-cost-delay-bound"])
@pytest.mark.parametrize("rule", ["min-delay", "min-hop", "ecmp", "joint"])
def test_cards_run_and_pass_the_checker(abilene, card, rule):
    # abilene's installed capacities are saturated by min-hop routing (on some ties of its
    # equal-hop paths), where "installed" is no delay bound: a bound of 50 ms instead
    bound = ("constraints.max_delay_s=0.05",) if card.endswith("delay-bound") and rule == "min-hop" else ()
    result = solve(abilene, load_card(f"models/{card}.toml", (f'routing.rule="{rule}"', *bound)))
    assert check_result(abilene, result) == []
    assert result.lower_bound <= result.objective
    if rule != "joint":
        assert result.status.value == "optimal" and result.gap <= 1e-9


def test_installed_delay_bound_of_a_saturated_network_is_rejected():
    net = build_network(name="two", nodes=[Node("a"), Node("b")], links=[Link("ab", "a", "b", 1.0)],
                        demands=[Demand("ab", "a", "b", 2.0)], link_model="directed", rate_unit="packet/s")
    with pytest.raises(InvalidInputError, match="saturated under min-hop routing, so its delay is no bound"):
        solve_capacity_assignment(net, form="delay-bound", routing_rule="min-hop", target="installed")


def test_default_budget_redesign_beats_the_installed_network(abilene):
    """Same cost as installed, capacities re-assigned: delay can only go down."""
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp

    installed = solve_min_delay_gp(abilene, gap=1e-9)
    result = solve(abilene, load_card("models/capacity-min-delay-budget.toml"))
    assert result.objective <= installed.objective
    cost = unit_capacity_cost(abilene) @ result.design.link_capacity
    assert cost == pytest.approx(unit_capacity_cost(abilene) @ abilene.link_capacity, rel=1e-12)


def test_cfa_improves_on_its_start_and_is_reproducible(abilene):
    card = load_card("models/capacity-min-cost-delay-bound.toml", ('routing.rule="joint"',))
    fixed = solve(abilene, load_card("models/capacity-min-cost-delay-bound.toml"))
    first, second = solve(abilene, card), solve(abilene, card)
    assert first.objective <= fixed.objective * (1 + 1e-9)
    assert first.objective == second.objective
    assert first.details["lower_bound_source"].startswith("routing-independent")
    assert 0 < first.lower_bound <= first.objective


def test_bad_parameters(abilene):
    with pytest.raises(InvalidInputError, match="constraints.budget must be a number >= 0"):
        load_card("models/capacity-min-delay-budget.toml", ("constraints.budget=-5",))
    with pytest.raises(InvalidInputError, match="constraints.budget must be one of installed"):
        load_card("models/capacity-min-delay-budget.toml", ('constraints.budget="cheap"',))
    with pytest.raises(InfeasibleError, match="budget 1 does not exceed"):
        solve(abilene, load_card("models/capacity-min-delay-budget.toml", ("constraints.budget=1",)))
    with pytest.raises(InfeasibleError, match="does not exceed the propagation and processing delay"):
        solve(abilene, load_card("models/capacity-min-cost-delay-bound.toml", ("constraints.max_delay_s=1e-4",)))
    no_capacity = replace_network(abilene, links=tuple(dataclasses.replace(link, capacity=0.0) for link in abilene.links))
    with pytest.raises(InvalidInputError, match="links without capacity"):
        solve(no_capacity, load_card("models/capacity-min-delay-budget.toml", ('routing.rule="min-hop"',)))
    assert math.isfinite(solve(no_capacity, load_card("models/capacity-min-delay-budget.toml",
                                                      ('routing.rule="min-hop"', "constraints.budget=1e6"))).objective)


def test_unknown_routing_rule_is_one_line_naming_the_rules():
    network = read_instance(INSTANCES / "six-node.json")
    with pytest.raises(InvalidInputError, match=r"routing rule must be one of min-delay, min-hop, "
                                                r"shortest-length, ecmp, joint, got 'fastest'"):
        solve_capacity_assignment(network, form="budget", routing_rule="fastest", target="installed")
