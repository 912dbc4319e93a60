"""Near capacity: demands at 99.9 % of the maximum concurrent flow are feasible and solved to the
certified gap, at 100.1 % infeasible with the saturated cut -- never "undecided".

Real SNDlib topologies (tests/fixtures/real).  abilene keeps its installed capacities; polska,
nobel-us and geant install none, so every link gets the smallest standard line rate keeping it at
or below 50 % under min-hop routing (the bundled-instance rule).  The demands are then scaled by
``fraction / U*`` (U* the least max utilisation, from the LP), so that the least max utilisation
of the instance is ``fraction``.
"""
import numpy as np
import pytest

from topo_opt.algorithms.baselines import min_hop_sized
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.algorithms.path_equilibration import solve_min_delay_pe
from topo_opt.errors import InfeasibleError
from topo_opt.io.sndlib import read_sndlib
from topo_opt.model import Design
from topo_opt.model.synthesis import scale_demands
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_design, check_result
from topo_opt.solve import dispatch
from topo_opt.solve.dispatch import solve
from topo_opt.solve.lp_methods import solve_max_utilization
from topo_opt.solve.outer_approximation import solve_min_delay_cuts
from conftest import MODELS, real_file

NAMES = ("abilene", "polska", "nobel-us", "geant")


def at_fraction_of_max_flow(name: str, fraction: float):
    network = read_sndlib(real_file("sndlib", f"{name}.txt"))
    if not np.all(network.link_capacity > 0):
        network = min_hop_sized(network)
    u_star = solve_max_utilization(network).lower_bound
    return scale_demands(network, fraction / u_star)


def max_utilization(network, routing) -> float:
    load = network.queue_load(routing.arc_flow(network.demand_rate, network.n_arcs))
    return float(np.max(load / network.queue_capacity()))


@pytest.mark.parametrize("name", NAMES)
def test_feasible_at_0999_of_the_max_concurrent_flow(name):
    network = at_fraction_of_max_flow(name, 0.999)
    start = find_feasible_flow(network)
    assert start.max_utilization_upper_bound < 1.0  # a strictly feasible routing is the proof
    assert start.max_utilization_upper_bound == pytest.approx(max_utilization(network, start.routing), rel=1e-9)
    assert start.max_utilization_lower_bound <= 0.999 * (1 + 1e-7) <= start.max_utilization_upper_bound * (1 + 2e-7)
    assert check_design(network, Design.for_network(network, start.routing)) == []


@pytest.mark.parametrize("name", NAMES)
def test_infeasible_at_1001_of_the_max_concurrent_flow_with_the_cut(name):
    network = at_fraction_of_max_flow(name, 1.001)
    with pytest.raises(InfeasibleError, match=r"infeasible: max utilisation >= 1\.\d+; saturated links .* "
                                              r"cannot carry demands '") as err:
        find_feasible_flow(network)
    details = err.value.details
    # the dual bound proves U* >= 1; weak duality against the arc LP's U* = 1.001
    assert 1.0 <= details["max_utilization_lower_bound"] <= 1.001 * (1 + 1e-7)
    assert details["saturated_links"] and details["demands"]
    # a cut named with its numbers proves it (its demands exceed it); when the dual-weighted
    # links separate no demand, they are named with their demands, without numbers.  Every
    # instance here has such a cut (polska: Link_1_10, Link_7_11, Link_0_2 at 7.5 Gbit/s; which
    # links the duals pick depends on shortest-path ties, and scipy's Dijkstra picked a set of
    # polska that separated nothing)
    assert details["cut_separates"]
    assert details["cut_demand"] > details["cut_capacity"]
    assert str(err.value).endswith(f"({details['cut_demand']:.6g} {network.rate_unit})")


@pytest.mark.parametrize("name, method", [("abilene", "outer-approximation"), ("polska", "auto"),
                                          ("nobel-us", "auto"), ("geant", "auto")])
def test_min_delay_at_0999_reaches_the_certified_gap(name, method):
    network = at_fraction_of_max_flow(name, 0.999)
    card = load_card(str(MODELS / "min-delay.toml"), (f'solver.method="{method}"', "solver.gap=1e-6"))
    result = solve(network, card)
    assert result.status.value == "optimal" and result.gap <= 1e-6
    assert max_utilization(network, result.design.routing) >= 0.999 - 1e-6  # the cut is nearly full
    assert check_result(network, result) == []


def test_gradient_projection_does_not_stall_at_the_cut():
    """abilene at 99.99 %: the cut links keep a slack of 1e-4 of their capacity.  Shrinking the
    Levenberg-Marquardt term after every full step, and keeping a basic path that runs dry, bent
    the Newton directions onto them and the line search alternated full and tiny steps (gap
    1.5e-3 after 300 iterations); now the gap is certified in ~20."""
    network = at_fraction_of_max_flow("abilene", 0.9999)
    result = solve_min_delay_gp(network, gap=1e-6, max_iterations=100)
    assert result.status.value == "optimal" and result.gap <= 1e-6
    assert max_utilization(network, result.design.routing) >= 0.9999 - 1e-6
    assert check_result(network, result) == []


@pytest.mark.parametrize("method", ["auto", "path-equilibration", "gradient-projection"])
@pytest.mark.parametrize("name", ["abilene", "polska"])
def test_every_min_delay_method_decides_both_sides_of_capacity(name, method):
    """Through the front door: at 99.9 % optimal within the gap and clean by the shared checker,
    at 100.1 % infeasible with the cut."""
    card = load_card(str(MODELS / "min-delay.toml"), (f'solver.method="{method}"', "solver.gap=1e-6"))
    network = at_fraction_of_max_flow(name, 0.999)
    result = solve(network, card)
    assert result.status.value == "optimal" and result.gap <= 1e-6
    assert check_result(network, result) == [] and result.violations == []
    with pytest.raises(InfeasibleError, match=r"infeasible: max utilisation >= 1\.0\d*; saturated links .* "
                                              r"cannot carry demands") as err:
        solve(at_fraction_of_max_flow(name, 1.001), card)
    assert err.value.details["saturated_links"] and err.value.details["demands"]
    assert err.value.details["max_utilization_lower_bound"] >= 1.0


def test_path_equilibration_raises_its_knee_past_the_cut():
    """At 99.9 % the cut is loaded beyond ρ̄ = 0.99, where the continued T̃ is below T: the knee
    moves past the iterate, and the answer is certified for T itself (by gradient projection
    from the strictly feasible iterate when one demand at a time jams on the cut)."""
    network = at_fraction_of_max_flow("polska", 0.999)
    result = solve_min_delay_pe(network, gap=1e-6)
    assert result.status.value == "optimal" and result.gap <= 1e-6
    assert result.details["continuation_utilization"] > max_utilization(network, result.design.routing) >= 0.999 - 1e-6
    exact = solve_min_delay_cuts(network, gap=1e-7)
    assert result.lower_bound <= exact.objective * (1 + 1e-12) and exact.lower_bound <= result.objective
    assert check_result(network, result) == []


def test_auto_hands_a_stalled_gradient_projection_to_cutting_planes(monkeypatch):
    """A stall (here forced: the gap must halve at every iteration) that the barrier method does
    not take (here: no queue counts as near capacity) gives the time left to the exact
    cutting-plane method, whose certified answer is returned."""
    from topo_opt.algorithms import barrier_flow

    monkeypatch.setattr(dispatch, "AUTO_STALL_ITERATIONS", 1)
    monkeypatch.setattr(barrier_flow, "NEAR_CAPACITY_UTILIZATION", 1.01)
    network = at_fraction_of_max_flow("abilene", 0.999)
    card = load_card(str(MODELS / "min-delay.toml"), ('solver.method="auto"', "solver.gap=1e-6"))
    result = solve(network, card)
    assert result.method == "outer-approximation" and result.details["stalled"] == "gradient-projection"
    assert result.details["stalled_gap"] > 1e-6
    assert result.status.value == "optimal" and result.gap <= 1e-6
    assert check_result(network, result) == []


@pytest.mark.parametrize("key", ["topozoo/Internode", "topozoo/Arnes", "gabriel/25/1"])
def test_topohub_networks_are_decided_on_both_sides_of_capacity(key):
    """Real topologies that no other near-capacity test holds (topohub: Topology Zoo and a
    Gabriel graph, gravity demands, links sized): at 99.9 % of the maximum concurrent flow the
    front door (method ``auto``) certifies the gap with a routing that loads the cut to ≥ 0.999
    and passes the shared checker; at 100.1 % it says infeasible with a dual bound ≥ 1 and the
    cut (weak duality against the LP's U* = 1.001)."""
    pytest.importorskip("topohub", reason="topohub is not installed (pip install -e '.[test]')")
    from topo_opt.solve.instance_loader import read_network

    network = read_network(f"topohub:{key}", "auto")
    u_star = solve_max_utilization(network).lower_bound
    card = load_card(str(MODELS / "min-delay.toml"), ('solver.method="auto"', "solver.gap=1e-6"))
    feasible = scale_demands(network, 0.999 / u_star)
    result = solve(feasible, card)
    assert result.status.value == "optimal" and result.gap <= 1e-6
    assert 0.999 - 1e-6 <= max_utilization(feasible, result.design.routing) < 1.0
    assert check_result(feasible, result) == [] and result.violations == []
    with pytest.raises(InfeasibleError, match=r"infeasible: max utilisation >= 1\.0\d*; saturated links") as err:
        solve(scale_demands(network, 1.001 / u_star), card)
    assert 1.0 <= err.value.details["max_utilization_lower_bound"] <= 1.001 * (1 + 1e-7)
    assert err.value.details["saturated_links"] and err.value.details["demands"]
