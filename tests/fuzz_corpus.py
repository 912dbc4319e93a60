"""A seeded corpus of mutated instance files of every format, and a runner with a time bound.

Seeds: the bundled instances and ``tests/fixtures`` files, one per format (native JSON, SNDlib
native, SNDlib XML, CommaLab, REPETITA, GML, GraphML).  Each mutant is a seed with one mutation:

* generic, on the bytes: a number replaced by a hostile value (0, -1, denormal, 1e308, 1e400,
  nan, inf, ...), a flipped bit, a deleted, repeated or swapped line, a truncation, a word
  replaced by another word of the file (ids: self-loops, unknown or duplicate ids);
* targeted, per format: the inputs the first fuzzing round of issue 12 found mishandled (denormal
  capacities, huge delays, empty link sections, non-finite coordinates, hop limits, a CommaLab
  header announcing 10^12 nodes, GraphML self-loops and flipped bytes).

:class:`CliWorker` runs ``topo-opt`` commands in one long-lived child process (click's
``CliRunner``, so no interpreter start per case) and kills and restarts it when a case exceeds
its time bound: a hang is a finding, not a stuck test run.
"""
from __future__ import annotations

import json
import multiprocessing
import random
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

HOSTILE_NUMBERS = ("0", "-1", "1e-320", "5e-324", "1e-300", "1e308", "1e400", "-1e308", "nan", "inf",
                   "-inf", "NaN", "1e12", "1000000000000", "0.0", "-0", "1e-9", "3.5")

COMMALAB = """4 8 3
1 2 1 10
2 1 1 10
2 3 1 10
3 2 1 10
3 4 1 10
4 3 1 10
4 1 1 10
1 4 1 10
1 3 2
2 4 3
4 2 1.5
"""


@dataclass
class Mutant:
    """One mutated instance: ``files`` maps file names to contents; ``instance`` is the one to read."""

    name: str
    fmt: str
    instance: str
    files: dict[str, bytes] = field(default_factory=dict)

    def write(self, folder: Path) -> Path:
        for file_name, content in self.files.items():
            (folder / file_name).write_bytes(content)
        return folder / self.instance


def seeds() -> list[Mutant]:
    """One valid instance per format (GraphML with every link given a speed)."""
    from topo_opt.io.detect import read_instance
    from topo_opt.io.sndlib import dumps_sndlib

    abilene = read_instance(ROOT / "instances" / "abilene.json")
    graphml = (FIXTURES / "zoo-sample.graphml").read_text().replace(
        '<data key="d7">unknown speed</data>', '<data key="d6">1000000000.0</data>')
    return [
        Mutant("six-node", "json", "six-node.json", {"six-node.json": (ROOT / "instances" / "six-node.json").read_bytes()}),
        Mutant("abilene", "sndlib", "abilene.txt", {"abilene.txt": dumps_sndlib(abilene).encode()}),
        Mutant("abilene-xml", "sndlib-xml", "abilene.xml", {"abilene.xml": (FIXTURES / "abilene-sample.xml").read_bytes()}),
        Mutant("ring4", "commalab", "ring4.dat", {"ring4.dat": COMMALAB.encode()}),
        Mutant("tiny", "repetita", "tiny.graph", {"tiny.graph": (FIXTURES / "tiny.graph").read_bytes(),
                                                  "tiny.demands": (FIXTURES / "tiny.demands").read_bytes()}),
        Mutant("zoo-gml", "gml", "zoo.gml", {"zoo.gml": (FIXTURES / "zoo-sample.gml").read_bytes()}),
        Mutant("zoo-graphml", "graphml", "zoo.graphml", {"zoo.graphml": graphml.encode()}),
    ]


# ------------------------------------------------------------------------------ generic mutations
_NUMBER = re.compile(rb"(?<![\w.])-?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.])")
_WORD = re.compile(rb"[A-Za-z_][\w\-]*")


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _number(data: bytes, rng: random.Random) -> bytes:
    found = list(_NUMBER.finditer(data))
    if not found:
        return data
    m = rng.choice(found)
    return data[:m.start()] + rng.choice(HOSTILE_NUMBERS).encode() + data[m.end():]


def _flip(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]


