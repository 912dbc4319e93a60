"""What-if sweeps: every number re-derived by an independent min-delay solve of the scenario."""
import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.cli.main import cli
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.io.detect import read_instance
from topo_opt.model.scenarios import Scenario, apply_scenario
from topo_opt.model.scenarios import scenario_grid
from topo_opt.model.validation import replace_network
from topo_opt.batch.whatif import COLUMNS, WhatIfOptions, run_whatif

ROOT = Path(__file__).resolve().parents[1]
ABILENE = ROOT / "instances" / "abilene.json"
CARD = ROOT / "models" / "modular-capacity.toml"

# A triangle A-B-C with a bridge C-D: failing CD disconnects demand AD; demands x5 saturate
# every cut around A (max utilisation >= 1.246) while more capacity can still carry them.
BRIDGE = {"format": "topo-opt/network", "version": 1, "name": "bridge",
          "nodes": [{"id": n} for n in "ABCD"],
          "links": [{"id": s + t, "source": s, "target": t, "capacity": 1e9}
                    for s, t in ("AB", "BC", "CA", "CD")],
          "demands": [{"id": "AD", "source": "A", "target": "D", "rate": 2e8},
                      {"id": "AB", "source": "A", "target": "B", "rate": 3e8}]}


@pytest.fixture(scope="module")
def abilene():
    return read_instance(ABILENE)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    path = tmp_path_factory.mktemp("whatif") / "bridge.json"
    path.write_text(json.dumps(BRIDGE))
    return read_instance(path)


def independent(network, scenario, link_capacity=None):
    """Min-delay routing of the scenario's network, solved and evaluated separately."""
    net = apply_scenario(network, scenario)
    result = solve_min_delay_gp(net, link_capacity=link_capacity, gap=1e-10)
    return evaluate_design(net, result.design)


def upgraded_capacity(network, scenario, modules):
    """Installed capacities plus the reported modules, per link of the scenario's network."""
    net = apply_scenario(network, scenario)
    capacity = net.link_capacity.copy()
    for module in modules:
        capacity[net.link_index[module["link"]]] += module["count"] * module["module_capacity"]
    return capacity


def run_cli(*args):
    """``topo-opt whatif ARGS`` in-process (the group maps errors to exit 2, as installed)."""
    return CliRunner().invoke(cli, ["whatif", *map(str, args)], catch_exceptions=False)


def assert_clean_failure(result, match):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert match in lines[0], lines[0]
    assert result.stdout == ""


# ------------------------------------------------------------------------ sweep logic
def test_demand_sweep_matches_independent_min_delay_routing(abilene):
    result = run_whatif(abilene, scenario_grid(abilene, [1.0, 1.3, 1.6]), WhatIfOptions(upgrades=False))
    assert [r["demand_scale"] for r in result.records] == [1.0, 1.3, 1.6]
    for row in result.records:
        metrics = independent(abilene, Scenario(demand_scale=row["demand_scale"]))
        assert row["status"] == "feasible"
        assert row["average_delay_s"] == pytest.approx(metrics.average_delay_s, rel=1e-6)
        # Optimal arc flows are unique only up to the routing gap: compare loads more loosely
        assert row["max_utilization"] == pytest.approx(metrics.max_utilization, rel=1e-4)
        assert row["max_demand_delay_s"] == pytest.approx(metrics.demand_worst_delay_s.max(), rel=1e-4)
    delays = [r["average_delay_s"] for r in result.records]
    assert delays[0] < delays[1] < delays[2]
    # "installed" T_max is the unscaled intact network's delay, met there and missed under growth
    assert result.max_delay_s == pytest.approx(delays[0], rel=1e-12)
    assert [r["meets_max_delay"] for r in result.records] == [True, False, False]
    assert [r["upgrade_status"] for r in result.records] == ["not_needed", "skipped", "skipped"]
    assert set(result.records[0]) == set(COLUMNS)


