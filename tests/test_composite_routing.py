"""Exact composite-goal routing: independent SLSQP solve, GA above the bound, card, bad input."""
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from topo_opt.algorithms.path_enumeration import all_simple_paths
from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.composite import CompositeWeights, composite_goal
from topo_opt.evaluators.power import PowerProfile
from topo_opt.model import Demand, Design, Link, Node, Routing, build_network
from topo_opt.solve.cards import load_card, validate_card
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.composite_routing import solve_composite_routing
from topo_opt.solve.dispatch import solve

ROOT = Path(__file__).resolve().parents[1]
# load-dependent power only: the composite goal is then additive in the flows (no fixed term)
LOAD_ONLY = PowerProfile("load", chassis_w=0.0, port_w=0.0, load_shape="linear",
                         load_w_per_gbps=20.0, reference_capacity_bps=1e9)
FULL = PowerProfile("full", chassis_w=100.0, port_w=10.0, load_shape="linear",
                    load_w_per_gbps=20.0, reference_capacity_bps=1e9)


def _square():
    """a-b-c-d-a, 1 Gbit/s, 100 kbit packets; b insecure, a-d-c longer; a -> c 0.8 Gbit/s, b -> d 0.3."""
    return build_network(
        name="sq", nodes=[Node("a"), Node("b", insecurity=0.5), Node("c"), Node("d")],
        links=[Link("ab", "a", "b", 1e9, length_m=1e5), Link("bc", "b", "c", 1e9, length_m=1e5),
               Link("cd", "c", "d", 1e9, length_m=2e5), Link("da", "d", "a", 1e9, length_m=2e5)],
        demands=[Demand("ac", "a", "c", 8e8), Demand("bd", "b", "d", 3e8)], packet_length_bits=1e5)


def _slsqp_goal(net, weights, profile):
    """min over path fractions of the evaluator's composite goal (scipy SLSQP, independent)."""
    paths = all_simple_paths(net, 10)
    sizes = [len(p) for p in paths]

    def goal(x):
        parts = np.split(x, np.cumsum(sizes)[:-1])
        routing = Routing.from_paths((k, p, float(f)) for k, (ps, fs) in enumerate(zip(paths, parts))
                                     for p, f in zip(ps, fs))
        return composite_goal(net, Design.for_network(net, routing), weights, profile).total

    cons = [{"type": "eq", "fun": (lambda x, i=i: x[sum(sizes[:i]):sum(sizes[:i + 1])].sum() - 1)}
            for i in range(len(sizes))]
    starts = [np.concatenate([np.full(s, 1 / s) for s in sizes])] + [
        np.concatenate([np.eye(s)[j] * 0.9 + 0.1 / s for s, j in zip(sizes, js)])
        for js in itertools.product(*(range(s) for s in sizes))]
    best = math.inf
    for x0 in starts:
        res = minimize(goal, x0, method="SLSQP", bounds=[(0, 1)] * sum(sizes), constraints=cons,
                       options={"ftol": 1e-12, "maxiter": 500})
        if res.success:
            best = min(best, goal(np.clip(res.x, 0, 1)))
    return best


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # SLSQP probing a saturated split
def test_exact_matches_an_independent_slsqp_solve_within_its_gap():
    net = _square()
    result = solve_composite_routing(net, LOAD_ONLY, CompositeWeights(rejection=0.3, delay=1.0, energy=2.0),
                                     gap=1e-7)
    assert result.status.value == "optimal" and result.gap <= 1e-7
    assert result.details["fixed_term"] == pytest.approx(0.0, abs=1e-12)
    weights = CompositeWeights(**result.details["weights"])
    reference = _slsqp_goal(net, weights, LOAD_ONLY)
    assert result.lower_bound <= reference * (1 + 1e-9)
    assert result.objective <= reference * (1 + 1e-6)
    # the optimum splits a -> c (no single path is optimal here)
    assert np.sum(result.design.routing.demand == 0) == 2
    assert result.objective == pytest.approx(
        composite_goal(net, result.design, weights, LOAD_ONLY).total, rel=1e-12)


def test_fixed_power_is_evaluated_not_optimised_and_bounded():
    net = _square()
    result = solve_composite_routing(net, FULL, CompositeWeights(), gap=1e-6)
    assert result.details["additive_gap"] <= 1e-6
    assert result.details["fixed_term"] >= result.details["fixed_term_lower_bound"] > 0
    assert result.lower_bound == pytest.approx(result.details["additive_lower_bound"]
                                               + result.details["fixed_term_lower_bound"])
    assert check_result(net, result, power=FULL) == []


def test_ga_composite_value_is_above_the_exact_lower_bound():
    net = _square()
    card = load_card(ROOT / "models" / "ga.toml",
                     ('objective.name="composite"', "ga.generations=30", "solver.time_limit_s=20"))
    exact = solve(net, load_card(ROOT / "models" / "composite-goal.toml"))
    ga = solve(net, card)
    assert exact.method == "composite-oa" and ga.method != "composite-oa"
    assert ga.objective >= exact.lower_bound


def test_bad_input():
    net = _square()
    with pytest.raises(InvalidInputError, match="composite weight 'delay' must be > 0 for the exact method"):
        solve_composite_routing(net, FULL, CompositeWeights(delay=0.0))
    with pytest.raises(InvalidInputError, match="rejection_form 'max' is not additive"):
        solve_composite_routing(net, FULL, CompositeWeights(rejection_form="max"))
    cubic = PowerProfile("c", 1.0, 1.0, "cubic", 1.0, 1e9)
    with pytest.raises(InvalidInputError, match=r"node 'a': load shape 'cubic' is not linear"):
        solve_composite_routing(net, cubic, CompositeWeights())


def test_the_old_spelling_is_the_composite_goal_card_with_a_warning(caplog):
    """problem = "ga" with solver.method = "exact" (before composite-goal had its own entry) is
    read as the composite-goal card until 0.2; the exact method with another objective is refused."""
    old = {"problem": "ga", "objective": {"name": "composite", "overload_penalty": 50.0},
           "composite": {"energy": 2.0}, "ga": {"seed": 3}, "solver": {"method": "exact", "gap": 1e-5}}
    card = validate_card(old, "old.toml")
    new = validate_card({"problem": "composite-goal", "composite": {"energy": 2.0}, "solver": {"gap": 1e-5}}, "new")
    assert card.problem == "composite-goal" and card.sections == new.sections
    assert "old.toml: problem = 'ga' with solver.method = 'exact', objective.name = 'composite' is " \
           "deprecated, use problem = 'composite-goal'" in caplog.text
    delay = validate_card({**old, "objective": {"name": "delay"}}, "delay.toml")
    assert delay.problem == "ga"
    with pytest.raises(InvalidInputError, match=r"delay.toml: solver.method = \"exact\" is implemented for "
                                                r"objective.name = \"composite\" \(the composite-goal card\)"):
        solve(_square(), delay)
