"""The layers point one way (README "Architecture"; contracts in ``[tool.importlinter]`` of
pyproject.toml): model < io, evaluators < formulations, algorithms < solve < batch, report < cli,
and inside the data model validation builds on network, never the reverse.

import-linter reads every import, function-level ones included, so a lazy import across layers
breaks the contract as well.
"""
import os
import subprocess
import sys

import pytest

from conftest import REPO

pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[test]')")

RUN = ("import sys; from importlinter.cli import lint_imports; "
       "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def test_import_contracts_are_kept():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", RUN], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout
