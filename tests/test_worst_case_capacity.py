"""Capacity design under per-demand worst-case deadlines: closed forms, and every deadline met when
the design is re-evaluated by the network-calculus evaluator."""
import math
from pathlib import Path

import numpy as np
import pytest

from topo_opt.errors import InfeasibleError
from topo_opt.evaluators.worst_case import worst_case_delays
from topo_opt.io.native_json import loads_json
from topo_opt.model.network import Demand, Link, Module, Node
from topo_opt.model.traffic import traffic_descriptors
from topo_opt.model.validation import build_network, replace_network
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.dispatch import solve
from topo_opt.solve.worst_case_capacity import solve_worst_case_capacity

ROOT = Path(__file__).resolve().parents[1]


def tandem():
    """A - B - C, one demand A→C over both links: the bound is a_1/C_1 + a_2/C_2 (+ nothing)."""
    nodes = [Node("A"), Node("B"), Node("C")]
    links = [Link("AB", "A", "B", 1e9, capacity_cost=2.0), Link("BC", "B", "C", 1e9, capacity_cost=0.5)]
    return build_network(name="tandem", nodes=nodes, links=links, link_model="directed",
                         demands=[Demand("AC", "A", "C", 1e6, burst=88_000.0)])


def test_tandem_design_is_the_square_root_law():
    """min Σ d_l C_l s.t. Σ a_l/C_l ≤ D gives C_l = √(a_l/d_l) Σ_j √(a_j d_j)/D, cost (Σ√(a d))²/D."""
    network = tandem()
    traffic = traffic_descriptors(network, max_packet=12_000.0)
    D = 1e-3
    result = solve_worst_case_capacity(network, traffic, routing_rule="min-hop", deadline=D)
    a = np.array([100_000.0, 100_000.0])  # M + β on both hops
    d = np.array([2.0, 0.5])
    expected = np.sqrt(a / d) * np.sqrt(a * d).sum() / D
    assert result.design.link_capacity == pytest.approx(expected, rel=1e-6)
    assert result.objective == pytest.approx(np.sqrt(a * d).sum() ** 2 / D, rel=1e-9)
    assert result.lower_bound <= result.objective and result.gap <= 1e-6
    assert result.status.value == "optimal"


def test_single_link_capacity_is_burst_over_slack_or_the_load_cap():
    network = replace_network(tandem(), demands=[Demand("AB", "A", "B", 1e6, burst=48_000.0)])
    traffic = traffic_descriptors(network, max_packet=12_000.0)
    result = solve_worst_case_capacity(network, traffic, routing_rule="min-hop", deadline=1e-3)
    assert result.design.link_capacity[0] == pytest.approx(60_000.0 / 1e-3, rel=1e-9)
    loose = solve_worst_case_capacity(network, traffic, routing_rule="min-hop", deadline=10.0, max_utilization=0.5)
    assert loose.design.link_capacity[0] == pytest.approx(2e6, rel=1e-9)  # load / utilisation cap


@pytest.mark.parametrize("instance, deadline", [("abilene", 0.03), ("six-node", 2e-4), ("geant", "installed")])
def test_design_meets_every_deadline_when_re_evaluated(instance, deadline):
    network = loads_json((ROOT / "instances" / f"{instance}.json").read_text())
    card = load_card(ROOT / "models/capacity-worst-case-deadline.toml",
                     (f"deadline.max_delay_s={deadline!r}".replace("'", '"'),))
    result = solve(network, card)
    assert check_result(network, result) == []
    assert result.status.value == "optimal" and result.gap <= 1e-6
    traffic = traffic_descriptors(network)
    bounds = worst_case_delays(network, result.design, traffic, ("regulated",)).demand_delay_s["regulated"]
    deadline_k = np.asarray(result.details["deadline_s"])
    assert np.all(bounds <= deadline_k * (1 + 1e-9))
    assert np.max(bounds / deadline_k) == pytest.approx(1.0, rel=1e-6)  # tight somewhere: nothing wasted
    load = network.queue_load(result.design.arc_flow(network))
    assert np.all(load <= 0.95 * network.queue_capacity(result.design.link_capacity) * (1 + 1e-12))


def test_class_deadlines_and_an_impossible_deadline():
    network = loads_json((ROOT / "instances" / "abilene.json").read_text())
    traffic = traffic_descriptors(network)
    with pytest.raises(InfeasibleError, match="does not exceed the propagation and processing delay"):
        solve_worst_case_capacity(network, traffic, routing_rule="min-hop", deadline=1e-3)
    network = replace_network(network, demands=[Demand(d.id, d.source, d.target, d.rate,
                                              demand_class="voice" if k % 2 else "default")
                                       for k, d in enumerate(network.demands)])
    result = solve_worst_case_capacity(network, traffic, routing_rule="min-hop", deadline=0.04,
                                       class_deadline={"voice": 0.03})
    deadline_k = np.asarray(result.details["deadline_s"])
    assert set(deadline_k[1::2]) == {0.03} and set(deadline_k[::2]) == {0.04}
    assert result.details["max_bound_over_deadline"] <= 1 + 1e-9 and math.isfinite(result.lower_bound)