def _delete_line(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def _repeat_line(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    return b"\n".join(lines[:i + 1] + [lines[i]] + lines[i + 1:])


def _swap_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(1, len(data))]


def _word(data: bytes, rng: random.Random) -> bytes:
    words = list(_WORD.finditer(data)) or list(re.finditer(rb"\S+", data))  # CommaLab: numbers only
    m = rng.choice(words)
    other = rng.choice(words).group()
    return data[:m.start()] + other + data[m.end():]


GENERIC = {"number": _number, "flip": _flip, "delete-line": _delete_line, "repeat-line": _repeat_line,
           "swap-lines": _swap_lines, "truncate": _truncate, "word": _word}


# ------------------------------------------------------------------------------ targeted mutations
def _json_edit(edit):
    def mutate(data: bytes) -> bytes:
        doc = json.loads(data)
        edit(doc)
        return json.dumps(doc, indent=1).encode()
    return mutate


def _sub(pattern: bytes, replacement: bytes, count: int = 1):
    def mutate(data: bytes) -> bytes:
        out, n = re.subn(pattern, replacement, data, count=count, flags=re.S)
        assert n, pattern  # the seed must contain what the mutation changes
        return out
    return mutate


def _set(section: str, key: str, value):
    def edit(doc):
        doc[section][0][key] = value
    return edit


TARGETED: dict[str, dict[str, object]] = {
    "json": {
        "capacity-1e-320": _json_edit(_set("links", "capacity", 1e-320)),
        "capacity-5e-324": _json_edit(_set("links", "capacity", 5e-324)),
        "processing-1e308": _json_edit(_set("nodes", "processing_delay_s", 1e308)),
        "length-1e308": _json_edit(_set("links", "length_m", 1e308)),
        "speed-1e-300": _json_edit(lambda doc: (doc.__setitem__("propagation_speed_mps", 1e-300),
                                                doc["links"][0].__setitem__("length_m", 1000.0))),
        "links-empty": _json_edit(lambda doc: doc.__setitem__("links", [])),
        "demands-empty": _json_edit(lambda doc: doc.__setitem__("demands", [])),
        "capacity-1e308-all": _json_edit(lambda doc: [link.__setitem__("capacity", 1e308) for link in doc["links"]]),
        "rate-5e-324": _json_edit(_set("demands", "rate", 5e-324)),
        "longitude-nan": _sub(rb'"nodes": \[\s*\{', b'"nodes": [{"longitude": NaN, '),
    },
    "sndlib": {
        "capacity-1e-320": _sub(rb"(LINKS \(\s*\S+ \( \S+ \S+ \) )\S+", rb"\g<1>1e-320"),
        "capacity-5e-324": _sub(rb"(LINKS \(\s*\S+ \( \S+ \S+ \) )\S+", rb"\g<1>5e-324"),
        "links-empty": _sub(rb"LINKS \(.*?\n\)", b"LINKS (\n)"),
        "coordinate-nan": _sub(rb"(NODES \(\s*\S+ \( )\S+", rb"\g<1>nan"),
        "coordinate-inf": _sub(rb"(NODES \(\s*\S+ \( \S+ )\S+", rb"\g<1>inf"),
        "max-path-length-1": _sub(rb"UNLIMITED", b"1", count=0),
    },
    "sndlib-xml": {
        "capacity-1e-320": _sub(rb"<capacity>[^<]*</capacity>", b"<capacity>1e-320</capacity>"),
        "capacity-5e-324": _sub(rb"<capacity>[^<]*</capacity>", b"<capacity>5e-324</capacity>"),
        "links-empty": _sub(rb"<links>.*</links>", b"<links/>"),
        "coordinate-nan": _sub(rb"<x>[^<]*</x>", b"<x>NaN</x>"),
        "coordinate-inf": _sub(rb"<y>[^<]*</y>", b"<y>inf</y>"),
    },
    "commalab": {
        "capacity-1e-320": _sub(rb"^(\d+ \d+ \d+\n\d+ \d+ \d+ )\d+", rb"\g<1>1e-320"),
        "capacity-5e-324": _sub(rb"^(\d+ \d+ \d+\n\d+ \d+ \d+ )\d+", rb"\g<1>5e-324"),
        "nodes-1e12": _sub(rb"^4 ", b"1000000000000 "),
    },
    "repetita": {
        "capacity-1e-320": _sub(rb"(edge_0 0 1 1 )\d+", rb"\g<1>1e-320"),
        "capacity-5e-324": _sub(rb"(edge_0 0 1 1 )\d+", rb"\g<1>5e-324"),
        "nodes-1e12": _sub(rb"NODES 3", b"NODES 1000000000000"),
    },
    "gml": {
        "self-loop": _sub(rb"target 1", b"target 0"),
        "unknown-node": _sub(rb"target 1", b"target 7"),
    },
    "graphml": {
        "self-loop": _sub(rb'source="1" target="3"', b'source="1" target="1"'),
        "unknown-node": _sub(rb'source="1" target="3"', b'source="1" target="9"'),
        "duplicate-node": _sub(rb'<node id="3">', b'<node id="2">'),
        "edge-misspelt": _sub(rb'<edge id="e1"', b'<edgd id="e1"'),
        "edgedefault-flipped": _sub(rb'edgedefault="undirected"', b'edgedefault="undirectee"'),
        "encoding-flipped": _sub(rb'encoding="utf-8"', b'encoding="ttf-8"'),
    },
}


def corpus(per_seed: int, seed: int = 0) -> list[Mutant]:
    """Every targeted mutant, plus ``per_seed`` seeded generic mutants of each seed file."""
    out = []
    for base in seeds():
        data = base.files[base.instance]
        for name, mutate in TARGETED.get(base.fmt, {}).items():
            out.append(Mutant(f"{base.name}/{name}", base.fmt, base.instance,
                              {**base.files, base.instance: mutate(data)}))
        rng = random.Random(f"{seed}/{base.name}")
        for i in range(per_seed):
            kind = rng.choice(sorted(GENERIC))
            out.append(Mutant(f"{base.name}/{kind}-{i}", base.fmt, base.instance,
                              {**base.files, base.instance: GENERIC[kind](data, rng)}))
    return out


# ------------------------------------------------------------------------------ running
@dataclass
class Outcome:
    """What one command did: exit code, stdout, stderr, traceback of an uncaught exception, time."""

    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    traceback: str | None = None
    seconds: float = 0.0
    hung: bool = False


def _serve(conn) -> None:
    """Child process: run each received argument list through the CLI in-process."""
    import logging

    from click.testing import CliRunner

    from topo_opt.cli.main import cli

    runner = CliRunner()
    while True:
        args = conn.recv()
        if args is None:
            return
        logging.root.handlers.clear()  # cli() sets logging up again, writing to this run's stderr
        began = time.perf_counter()
        result = runner.invoke(cli, args, prog_name="topo-opt")
        trace = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            trace = "".join(traceback.format_exception(*result.exc_info))
        conn.send(Outcome(result.exit_code, result.stdout, result.stderr, trace,
                          time.perf_counter() - began))


class CliWorker:
    """A child process running ``topo-opt`` commands; a case over ``timeout_s`` is a hang."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self._start()

    def _start(self) -> None:
        self._conn, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        child.close()
        self._warm = False  # the first case also pays the child's imports

    def run(self, args: list[str]) -> Outcome:
        began = time.perf_counter()
        self._conn.send(args)
        if self._conn.poll(self.timeout_s + (0.0 if self._warm else 30.0)):
            self._warm = True
            return self._conn.recv()
        self._process.kill()
        self._process.join()
        self._start()
        return Outcome(None, seconds=time.perf_counter() - began, hung=True)

    def close(self) -> None:
        self._conn.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()


def problems(outcome: Outcome, solution: Path | None = None) -> list[str]:
    """What is wrong with an outcome: a hang, a traceback, an exit code other than 0 or 2, an
    error that is not exactly one ``topo-opt:`` line, or an exit-0 solve without a sane result.

    Log lines (``WARNING ...``) printed before an error are allowed; the error itself is the one
    ``topo-opt:`` line.
    """
    if outcome.hung:
        return ["no answer within the time bound"]
    found = []
    if outcome.traceback or "Traceback" in outcome.stderr:
        found.append(f"traceback: {(outcome.traceback or outcome.stderr).strip().splitlines()[-1]}")
    if outcome.exit_code == 2:
        lines = [line for line in outcome.stderr.strip().splitlines() if not line.startswith("WARNING ")]
        if len(lines) != 1 or not lines[0].startswith("topo-opt: "):
            found.append(f"error is not one 'topo-opt:' line: {outcome.stderr!r}")
    elif outcome.exit_code == 0:
        if solution is not None:
            found += _insane(solution)
    else:
        found.append(f"exit code {outcome.exit_code}: {outcome.stderr.strip()[-300:]!r}")
    return found


def _insane(solution: Path) -> list[str]:
    import math

    if not solution.exists():
        return ["solve exited 0 without writing its solution"]
    doc = json.loads(solution.read_text())
    objective, bound = doc.get("objective"), doc.get("lower_bound")
    if doc.get("status") not in ("optimal", "feasible", "time_limit", "overloaded"):
        return [f"solve exited 0 with status {doc.get('status')!r}"]
    if objective is None or not math.isfinite(objective) or objective < 0:
        return [f"solve exited 0 with objective {objective!r}"]
    if bound is not None and bound > objective * (1 + 1e-6) + 1e-12:
        return [f"lower bound {bound!r} above the objective {objective!r}"]
    return []
