"""The built wheel, installed in a fresh virtual environment, runs every bundled card from an empty
folder: no repository, no ``models/`` or ``instances/`` beside it, no ``PYTHONPATH``.

The throw-away environment gets topo-opt from the wheel only; its dependencies come from the
environment running the tests (a ``.pth`` file lists that environment's site-packages, so nothing
is downloaded and a virtual environment running pytest works as well as a system Python). Where
the wheel cannot be built (no setuptools and no registry) the test skips with the reason, except
under CI (``CI`` set, as ``.ci/run`` does), where it fails.
"""
import json
import os
import shutil
import site
import stat
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import INSTANCES, MODELS, REPO

pytestmark = pytest.mark.wheel

# Run inside the fresh environment: every bundled card on a bundled instance, through the
# console-script entry point (one interpreter, so Pyomo and numpy are imported once).
RUN_CARDS = """
import sys
import topo_opt
from topo_opt.cli.main import main
from topo_opt.io.bundled import bundled_names

print(topo_opt.__file__)
failed = []
for name in bundled_names("card"):
    sys.argv = ["topo-opt", "solve", "six-node", "--model", name, "--out", name + ".json", "--quiet"]
    try:
        main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            failed.append(name)
sys.exit(f"cards that failed: {failed}" if failed else 0)
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "") not in ("", "0", "false"):
        pytest.fail(f"{reason} (CI must build and test the wheel)", pytrace=False)
    pytest.skip(reason)


def _run(args, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)


def _build_wheel(tmp: Path) -> Path:
    """``pip wheel --no-deps`` of a copy of the files the wheel is built from (so the build leaves
    no ``build/`` in the clone): without build isolation when this environment can build
    (setuptools present: nothing downloaded), else isolated (fetches setuptools)."""
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "topo_opt", "models", "instances"):
        if (REPO / name).is_dir():  # the package's data links stay links, as in a clone
            shutil.copytree(REPO / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    dist = tmp / "dist"
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist, source]
    proc = _run(base + ["--no-build-isolation"], timeout=300)
    if proc.returncode != 0:
        proc = _run(base, timeout=300)
    wheels = sorted(dist.glob("topo_opt-*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        _unavailable(f"cannot build the wheel: {proc.stderr.strip()[-300:]}")
    return wheels[0]


def _site_dirs() -> list[str]:
    """Where this interpreter finds the dependencies (never the repository itself)."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    out = []
    for d in dirs:
        if d not in out and Path(d).is_dir() and Path(d).resolve() != REPO:
            out.append(d)
    return out


def _fresh_env(root: Path) -> tuple[Path, dict]:
    """A new virtual environment seeing this environment's packages, and its process environment."""
    venv.create(root, with_pip=False, symlinks=os.name != "nt")
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   timeout=60).stdout.strip()
    Path(purelib, "_outer_site.pth").write_text("\n".join(_site_dirs()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join((str(python.parent), env.get("PATH", "")))
    return python, env


def test_wheel_holds_the_data_files_and_runs_every_card_from_an_empty_folder(tmp_path):
    wheel = _build_wheel(tmp_path)

    # package data: real files (not links) with the bytes of models/ and instances/
    expected = {f"topo_opt/models/{p.relative_to(MODELS).as_posix()}": p
                for p in [*MODELS.glob("*.toml"), *MODELS.glob("power/*.toml")]}
    expected.update({f"topo_opt/instances/{p.name}": p for p in INSTANCES.glob("*.json")})
    with zipfile.ZipFile(wheel) as archive:
        members = {info.filename: info for info in archive.infolist()}
        for name, source in expected.items():
            assert name in members, f"{name} missing from {wheel.name}"
            assert not stat.S_ISLNK(members[name].external_attr >> 16), f"{name} is a link"
            assert archive.read(name) == source.read_bytes(), name
        data = {n for n in members if n.startswith(("topo_opt/models/", "topo_opt/instances/"))}
        assert data == set(expected), "only the cards, profiles and instances are package data"

    python, env = _fresh_env(tmp_path / "venv")
    proc = _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", wheel],
                env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr

    work = tmp_path / "work"  # empty: nothing to find but the installed package
    work.mkdir()
    listing = _run(["topo-opt", "models"], cwd=work, env=env, timeout=120)
    assert listing.returncode == 0, listing.stderr
    cards = sorted(p.stem for p in MODELS.glob("*.toml"))
    assert all(name in listing.stdout for name in cards), listing.stdout
    default = _run(["topo-opt", "solve", "abilene", "--out", "default.json"], cwd=work, env=env, timeout=300)
    assert default.returncode == 0 and "optimal" in default.stdout, default.stderr
    assert json.loads((work / "default.json").read_text())["model"]["problem"] == "min-delay"

    proc = _run([python, "-c", RUN_CARDS], cwd=work, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    installed = Path(proc.stdout.splitlines()[0])
    assert installed.is_relative_to(tmp_path / "venv"), f"imported {installed}, not the wheel"
    for name in cards:
        doc = json.loads((work / f"{name}.json").read_text())
        assert doc["status"] in ("optimal", "feasible"), (name, doc["status"], doc.get("message"))