def modular_tandem(modules_ab, modules_bc):
    """A - B - C without capacity, modules per link; A→C (1 Mbit/s, burst 88 kbit) and A→B
    (5 Mbit/s, burst 188 kbit)."""
    links = [Link("AB", "A", "B", 0.0, modules=modules_ab), Link("BC", "B", "C", 0.0, modules=modules_bc)]
    return build_network(name="tandem", nodes=[Node("A"), Node("B"), Node("C")], links=links,
                         link_model="directed", demands=[Demand("AC", "A", "C", 1e6, burst=88_000.0),
                                                         Demand("AB", "A", "B", 5e6, burst=188_000.0)])


def test_modular_design_matches_brute_force_over_levels():
    """Tandem with modules of 40 and 100 (rate unit) per link: enumerate every pair of levels."""
    import itertools

    from topo_opt.model.costs import capacity_levels
    from topo_opt.solve.worst_case_capacity import solve_worst_case_modular

    mods = (Module(40e6, 3.0), Module(100e6, 6.0))
    network = modular_tandem(mods, mods)
    traffic = traffic_descriptors(network, max_packet=12_000.0)
    D = 4e-3
    result = solve_worst_case_modular(network, traffic, routing_rule="min-hop", deadline=D,
                                      keep_installed=False, max_added_capacity=500e6)
    levels = capacity_levels(network, 500e6, False)
    best = math.inf
    by_link = [np.flatnonzero(levels.link == l) for l in range(2)]
    for i, j in itertools.product(*by_link):
        c1, c2 = levels.capacity[i], levels.capacity[j]
        if c1 < 6e6 / 0.95 or c2 < 1e6 / 0.95:
            continue
        hop1 = (12_000 + 88_000 + 188_000) / c1  # both demands cross AB
        if hop1 + (12_000 + 88_000) / c2 <= D and hop1 <= D:
            best = min(best, levels.cost[i] + levels.cost[j])
    assert result.objective == pytest.approx(best, rel=1e-12)
    assert result.status.value == "optimal" and result.details["max_bound_over_deadline"] <= 1


def test_modular_design_from_scratch_meets_deadlines_and_costs_at_least_the_continuous_bound():
    network = loads_json((ROOT / "instances" / "abilene.json").read_text())
    card = load_card(ROOT / "models/capacity-worst-case-deadline.toml",
                     ("deadline.max_delay_s=0.03", "capacity.modular=true", "capacity.keep_installed=false"))
    modular = solve(network, card)
    continuous = solve(network, load_card(ROOT / "models/capacity-worst-case-deadline.toml",
                                          ("deadline.max_delay_s=0.03",)))
    assert check_result(network, modular) == []
    assert modular.objective >= continuous.lower_bound  # module cost ≥ cheapest unit cost × capacity
    bounds = worst_case_delays(network, modular.design, traffic_descriptors(network),
                               ("regulated",)).demand_delay_s["regulated"]
    assert np.all(bounds <= 0.03 * (1 + 1e-12)) and modular.gap <= 1e-4


def test_token_rates_above_the_mean_rate_set_the_load_cap():
    network = replace_network(tandem(), demands=[Demand("AB", "A", "B", 1e6, burst=48_000.0, token_rate=3e6)])
    traffic = traffic_descriptors(network, max_packet=12_000.0)
    result = solve_worst_case_capacity(network, traffic, routing_rule="min-hop", deadline=10.0, max_utilization=0.5)
    assert result.design.link_capacity[0] == pytest.approx(6e6, rel=1e-9)  # token rate / cap, not rate / cap
    assert result.details["max_bound_over_deadline"] <= 1


def test_modular_bound_holds_over_every_module_combination():
    """Modules of 10 Mbit/s up to 500 Mbit/s: 51 levels per link, thinned to 20.  Enumerating every
    module count on both links gives the optimum; the listed levels alone miss it (their MILP
    bound, the bound reported before, exceeds it), the reported bound does not."""
    import itertools

    from topo_opt.solve.worst_case_capacity import solve_worst_case_modular

    network = modular_tandem((Module(10e6, 1.0),), (Module(10e6, 2.0),))
    traffic = traffic_descriptors(network, max_packet=12_000.0)
    D = 2e-3
    result = solve_worst_case_modular(network, traffic, routing_rule="min-hop", deadline=D,
                                      keep_installed=False, max_added_capacity=500e6)
    optimum = math.inf
    for n1, n2 in itertools.product(range(51), range(51)):
        c1, c2 = 10e6 * n1, 10e6 * n2
        if c1 < 6e6 / 0.95 or c2 < 1e6 / 0.95:
            continue
        hop1 = (12_000 + 88_000 + 188_000) / c1  # both demands cross AB
        if hop1 + (12_000 + 88_000) / c2 <= D:
            optimum = min(optimum, n1 * 1.0 + n2 * 2.0)
    assert result.details["levels_truncated_links"] == ["AB", "BC"]
    assert result.details["listed_levels_bound"] > optimum  # the listed levels' bound is not valid here
    assert result.lower_bound <= optimum <= result.objective
    assert result.status.value == "iteration_limit" and "every module combination" in result.message
