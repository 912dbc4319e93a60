"""Bundled cards, power profiles and instances: the package data is the repository's models/ and
instances/, found by name from any folder, with paths winning over names."""
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from topo_opt.batch.spec import load_batch_file
from topo_opt.errors import InvalidInputError
from topo_opt.io.bundled import bundled_names, resolve
from topo_opt.io.power_profile import load_node_profiles, profile_file
from topo_opt.model import Link, Node, build_network
from topo_opt.solve.cards import load_card
from conftest import INSTANCES, MODELS, REPO


def _tree(root, patterns):
    return {str(p.relative_to(root)): p.read_bytes() for pattern in patterns for p in root.glob(pattern)}


def test_package_data_is_the_models_and_instances_folders():
    package = files("topo_opt")
    for folder, top, patterns in (("models", MODELS, ("*.toml", "power/*.toml")),
                                  ("instances", INSTANCES, ("*.json",))):
        data = package.joinpath(folder)
        assert data.is_dir(), f"topo_opt/{folder} must link to ../{folder} (git keeps it as a symlink)"
        shipped = _tree(Path(str(data)), patterns)
        assert shipped == _tree(top, patterns) and len(shipped) >= 4


def test_bundled_names_are_the_file_stems():
    assert bundled_names("card") == sorted(p.stem for p in MODELS.glob("*.toml"))
    assert bundled_names("power") == ["core-router", "small-router"]
    assert bundled_names("instance") == ["abilene", "geant", "nobel-us", "six-node"]


def test_a_card_by_name_from_any_folder_equals_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("min-delay", "earp-min-power.toml"):
        stem = name.removesuffix(".toml")
        by_name, by_path = load_card(name), load_card(MODELS / f"{stem}.toml")
        assert by_name.to_dict() == by_path.to_dict()
    assert load_card("min-delay", ("solver.gap=1e-3",)).get("solver.gap") == 1e-3


def test_an_existing_path_wins_over_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "min-delay").write_text('problem = "min-hop"\n')
    assert load_card("min-delay").problem == "min-hop"


@pytest.mark.parametrize("spec", ["nocard", "models/min-delay.toml", "min-delay/"])
def test_unknown_card_lists_the_bundled_names(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInputError, match=rf"^{spec}: model card not found \(not a file; bundled "
                                                 r"model cards: .*earp-min-power, .*min-delay, "):
        load_card(spec)


def test_bundled_instance_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve("six-node", "instance").read_bytes() == (INSTANCES / "six-node.json").read_bytes()
    with pytest.raises(InvalidInputError, match=r"^nowhere: instance not found .*abilene, geant"):
        resolve("nowhere", "instance")


def test_batch_file_keeps_bundled_names_and_relative_paths(tmp_path):
    (tmp_path / "mine.toml").write_text('problem = "min-hop"\n')
    batch = tmp_path / "b.toml"
    batch.write_text('models = ["min-delay", "mine.toml", {file = "ga", name = "g"}]\n')
    files_ = [entry.file for entry in load_batch_file(batch).models]
    assert files_ == ["min-delay", str(tmp_path / "mine.toml"), "ga"]


def test_batch_instances_name_files_next_to_the_batch_file_then_bundled_ones_and_topohub_keys(tmp_path):
    (tmp_path / "mine.json").write_text("{}")
    (tmp_path / "six-node").write_text("{}")  # a file next to the batch file wins over the bundled name
    batch = tmp_path / "b.toml"
    batch.write_text('instances = ["abilene", "mine.json", "six-node", "topohub:topozoo/Abilene"]\n')
    assert load_batch_file(batch).instances == (
        "abilene", str(tmp_path / "mine.json"), str(tmp_path / "six-node"), "topohub:topozoo/Abilene")


def test_power_profiles_from_a_folder_then_the_bundled_ones(tmp_path):
    own = tmp_path / "core-router.toml"
    own.write_text('source = "test"\nchassis_w = 1.0\nport_w = 2.0\n'
                   '[load]\nshape = "linear"\nw_per_gbps = 0.0\nreference_capacity_bps = 1e9\n')
    assert profile_file("core-router", tmp_path) == own
    assert profile_file("small-router", tmp_path).read_bytes() == (MODELS / "power" / "small-router.toml").read_bytes()
    assert profile_file("core-router").read_bytes() == (MODELS / "power" / "core-router.toml").read_bytes()
    net = build_network(name="n", nodes=[Node("a", power_profile="small-router"), Node("b")],
                        links=[Link("ab", "a", "b", 1e9)], demands=[])
    profiles = load_node_profiles(net, tmp_path, default="core-router")
    assert (profiles["a"].chassis_w, profiles["b"].chassis_w) == (
        load_node_profiles(net, default="small-router")["a"].chassis_w, 1.0)
    with pytest.raises(InvalidInputError, match=r"power profile 'big' not found in .* nor among the bundled "
                                                r"profiles \(core-router, small-router\)"):
        profile_file("big", tmp_path)
    with pytest.raises(InvalidInputError, match=r"nowhere: power profile folder not found"):
        profile_file("core-router", tmp_path / "nowhere")


def _run(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
    return subprocess.run([sys.executable, "-m", "topo_opt", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_models_command_lists_every_card_with_its_description(tmp_path):
    proc = _run("models", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in bundled_names("card"):
        card = load_card(name)
        assert name in proc.stdout and card.description[:40] in proc.stdout.replace("\n", " ")
    assert "core-router" in proc.stdout and "abilene, geant, nobel-us, six-node" in proc.stdout


def test_solve_by_names_from_an_empty_folder(tmp_path):
    proc = _run("solve", "six-node", "--model", "min-delay", "--out", "s.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "optimal" in proc.stdout and (tmp_path / "s.json").is_file()


@pytest.mark.parametrize("args, message", [
    (("--model", "routing-baseline", "--time-limit", "30"),
     "topo-opt: error: --time-limit does not apply to the 'routing-baseline' card "
     "(routing-baseline.toml has no solver.time_limit_s setting)"),
    (("--model", "min-hop", "--gap", "1e-3"),
     "topo-opt: error: --gap does not apply to the 'min-hop' card (min-hop.toml has no solver.gap setting)"),
    (("--model", "min-hop", "--method", "exact"),
     "topo-opt: error: --method does not apply to the 'min-hop' card (min-hop.toml has no solver.method setting)"),
])
def test_an_option_the_card_lacks_is_one_clear_line(args, message, tmp_path):
    proc = _run("solve", "abilene", *args, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == message, proc.stderr
    assert "--set" not in proc.stderr


def test_options_the_card_has_are_applied_and_checked(tmp_path):
    card = load_card("min-delay", options={"solver.method": ("--method", "flow-deviation"), "solver.gap": ("--gap", None)})
    assert card.get("solver.method") == "flow-deviation" and card.get("solver.gap") == 1e-6
    with pytest.raises(InvalidInputError, match=r"min-delay.toml with --gap: solver.gap must be a number >= 0"):
        load_card("min-delay", options={"solver.gap": ("--gap", -1.0)})
