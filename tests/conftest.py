"""Shared test fixtures: where the external benchmark collections are, and the repository's own files.

The real benchmark collections (SNDlib native files, CommaLab planar/grid) are not part of the
repository. They are found through ``TOPO_OPT_BENCHMARKS`` (a folder holding ``sndlib/`` and
``commalab/``), else ``../shared/benchmarks`` beside the clone. Tests that need them skip with a
reason when they are absent; with ``TOPO_OPT_REQUIRE_BENCHMARKS=1`` (set by CI) they fail instead,
so nothing real silently stops being tested.

A few small real instances are copied into ``tests/fixtures/real`` with the collections' layout
(SNDlib native abilene, geant, nobel-us, polska; CommaLab grid1, planar30), unchanged, so the core suite
exercises real data in any clone: :func:`real_file` prefers them.  Small networks built by
several test files (:func:`parallel_links`) are here too.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INSTANCES = REPO / "instances"
MODELS = REPO / "models"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL = FIXTURES / "real"


def popen_with_ctrl_c(args, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` whose child takes SIGINT as Ctrl-C even when this test run ignores
    it: a shell without job control starts background jobs (``.ci/run &``) with SIGINT ignored,
    the child inherits that through ``exec``, and Python then installs no KeyboardInterrupt
    handler, so the Ctrl-C tests would wait on a child that never hears the signal."""
    return subprocess.Popen(args, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


def parallel_links(c1: float, c2: float, rate: float, lengths=(None, None)):
    """Two directed links a -> b of capacities c1, c2 (packet/s), optional lengths (m); one
    demand a -> b of ``rate`` packet/s: the network of the parallel-link closed forms."""
    from topo_opt.model import Demand, Link, Node, build_network

    links = [Link("l1", "a", "b", c1, length_m=lengths[0]), Link("l2", "a", "b", c2, length_m=lengths[1])]
    return build_network(name="par", nodes=[Node("a"), Node("b")], links=links,
                         demands=[Demand("ab", "a", "b", rate)], link_model="directed",
                         rate_unit="packet/s")


def level_choices_meeting(network, levels, t_max: float, include_fixed_delay: bool = True,
                          below_cost: float | None = None):
    """Every choice of one level per link (every link's whole Pareto list of ``levels`` tried)
    whose certified min-delay T is at most ``t_max`` (s), as level indices; with
    ``below_cost`` a callable giving the cost to beat, only choices cheaper than it are routed."""
    import itertools

    import numpy as np

    from topo_opt.algorithms.support_routing import min_delay_on_support
    from topo_opt.errors import TopoOptError

    for picked in itertools.product(*[np.flatnonzero(levels.link == link) for link in range(network.n_links)]):
        picked = np.asarray(picked)
        if below_cost is not None and levels.cost[picked].sum() >= below_cost():
            continue
        try:
            delay = min_delay_on_support(network, levels.capacity[picked], gap=1e-9,
                                         include_fixed_delay=include_fixed_delay).objective
        except TopoOptError:  # disconnected or saturated
            continue
        if delay <= t_max:
            yield picked


def cheapest_level_choice(network, levels, t_max: float, include_fixed_delay: bool = True) -> float:
    """The cost of the cheapest choice of :func:`level_choices_meeting`; inf when none is."""
    best = [float("inf")]
    for picked in level_choices_meeting(network, levels, t_max, include_fixed_delay, lambda: best[0]):
        best[0] = float(levels.cost[picked].sum())
    return best[0]


def real_file(*parts: str) -> Path:
    """A real instance by its path inside the collections, e.g. ``real_file("sndlib", "abilene.txt")``:
    the unchanged copy kept in ``tests/fixtures/real`` when there is one, else the collection's file
    (inside a test: skips, or fails in CI, when absent)."""
    kept = REAL.joinpath(*parts)
    return kept if kept.is_file() else benchmark_path(*parts)


def _external():
    """``benchmarks/external.py``, loaded by path (``benchmarks/`` is no package): the one place
    the location rule of the collections is written, for the scripts and the suite alike."""
    spec = importlib.util.spec_from_file_location("topo_opt_benchmarks_external", REPO / "benchmarks" / "external.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


benchmarks_root = _external().benchmarks_root  # $TOPO_OPT_BENCHMARKS, else ../shared/benchmarks


def benchmarks_required() -> bool:
    """CI sets ``TOPO_OPT_REQUIRE_BENCHMARKS=1``: a missing collection is then a failure."""
    return os.environ.get("TOPO_OPT_REQUIRE_BENCHMARKS", "") not in ("", "0")


def _missing(path: Path) -> None:
    reason = (f"external benchmark collection not found at {path} "
              "(set TOPO_OPT_BENCHMARKS to the folder holding sndlib/ and commalab/)")
    if benchmarks_required():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def benchmark_path(*parts: str) -> Path:
    """A path inside the collections, for use inside a test: skips (or fails in CI) when absent."""
    path = benchmarks_root().joinpath(*parts)
    if not path.exists():
        _missing(path)
    return path


def benchmark_files(folder: str, pattern: str) -> list:
    """Files for ``pytest.mark.parametrize`` at collection time.

    When the folder is absent, one parameter that skips with the reason is returned, so the test
    reports why rather than vanishing; in CI (``TOPO_OPT_REQUIRE_BENCHMARKS=1``) collection fails.
    """
    path = benchmarks_root() / folder
    files = sorted(path.glob(pattern)) if path.is_dir() else []
    if files:
        return files
    reason = f"external benchmark collection not found at {path} (set TOPO_OPT_BENCHMARKS)"
    if benchmarks_required():
        raise RuntimeError(reason)
    return [pytest.param(path, marks=pytest.mark.skip(reason=reason), id="collection-absent")]


@pytest.fixture
def benchmarks() -> Path:
    """The root of the external collections (skips, or fails in CI, when absent)."""
    root = benchmarks_root()
    if not root.is_dir():
        _missing(root)
    return root
