"""Where the benchmark scripts find the external collections (SNDlib native files, CommaLab).

The one rule, used by the tests too (``tests/conftest.py`` loads this file): ``$TOPO_OPT_BENCHMARKS`` (a folder holding
``sndlib/`` and ``commalab/``), else ``../shared/benchmarks`` beside the repository root, so a
script run from any folder finds the same files as the suite.  A script that needs a collection
which is absent stops with one line naming the path and the variable; a name the collection does
not hold (a typo in ``--instances``), with one line naming the collection.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def benchmarks_root() -> Path:
    """The external benchmark folder: ``$TOPO_OPT_BENCHMARKS``, else ``../shared/benchmarks``."""
    configured = os.environ.get("TOPO_OPT_BENCHMARKS")
    return Path(configured).resolve() if configured else ROOT.parent / "shared" / "benchmarks"


def collection(*parts: str) -> Path:
    """A path inside the collections, e.g. ``collection("sndlib", "polska.txt")``; exits with a
    one-line message when it is absent."""
    path = benchmarks_root().joinpath(*parts)
    top = benchmarks_root() / parts[0]
    if not path.exists() and top.is_dir():  # a mistyped name, not a missing collection
        raise SystemExit(f"{path.relative_to(top)}: no such file in the {parts[0]} collection at {top}")
    if not path.exists():
        raise SystemExit(f"external benchmark collection not found at {path} "
                         "(set TOPO_OPT_BENCHMARKS to the folder holding sndlib/ and commalab/)")
    return path


def sndlib_converter() -> Callable:
    """``instances/convert_sndlib.py``'s ``convert``: an SNDlib native file made solvable by the
    bundled-instance rule."""
    spec = importlib.util.spec_from_file_location("convert_sndlib", ROOT / "instances" / "convert_sndlib.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.convert