def test_disconnecting_failure_is_an_infeasible_row_naming_the_demand(bridge):
    scenarios = scenario_grid(bridge, [1.0], ["each-node", "CD"])
    rows = {r["scenario"]: r for r in run_whatif(bridge, scenarios, WhatIfOptions(max_delay_s=1e-3)).records}
    assert list(rows) == ["base", "fail node A", "fail node B", "fail node C", "fail node D", "fail link CD"]
    cut = rows["fail link CD"]
    assert cut["status"] == "infeasible" and "demand 'AD'" in cut["reason"]
    assert cut["upgrade_status"] == "infeasible" and "reconnect" in cut["upgrade_reason"]
    assert cut["average_delay_s"] is None and cut["meets_max_delay"] is False
    assert rows["fail node C"]["status"] == "infeasible"
    # Node A sources every demand: nothing left to route, reported rather than crashed on
    assert rows["fail node A"]["status"] == "no_demands"
    assert rows["fail node A"]["n_dropped_demands"] == 2
    survivor = rows["fail node D"]
    assert survivor["n_dropped_demands"] == 1
    expected = independent(bridge, Scenario(failed_nodes=("D",))).average_delay_s
    assert survivor["average_delay_s"] == pytest.approx(expected, rel=1e-6)


def test_link_pairs_are_routed_without_both_links(abilene, bridge):
    first, second = abilene.links[1].id, abilene.links[2].id  # Atlanta keeps two of its four links
    scenarios = scenario_grid(abilene, [1.0], [first, second, f"{first}+{second}"])
    rows = {r["scenario"]: r for r in run_whatif(abilene, scenarios, WhatIfOptions(upgrades=False)).records}
    pair = rows[f"fail links {first}+{second}"]
    assert pair["failed_links"] == [first, second] and pair["status"] == "feasible"
    expected = independent(abilene, Scenario(failed_links=(first, second))).average_delay_s
    assert pair["average_delay_s"] == pytest.approx(expected, rel=1e-6)
    # fewer links can only raise the least delay (to within the certified gaps)
    for single in (first, second):
        assert pair["average_delay_s"] >= rows[f"fail link {single}"]["average_delay_s"] * (1 - 1e-6)
    # every two links of the triangle cut a node off: named infeasible rows, no crash
    rows = run_whatif(bridge, scenario_grid(bridge, [1.0], "each-link-pair"),
                      WhatIfOptions(max_delay_s=1e-3, upgrades=False)).records
    assert len(rows) == 1 + 6
    assert {r["status"] for r in rows[1:]} == {"infeasible"}
    assert all("demand" in r["reason"] for r in rows[1:])


def test_bad_sweep_input_names_the_element(abilene):
    with pytest.raises(InvalidInputError, match="'NOPE' is not a link"):
        scenario_grid(abilene, [1.0], ["NOPE"])
    with pytest.raises(InvalidInputError, match="no demands"):
        run_whatif(replace_network(abilene, demands=()), [Scenario()], WhatIfOptions(upgrades=False))


def test_installed_max_delay_needs_a_routable_base(bridge):
    heavy = apply_scenario(bridge, Scenario(demand_scale=5.0))
    with pytest.raises(InvalidInputError, match="give T_max in seconds"):
        run_whatif(heavy, [Scenario()], WhatIfOptions(upgrades=False))


# ------------------------------------------------------------------------ upgrades (MILP)
def test_upgrade_fixes_a_saturated_scenario_at_least_cost(bridge):
    """Brute force over 0..3 default modules per link (cost = added capacity) gives the optimum."""
    pytest.importorskip("topo_opt.solve.modular_capacity")
    max_delay_s, scenario = 20e-6, Scenario(demand_scale=5.0)
    options = WhatIfOptions(max_delay_s=max_delay_s, mip_gap=1e-4, time_limit_s=60.0)
    row = run_whatif(bridge, scenario_grid(bridge, [5.0]), options).records[0]
    assert row["status"] == "infeasible" and "cannot carry" in row["reason"]
    assert row["upgrade_status"] == "optimal"
    capacity = upgraded_capacity(bridge, scenario, row["modules_added"])
    metrics = independent(bridge, scenario, capacity)
    assert metrics.average_delay_s <= max_delay_s * (1 + 1e-9)
    assert row["upgraded_average_delay_s"] == pytest.approx(metrics.average_delay_s, rel=1e-6)
    assert row["upgrade_cost"] == pytest.approx(sum(m["cost"] for m in row["modules_added"]))
    net = apply_scenario(bridge, scenario)
    best = math.inf
    for counts in itertools.product(range(4), repeat=net.n_links):
        cost = float(np.dot(counts, net.link_capacity))
        if cost >= best:
            continue
        try:
            delay = solve_min_delay_gp(net, link_capacity=net.link_capacity * (1 + np.array(counts)),
                                       gap=1e-9).objective
        except InfeasibleError:
            continue
        if delay <= max_delay_s:
            best = cost
    assert all(m["count"] <= 3 for m in row["modules_added"])
    assert row["upgrade_cost"] == pytest.approx(best, rel=1e-4)


