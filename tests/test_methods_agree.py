"""Every min-delay method through the front door, on real instances: the shared checker passes
on each output, and the methods agree within their certified gaps (each one's lower bound is
below every other one's objective)."""
import pytest

from topo_opt.io.detect import read_instance
from topo_opt.model.result import Status
from topo_opt.solve.cards import load_card
from topo_opt.solve.checker import check_result
from topo_opt.solve.dispatch import solve
from conftest import INSTANCES, MODELS, benchmark_path, real_file

CASES = [real_file("commalab", "grid", "grid1"), real_file("commalab", "planar", "planar30"),
         INSTANCES / "abilene.json", INSTANCES / "nobel-us.json"]
METHODS = ("path_equilibration", "gradient_projection", "outer_approximation", "flow_deviation")


@pytest.mark.parametrize("path", [p for p in CASES], ids=lambda p: p.name)
def test_methods_pass_the_checker_and_agree_within_their_gaps(path):
    network = read_instance(path)
    results = {}
    for method in METHODS:
        # flow deviation converges sublinearly: it is asked for a looser gap
        gap = 1e-4 if method == "flow_deviation" else 1e-6
        card = load_card(MODELS / "min-delay.toml",
                         (f'solver.method="{method}"', f"solver.gap={gap}", "solver.time_limit_s=120"))
        result = solve(network, card)
        assert result.method == method
        assert result.status is Status.OPTIMAL, (method, result.message)
        assert result.gap <= gap
        assert check_result(network, result) == [], method
        results[method] = result
    best_bound = max(r.lower_bound for r in results.values())
    for method, result in results.items():
        assert best_bound <= result.objective * (1 + 1e-9), method
    exact = results["outer_approximation"].objective
    assert results["gradient_projection"].objective == pytest.approx(exact, rel=2e-6)
    assert results["path_equilibration"].objective == pytest.approx(exact, rel=2e-6)


def test_auto_names_the_method_that_ran():
    network = read_instance(INSTANCES / "six-node.json")
    result = solve(network, load_card(MODELS / "min-delay.toml"))
    assert result.method == "gradient_projection"  # small: no compiled kernels to load
    assert result.details["include_fixed_delay"] is True


def test_auto_takes_path_equilibration_from_100_nodes():
    network = read_instance(real_file("commalab", "planar", "planar30"))
    assert solve(network, load_card(MODELS / "min-delay.toml")).method == "gradient_projection"
    network = read_instance(benchmark_path("commalab", "planar", "planar100"))
    result = solve(network, load_card(MODELS / "min-delay.toml"))
    assert result.method == "path_equilibration" and result.status is Status.OPTIMAL
    assert check_result(network, result) == []
