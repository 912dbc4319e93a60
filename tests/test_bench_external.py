"""The benchmark scripts find the external collections by the tests' rule (benchmarks/external.py)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO, _external


def test_default_is_shared_beside_the_repository(monkeypatch):
    monkeypatch.delenv("TOPO_OPT_BENCHMARKS", raising=False)
    assert _external().benchmarks_root() == REPO.parent / "shared" / "benchmarks"


def test_environment_variable_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("TOPO_OPT_BENCHMARKS", str(tmp_path))
    (tmp_path / "sndlib").mkdir()
    external = _external()
    assert external.benchmarks_root() == tmp_path.resolve()
    assert external.collection("sndlib") == tmp_path.resolve() / "sndlib"


def test_absent_collection_stops_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("TOPO_OPT_BENCHMARKS", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit, match=r"not found at .*nowhere.*commalab.*TOPO_OPT_BENCHMARKS"):
        _external().collection("commalab", "planar", "planar100")


def test_mistyped_name_in_a_present_collection_is_not_called_a_missing_collection(monkeypatch, tmp_path):
    monkeypatch.setenv("TOPO_OPT_BENCHMARKS", str(tmp_path))
    (tmp_path / "sndlib").mkdir()
    with pytest.raises(SystemExit, match=r"^polsak.txt: no such file in the sndlib collection at .*sndlib$"):
        _external().collection("sndlib", "polsak.txt")


def test_script_run_from_another_folder_names_the_missing_collection(tmp_path):
    """A script run from elsewhere uses the rule, not the working folder, and fails in one line."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "TOPO_OPT_BENCHMARKS": str(tmp_path / "none")}
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "ga_vs_exact.py"), "--instances", "polska"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"external benchmark collection not found at {tmp_path / 'none' / 'sndlib' / 'polska.txt'} "
        "(set TOPO_OPT_BENCHMARKS to the folder holding sndlib/ and commalab/)"]