# ------------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def cli_json(tmp_path_factory):
    """One CLI run with upgrades on Abilene: demand x1 and x1.25, intact and one link failed."""
    if not CARD.exists():
        pytest.skip("models/modular-capacity.toml not there yet")
    folder = tmp_path_factory.mktemp("whatif-cli")
    proc = run_cli(ABILENE, "--model", CARD, "--demand-scale", "1.0:1.25:0.25", "--fail", "ATLAng_HSTNng",
                   "--time-limit", "60", "--out", folder / "rows.json", "--plot", folder / "whatif.png")
    assert proc.exit_code == 0, proc.output
    return proc.stdout, json.loads((folder / "rows.json").read_text()), folder / "whatif.png"


def test_cli_upgrade_meets_max_delay(cli_json, abilene):
    stdout, doc, _ = cli_json
    assert doc["max_delay_source"] == "installed" and f"T_max = {doc['max_delay_s']:.6g} s" in stdout
    grown = next(r for r in doc["scenarios"] if r["scenario"] == "demand x1.25")
    assert grown["meets_max_delay"] is False and grown["upgrade_status"] == "optimal"
    assert grown["upgrade_cost"] > 0 and grown["modules_added"]
    scenario = Scenario(demand_scale=1.25)
    metrics = independent(abilene, scenario, upgraded_capacity(abilene, scenario, grown["modules_added"]))
    assert metrics.average_delay_s <= doc["max_delay_s"] * (1 + 1e-9)


def test_cli_json_and_plot_files(cli_json):
    _, doc, png = cli_json
    assert doc["format"] == "topo-opt/whatif" and doc["units"]["delay"] == "s"
    assert [r["scenario"] for r in doc["scenarios"]] == [
        "base", "demand x1.25", "fail link ATLAng_HSTNng", "fail link ATLAng_HSTNng, demand x1.25"]
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000


def test_cli_csv_has_one_row_per_scenario(tmp_path):
    if not CARD.exists():
        pytest.skip("models/modular-capacity.toml not there yet")
    out = tmp_path / "rows.csv"
    proc = run_cli(ABILENE, "--model", CARD, "--demand-scale", "1:1.2:0.2", "--fail", "each-link",
                   "--no-upgrades", "--out", out, "--plot", tmp_path / "fail.png")
    assert proc.exit_code == 0, proc.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    abilene = read_instance(ABILENE)
    assert len(rows) == 2 * (1 + abilene.n_links)
    assert tuple(rows[0]) == COLUMNS
    assert {r["upgrade_status"] for r in rows} <= {"not_needed", "skipped", "infeasible"}
    assert (tmp_path / "fail.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, match", [
    (("--demand-scale", "2:1:0.1"), "--demand-scale '2:1:0.1'"),
    (("--fail", "NOPE"), "'NOPE' is not a link"),
    (("--fail", "ATLAng_HSTNng+NOPE"), "'NOPE' is not a link"),
    (("--model", ROOT / "models" / "min-delay.toml"), "needs a 'modular-capacity' card"),
    (("--out", "rows.txt"), "the file name must end in .csv or .json"),
])
def test_cli_bad_input_exits_2_with_one_line(args, match, tmp_path):
    if not CARD.exists() and "--model" not in args:
        pytest.skip("models/modular-capacity.toml not there yet")
    model = () if "--model" in args else ("--model", CARD)
    proc = run_cli(ABILENE, *model, "--no-upgrades", "--plot", tmp_path / "p.png", *args)
    assert_clean_failure(proc, match)
    assert not (tmp_path / "p.png").exists()
