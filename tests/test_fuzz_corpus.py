"""Mutated input files of every format (tests/fuzz_corpus.py): no hang, no traceback, no silent
acceptance.  Every mutant ends, within a time bound, in exit 0 with a sane result or exit 2 with
one ``topo-opt:`` line, for both ``info`` and ``solve``.

The targeted mutants reproduce what the first fuzzing round of issue 12 found (hangs on denormal
capacities and huge delays, tracebacks on empty link sections, non-finite coordinates and hop
limits accepted without a word, GraphML edits accepted silently); each has the message it must
now give.  The corpus runs in one child process through click's CliRunner; a few cases also run
end to end as ``python -m topo_opt``.
"""
import subprocess
import sys

import pytest

from fuzz_corpus import ROOT, CliWorker, corpus, problems

MIN_DELAY = str(ROOT / "models" / "min-delay.toml")
TIME_BOUND_S = 20.0  # per command; the solves get --time-limit 5
GENERIC_PER_SEED = 60  # 7 seeds: 420 generic mutants, plus the targeted ones

# mutant -> text that info or solve must print (stdout or stderr)
EXPECTED = {
    "six-node/capacity-1e-320": "link 'AB': capacity 1e-320 bit/s is below",
    "six-node/capacity-5e-324": "link 'AB': capacity 5e-324 bit/s is below",
    "six-node/processing-1e308": "node 'A': processing_delay_s must be <= 1e+06 s",
    "six-node/length-1e308": "link 'AB': propagation delay length_m / propagation_speed_mps",
    "six-node/speed-1e-300": "link 'AB': propagation delay length_m / propagation_speed_mps",
    "six-node/links-empty": "has no links: nothing to route the 18 demands on",
    "six-node/demands-empty": "has no demands",
    "six-node/capacity-1e308-all": "the sum of the link capacities overflows",
    "six-node/rate-5e-324": "demand 'BD': rate 5e-324 bit/s is too small: its packet rate is a denormal float",
    "six-node/longitude-nan": "longitude must be a finite number, got nan",
    "abilene/capacity-1e-320": "capacity 9.99988867e-315 bit/s is below 2.12 bit/s",  # Mbit/s in the file
    "abilene/capacity-5e-324": "bit/s is below",
    "abilene/links-empty": "has no links: nothing to route",
    "abilene/coordinate-nan": "x-coordinate (longitude) must be a finite number, got 'nan'",
    "abilene/coordinate-inf": "y-coordinate (latitude) must be a finite number, got 'inf'",
    "abilene/max-path-length-1": "130 of 130 demands have a max path length (hops); the solvers do not use it",
    "abilene-xml/capacity-1e-320": "bit/s is below",
    "abilene-xml/capacity-5e-324": "bit/s is below",
    "abilene-xml/links-empty": "has no links: nothing to route",
    "abilene-xml/coordinate-nan": "x must be a finite number, got 'NaN'",
    "abilene-xml/coordinate-inf": "y must be a finite number, got 'inf'",
    "ring4/capacity-1e-320": "link 'a1': capacity 1e-320 packet/s is below",
    "ring4/capacity-5e-324": "link 'a1': capacity 5e-324 packet/s is below",
    "ring4/nodes-1e12": "the header announces 1000000000000 nodes, but 8 arcs and 3 commodities can use at most 22",
    "tiny/capacity-1e-320": "link 'edge_0': capacity",
    "tiny/capacity-5e-324": "link 'edge_0': capacity",
    "tiny/nodes-1e12": "tiny.graph",
    "zoo-gml/self-loop": "dropped self loops",
    "zoo-gml/unknown-node": "zoo.gml",
    "zoo-graphml/self-loop": "dropped self loops",
    "zoo-graphml/unknown-node": "edge to unknown node '9'",
    "zoo-graphml/duplicate-node": "duplicate node id '2'",
    "zoo-graphml/edge-misspelt": "unknown GraphML element <edgd>",
    "zoo-graphml/edgedefault-flipped": "edgedefault='undirectee': expected one of directed, undirected",
    "zoo-graphml/encoding-flipped": "zoo.graphml:1: invalid XML",
}


@pytest.fixture(scope="module")
def worker():
    cli = CliWorker(TIME_BOUND_S)
    yield cli
    cli.close()


def _check(worker, mutant, folder):
    """Run info and solve on ``mutant``; the problems found and the combined output."""
    folder.mkdir()
    path = str(mutant.write(folder))
    solution = folder / "solution.json"
    found, output = [], ""
    for args, out in ((["info", path], None),
                      (["solve", path, "--model", MIN_DELAY, "--time-limit", "5", "--out", str(solution)],
                       solution)):
        outcome = worker.run(args)
        found += [f"{mutant.name} {args[0]}: {problem}" for problem in problems(outcome, out)]
        output += outcome.stdout + outcome.stderr
    return found, output


TARGETED = [m for m in corpus(0)]


def test_every_finding_has_an_expected_message():
    assert sorted(EXPECTED) == sorted(m.name for m in TARGETED)


@pytest.mark.parametrize("mutant", TARGETED, ids=lambda m: m.name)
def test_targeted_mutant(worker, mutant, tmp_path):
    found, output = _check(worker, mutant, tmp_path / "case")
    assert not found, found
    assert EXPECTED[mutant.name] in " ".join(output.split()), output


def test_corpus(worker, tmp_path):
    """A few hundred seeded generic mutants of every format (targeted ones are tested above)."""
    generic = [m for m in corpus(GENERIC_PER_SEED) if m.name not in EXPECTED]
    assert len(generic) == 7 * GENERIC_PER_SEED
    found = []
    for i, mutant in enumerate(generic):
        found += _check(worker, mutant, tmp_path / str(i))[0]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name, command", [
    ("six-node/links-empty", "solve"), ("ring4/nodes-1e12", "info"), ("zoo-graphml/self-loop", "solve"),
])
def test_end_to_end(name, command, tmp_path):
    """The real entry point (python -m topo_opt): exit code 2, one line, no traceback."""
    mutant, = [m for m in TARGETED if m.name == name]
    path = mutant.write(tmp_path)
    args = [sys.executable, "-m", "topo_opt", command, str(path)]
    if command == "solve":
        args += ["--model", MIN_DELAY]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_worker_reports_a_hang_and_recovers(tmp_path):
    """The time bound is real: a case that runs past it (modular design of geant, minutes of MILP)
    is reported as a hang, and the restarted child runs the next case.  (A FIFO no longer blocks:
    non-regular input files are refused before they are opened.)"""
    cli = CliWorker(timeout_s=2.0)
    try:
        assert cli.run(["info", str(ROOT / "instances" / "six-node.json")]).exit_code == 0
        hung = cli.run(["solve", str(ROOT / "instances" / "geant.json"), "--model", "modular-capacity"])
        assert hung.hung and problems(hung) == ["no answer within the time bound"]
        assert cli.run(["info", str(ROOT / "instances" / "six-node.json")]).exit_code == 0
    finally:
        cli.close()
