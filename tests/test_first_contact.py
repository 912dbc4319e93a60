"""First-contact defects of issue 12: each reproduced as a new user met it, then fixed.

1. ``convert --size-capacities`` on a topology without link speeds (the command the
   missing-capacity error recommends) must work.
3. Networks whose links have no installed capacity, only modules (most SNDlib networks): info,
   whatif and the routing messages say "no installed capacity", and whatif buys the modules.
7. GraphML: an edge to an unknown node, a duplicate node id and a self-loop.
12. Click usage errors are one ``topo-opt: error:`` line with exit code 2; non-finite card values
    are rejected.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError
from topo_opt.solve.cards import load_card

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
ABILENE = ROOT / "instances" / "abilene.json"
MIN_DELAY = ROOT / "models" / "min-delay.toml"


def run_cli(*args):
    """The CLI in-process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="topo-opt")
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code, stderr, match):
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("topo-opt: error: ") and match in lines[0], lines[0]


# ------------------------------------------------------------------------------ defect 1
def test_size_capacities_sizes_links_without_a_speed(tmp_path):
    out = tmp_path / "z.json"
    code, stdout, stderr = run_cli("convert", FIXTURES / "zoo-sample.graphml", "--gravity", "1e9",
                                   "--size-capacities", "0.5", "--out", out)
    assert code == 0, stderr
    doc = json.loads(out.read_text())
    # every link sized to a standard line rate that keeps its min-hop load under 50 %
    from topo_opt.algorithms.baselines import min_hop_routing
    from topo_opt.io.detect import read_instance

    network = read_instance(out)
    load = network.queue_load(min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs))
    assert np.all(load <= 0.5 * network.queue_capacity() + 1e-6)
    assert doc["metadata"]["capacity_rule"]["target_utilization"] == 0.5
    assert len(doc["links"]) == 4


def test_links_without_a_speed_are_still_an_error_without_size_capacities(tmp_path):
    code, _, stderr = run_cli("convert", FIXTURES / "zoo-sample.graphml", "--out", tmp_path / "z.json")
    assert_one_line_error(code, stderr, "has no capacity")
    assert not (tmp_path / "z.json").exists()


# ------------------------------------------------------------------------------ defect 12
@pytest.mark.parametrize("args, match", [
    (("info", "{tmp}"), "is a directory"),
    (("convert", str(ABILENE), "--to", "xml", "--out", "{tmp}/a.xml"), "'xml' is not one of"),
    (("info",), "Missing argument 'INSTANCE'"),
    (("solve", str(ABILENE), "--gap", "abc"), "'abc' is not a valid float"),
    (("nonsense",), "No such command 'nonsense'"),
    (("--bogus", "info"), "No such option '--bogus'"),
])
def test_usage_errors_are_one_line(args, match, tmp_path):
    code, _, stderr = run_cli(*(a.format(tmp=tmp_path) for a in args))
    assert_one_line_error(code, stderr, match)


def test_usage_error_end_to_end_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "topo_opt", "info", str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert_one_line_error(proc.returncode, proc.stderr, "is a directory")


def test_help_still_prints_usage():
    code, stdout, _ = run_cli("info", "--help")
    assert code == 0 and "Usage:" in stdout


@pytest.mark.parametrize("override", ["solver.gap=1e400", "solver.gap=inf", "solver.time_limit_s=-inf"])
def test_non_finite_card_values_are_rejected(override):
    with pytest.raises(InvalidInputError, match=r"solver\.(gap|time_limit_s) must be a (finite )?number"):
        load_card(MIN_DELAY, (override,))


def test_gap_option_of_1e400_is_rejected():
    code, _, stderr = run_cli("solve", ABILENE, "--model", MIN_DELAY, "--gap", "1e400")
    assert_one_line_error(code, stderr, "solver.gap must be a finite number, got inf")
