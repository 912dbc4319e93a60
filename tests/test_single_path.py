"""Exact single-path min-delay: enumeration, bound labelling, infeasibility, a real instance."""
import importlib.util
import math

import pytest

from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.errors import InfeasibleError
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.formulations.single_path_milp import build_single_path_model
from topo_opt.io.detect import read_instance
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.model.result import Status
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.dispatch import solve
from topo_opt.algorithms.path_enumeration import candidate_paths
from topo_opt.solve.single_path import solve_single_path_min_delay
from single_path_cases import enumerate_optimum, small_loaded
from conftest import INSTANCES, real_file


def test_milp_equals_the_enumerated_optimum_with_a_global_bound():
    net = small_loaded()
    best, _ = enumerate_optimum(net)
    result = solve_single_path_min_delay(net, gap=1e-7)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(best, rel=1e-9)
    assert result.details["candidates_complete"] is True
    assert result.details["lower_bound_source"].startswith("MILP over all loop-free paths")
    assert best * (1 - 1e-7) <= result.lower_bound <= best
    assert check_result(net, result) == []


def test_k_shortest_candidates_report_the_splittable_bound():
    net = read_instance("instances/abilene.json")
    result = solve_single_path_min_delay(net, max_simple_paths=0, k_shortest=3)
    splittable = solve_min_delay_gp(net, gap=1e-7)
    assert result.details["candidates_complete"] is False
    assert result.details["lower_bound_source"].startswith("splittable optimum")
    assert result.lower_bound == pytest.approx(splittable.lower_bound, rel=1e-6)
    assert result.objective >= splittable.lower_bound
    assert result.details["candidate_bound_s"] <= result.objective * (1 + 1e-9)
    assert check_result(net, result) == []


def test_model_has_one_binary_per_candidate_and_one_row_per_demand():
    net = small_loaded()
    paths, complete = candidate_paths(net, k_shortest=2, max_simple_paths=100)
    model = build_single_path_model(net, paths, DelayObjective.for_network(net))
    assert complete and len(model.path_chosen) == paths.n_paths
    assert all(v.is_binary() for v in model.path_chosen.values())
    assert len(model.one_path) == net.n_demands


def test_single_path_infeasible_while_splittable_is_feasible():
    """Two parallel unit links, one demand of 1.5: only a split fits."""
    net = build_network(name="par", nodes=(Node("a"), Node("b")),
                        links=(Link("l1", "a", "b", 1.0), Link("l2", "a", "b", 1.0)),
                        demands=(Demand("k", "a", "b", 1.5),), link_model="directed")
    with pytest.raises(InfeasibleError, match="no single-path routing keeps every link within capacity") as info:
        solve_single_path_min_delay(net)
    assert info.value.details["candidates_complete"]
    assert math.isfinite(info.value.details["splittable_objective_s"])


def _convert_sndlib():
    spec = importlib.util.spec_from_file_location("convert_sndlib", INSTANCES / "convert_sndlib.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.convert


def test_real_sndlib_instance_exact_and_ga_agree_within_the_bound():
    net = _convert_sndlib()(real_file("sndlib", "polska.txt"))
    exact = solve(net, load_card("models/single-path-min-delay.toml"))
    ga = solve(net, load_card("models/ga.toml", ("solver.time_limit_s=10", "ga.stagnation=60")))
    for result in (exact, ga):
        assert check_result(net, result) == []
    assert exact.objective >= exact.lower_bound
    assert ga.objective >= exact.lower_bound * (1 - 1e-9)
    assert ga.objective <= exact.objective * 1.02  # the target: within 2% of the exact


def test_infeasible_over_incomplete_candidates_says_so():
    """The same instance without enumerating the loop-free paths: infeasible over the candidates."""
    net = build_network(name="par", nodes=(Node("a"), Node("b")),
                        links=(Link("l1", "a", "b", 1.0), Link("l2", "a", "b", 1.0)),
                        demands=(Demand("k", "a", "b", 1.5),), link_model="directed")
    with pytest.raises(InfeasibleError, match=r"over the candidates only\): raise candidates.k_shortest") as info:
        solve_single_path_min_delay(net, max_simple_paths=0)
    assert not info.value.details["candidates_complete"]
