"""EARP-style heuristic: hand-checkable choices, bounds, comparison with the MILP optimum."""
import json
from pathlib import Path

import numpy as np
import pytest

from topo_opt.algorithms.earp import solve_earp
from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.evaluators.delay import zero_load_delay_s
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.evaluators.power import PowerProfile
from topo_opt.io.detect import read_instance
from topo_opt.io.power_profile import load_power_profile
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.min_power import solve_min_power

ROOT = Path(__file__).resolve().parents[1]
IDLE = PowerProfile("idle", chassis_w=100.0, port_w=10.0, load_shape="linear",
                    load_w_per_gbps=1.0, reference_capacity_bps=1e9)


def _two_routes():
    """a -> c directly over a long link (2000 km) or via b over two short ones (100 km each)."""
    return build_network(
        name="two", nodes=[Node(x) for x in "abc"],
        links=[Link("ac", "a", "c", 1e9, length_m=2e6), Link("ab", "a", "b", 1e9, length_m=1e5),
               Link("bc", "b", "c", 1e9, length_m=1e5)],
        demands=[Demand("ac", "a", "c", 2e8)], packet_length_bits=8000.0)


def test_least_incremental_power_path_without_bound():
    net = _two_routes()
    result = solve_earp(net, IDLE)
    # the direct link switches on 2 ports (20 W); via b: router b (100 W) and 4 ports
    assert result.details["links_off"] == ["ab", "bc"] and result.details["nodes_off"] == ["b"]
    assert result.objective == pytest.approx(2 * 100 + 2 * 10 + 0.2)
    assert check_result(net, result, power=IDLE) == []


def test_delay_bound_excludes_the_cheap_path():
    net = _two_routes()
    direct = 2e6 / 2e8 + 1 / (1.25e5 - 2.5e4)  # propagation + M/M/1 sojourn on ac
    result = solve_earp(net, IDLE, max_demand_delay_s=0.5 * direct)
    assert result.details["links_off"] == ["ac"]
    worst = evaluate_design(net, result.design).demand_worst_delay_s.max()
    assert worst == pytest.approx(result.details["max_demand_delay_s"]) and worst <= 0.5 * direct
    with pytest.raises(InfeasibleError, match="heuristic found no design meeting the delay bounds"):
        solve_earp(net, IDLE, max_demand_delay_s=1e-4)


def test_candidates_are_ordered_by_zero_load_delay():
    net = _two_routes()
    d = zero_load_delay_s(net)
    np.testing.assert_allclose(d[:3], [8e-6 + 1e-2, 8e-6 + 5e-4, 8e-6 + 5e-4])


def test_bad_input():
    with pytest.raises(InvalidInputError, match=r"max_utilization must be in \(0, 1\], got 0"):
        solve_earp(_two_routes(), IDLE, max_utilization=0)
    with pytest.raises(InvalidInputError, match="max_demand_delay_s must be > 0 s, got -1"):
        solve_earp(_two_routes(), IDLE, max_demand_delay_s=-1)


def test_heuristic_is_never_below_the_milp_bound_on_a_real_instance():
    net = read_instance(ROOT / "instances" / "abilene.json")
    profile = load_power_profile(ROOT / "models" / "power" / "core-router.toml")
    t_max = 1.5 * solve_min_delay_gp(net, gap=1e-6).objective
    earp = solve_earp(net, profile, max_delay_s=t_max)
    milp = solve_min_power(net, profile, max_delay_s=t_max, gap=1e-3)
    assert check_result(net, earp, power=profile) == []
    assert earp.details["average_delay_s"] <= t_max * (1 + 1e-9)
    assert earp.objective >= milp.lower_bound
    assert earp.objective <= 1.1 * milp.objective  # the greedy is within 10 % here


def test_solve_command_reports_the_power_of_the_design(tmp_path):
    from click.testing import CliRunner

    from topo_opt.cli.main import cli

    out = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["solve", str(ROOT / "instances" / "six-node.json"), "--model",
                                      str(ROOT / "models" / "earp-min-power.toml"), "--method", "earp",
                                      "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "total_power_w" in result.output
    doc = json.loads(out.read_text())
    assert doc["metrics"]["total_power_w"] == pytest.approx(doc["objective"], rel=1e-12)
