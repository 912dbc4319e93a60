"""Start-up cost: the command imports the heavy libraries only where a command needs them.

Checked on ``sys.modules`` of a fresh interpreter, not timed (the machine's load would make a
timed test flaky; ``benchmarks/whole_process.py`` measures the times).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import benchmark_path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy", "scipy.optimize", "pyomo", "matplotlib", "plotly", "dask", "pandas", "networkx")
# what a small solve does without: numba and, each ~10-20 ms, numpy.ma (np.unique imports it since
# numpy 2.3) and importlib.metadata (the version is a constant in topo_opt/__init__.py)
SOLVE_WATCHED = (*HEAVY, "numba", "numpy.ma", "importlib.metadata")


def loaded_after(code: str, watched: tuple[str, ...] = HEAVY) -> list[str]:
    """The ``watched`` modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_command_loads_no_heavy_library():
    assert loaded_after("import topo_opt.cli.main") == []


def test_help_loads_no_heavy_library():
    code = ("from topo_opt.cli.main import cli\n"
            "try:\n    cli(['--help'], prog_name='topo-opt')\nexcept SystemExit:\n    pass")
    assert loaded_after(code) == []


@pytest.mark.parametrize("user_setting, expected", [(None, "1 1"), ("2", "2 1")])
def test_the_command_runs_blas_on_one_thread_unless_the_user_set_it(user_setting, expected):
    """Set before numpy is imported (the test above: importing the command loads no numpy), so
    OpenBLAS starts with one thread; a user's own ``OPENBLAS_NUM_THREADS`` is kept."""
    env = {"PYTHONPATH": str(ROOT), "PATH": ""}
    if user_setting is not None:
        env["OPENBLAS_NUM_THREADS"] = user_setting
    probe = "import os, topo_opt.cli.main\nprint(os.environ['OPENBLAS_NUM_THREADS'], os.environ['MKL_NUM_THREADS'])"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == expected


def test_the_probe_sees_what_the_code_imports():
    assert loaded_after("import scipy.sparse") == ["numpy", "scipy"]


@pytest.mark.parametrize("instance", ["six-node", "instances/abilene.json"])
def test_min_delay_solve_of_a_small_network_loads_numpy_only(instance, tmp_path):
    """Gradient projection and its shortest paths run on numpy alone up to
    ``DENSE_MAX_NODES`` nodes: importing scipy.sparse would cost more than the solve."""
    code = (f"from topo_opt.cli.main import cli\ncli(['solve', {instance!r}, '--quiet', '--out', "
            f"{str(tmp_path / 'out.json')!r}], standalone_mode=False)\n"
            "import json\nassert json.load(open(" + repr(str(tmp_path / 'out.json')) + "))")
    assert loaded_after(code, SOLVE_WATCHED) == ["numpy"]


@pytest.fixture
def germany50(tmp_path):
    """SNDlib germany50 (50 nodes, 88 links, 662 demands) as a native JSON file, capacities sized
    as the benchmarks size them (``benchmarks/topologies.py``): gradient projection's path–arc
    matrix B is sparse by its cost rule there (skips, or fails in CI, without the collections)."""
    from topo_opt.algorithms.baselines import min_hop_sized
    from topo_opt.io.native_json import dumps_json
    from topo_opt.io.sndlib import read_sndlib
    from topo_opt.model.synthesis import with_lengths_from_coordinates

    network = min_hop_sized(with_lengths_from_coordinates(read_sndlib(benchmark_path("sndlib", "germany50.txt"))))
    path = tmp_path / "germany50.json"
    path.write_text(dumps_json(network))
    return path


@pytest.mark.parametrize("setting", ["", "SCIPY_IMPORT_COST = 0", "DENSE_WITHOUT_SCIPY_MAX_ENTRIES = 0"])
def test_a_50_node_solve_loads_no_scipy_until_dense_products_cost_more_than_its_import(germany50, tmp_path,
                                                                                      setting):
    """B stays dense without scipy while the extra cost of its dense products is below the import's
    (``SCIPY_IMPORT_COST``) and B is at most ``DENSE_WITHOUT_SCIPY_MAX_ENTRIES`` entries; without
    either allowance germany50's B is sparse, so the same solve imports scipy.  Both answers are
    certified and agree with the in-process solve (scipy loaded: sparse B) within their gaps."""
    from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
    from topo_opt.io.native_json import read_json

    out = tmp_path / "out.json"
    code = (f"import topo_opt.algorithms.gradient_projection as gp\ngp.{setting}\n" if setting else "") + (
        f"from topo_opt.cli.main import cli\ncli(['solve', {str(germany50)!r}, '--quiet', '--gap', '1e-6', "
        f"'--out', {str(out)!r}], standalone_mode=False)")
    loaded = loaded_after(code, SOLVE_WATCHED)
    assert loaded == ["numpy"] if not setting else "scipy" in loaded
    doc = json.loads(out.read_text())
    reference = solve_min_delay_gp(read_json(germany50), gap=1e-6)
    assert doc["status"] == "optimal" and doc["method"] == "gradient-projection" and doc["gap"] <= 1e-6
    assert doc["lower_bound"] <= reference.objective and reference.lower_bound <= doc["objective"]


def test_evaluating_a_solution_file_loads_no_scipy(tmp_path):
    """Reading an instance and a solution file and evaluating the design is numpy only: the
    model's sparse matrices (path–arc, node–arc) import scipy.sparse where they are built."""
    solution = tmp_path / "six.json"
    code = f"from topo_opt.cli.main import cli\ncli(['solve', 'six-node', '--quiet', '--out', {str(solution)!r}], " \
           "standalone_mode=False)"
    loaded_after(code)
    code = f"from topo_opt.cli.main import cli\ncli(['evaluate', 'six-node', {str(solution)!r}], standalone_mode=False)"
    loaded = loaded_after(code)
    assert "numpy" in loaded and "scipy" not in loaded, loaded


def test_min_delay_solve_loads_no_other_command_nor_power_profiles():
    """The commands in their own modules load when named; the card reader loads power profiles
    only for power cards."""
    from topo_opt.cli.main import _LAZY_COMMANDS

    commands = tuple(_LAZY_COMMANDS.values())
    code = "from topo_opt.cli.main import cli\ncli(['solve', 'six-node', '--quiet'], standalone_mode=False)"
    assert loaded_after(code, (*commands, "topo_opt.io.power_profile")) == []
    code = "from topo_opt.cli.main import cli\ncli(['models'], standalone_mode=False)"
    assert loaded_after(code, commands) == ["topo_opt.cli.models_command"]  # the probe sees a lazy command


def test_version_option_prints_the_package_version():
    import topo_opt

    proc = subprocess.run([sys.executable, "-m", "topo_opt", "--version"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"topo-opt, version {topo_opt.__version__}"
