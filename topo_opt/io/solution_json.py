"""Solution files: the JSON a solve writes and ``evaluate`` reads back.

Schema (``"format": "topo-opt/solution"``, version 1; documented in README.md):

* ``status`` (one-word summary), ``termination`` (why the method stopped), ``solution`` (what came
  back), ``violations`` (the card checker's findings; empty for a valid design), ``method``, ``objective_name``, ``objective_unit``, ``objective``, ``lower_bound``,
  ``gap``, ``solve_time_s``, ``iterations``, ``message``, ``details``, ``history``
* ``units``: the rate, delay and power units of every number in the file
* ``instance``: name, file and SHA-256 of the instance file the design belongs to
* ``model``: the validated model card (all defaults filled in)
* ``metrics``, ``arcs``, ``demands``: from :func:`topo_opt.evaluators.metrics.evaluate_design`
  (each demand lists its ``paths`` as ``nodes``, ``links``, ``fraction``, ``delay_s``)
* ``links``: per link ``id``, ``capacity``, ``on``; ``nodes_off``: ids of switched-off nodes

Non-finite numbers are written as ``null``.  Layout: one line per top-level key, one line per
element of a top-level list (an arc, a demand with its paths, a link, an iteration of
``history``), the small objects (``model``, ``details``, ``metrics``) indented.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from topo_opt import __version__
from topo_opt.errors import InvalidInputError
from topo_opt.io.atomic import atomic_write_text
from topo_opt.io.detect import regular_file
from topo_opt.io.topohub import is_topohub
from topo_opt.model.design import Design, Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult

FORMAT = "topo-opt/solution"
EVALUATED = ("metrics", "arcs", "demands", "nodes")
"""The parts of a document that :meth:`DesignMetrics.to_dict` builds of plain JSON types (each
array turned into a list once, non-finite numbers into None): not walked again."""


def json_clean(value: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def solution_to_dict(network: Network, result: SolveResult, evaluation: dict[str, Any],
                     instance_file: str | None = None, card: dict | None = None) -> dict[str, Any]:
    """Assemble the solution document from a result and the evaluator's ``to_dict()``."""
    design = result.design
    doc: dict[str, Any] = {
        "format": FORMAT, "version": 1, "topo_opt_version": __version__,
        "instance": {"name": network.name, "file": instance_file,
                     # a topohub graph (``topohub:KEY``) is no file: its key is the provenance
                     "sha256": file_sha256(instance_file) if instance_file and not is_topohub(instance_file)
                     else None},
        "model": card,
        "units": {"rate": network.rate_unit, "delay": "s", "power": "W", "length": "m"},
        "status": result.status.value, "termination": result.termination.value,
        "solution": result.solution.value, "violations": list(result.violations), "method": result.method,
        "objective_name": result.objective_name, "objective_unit": result.objective_unit,
        "objective": result.objective, "lower_bound": result.lower_bound, "gap": result.gap,
        "solve_time_s": result.solve_time_s, "iterations": result.iterations,
        "overloaded": bool(result.details.get("overloaded", False)),
        "message": result.message, "details": result.details,
    }
    doc.update(evaluation)
    if design is not None:
        doc["links"] = [{"id": link.id, "capacity": cap, "on": bool(on)} for link, cap, on in
                        zip(network.links, design.link_capacity, design.link_on)]
        doc["nodes_off"] = [n.id for n, on in zip(network.nodes, design.node_on) if not on]
    doc["history"] = result.history
    return {key: value if key in EVALUATED else json_clean(value) for key, value in doc.items()}


def solution_text(document: dict[str, Any]) -> str:
    """The JSON text of a document: one line per top-level key, one per element of a top-level list.

    Each line is written by json's C encoder (``json.dumps(..., indent=1)`` of the whole document
    runs the pure-Python encoder: ~4x slower on a 50 MB solution); the small non-list values keep
    ``indent=1``.
    """
    encode = json.JSONEncoder().encode
    lines = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            text = "[\n  " + ",\n  ".join(map(encode, value)) + "\n ]"
        else:  # a JSON string never holds a raw newline: indenting the lines is safe
            text = json.dumps(value, indent=1).replace("\n", "\n ")
        lines.append(f" {encode(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_solution(path: str | Path, document: dict[str, Any]) -> None:
    """Write a solution document atomically (layout: :func:`solution_text`)."""
    atomic_write_text(path, solution_text(document))


def read_solution(path: str | Path) -> dict[str, Any]:
    """The JSON document of a solution file.

    Raises
    ------
    InvalidInputError
        Missing file, not JSON (with the line), or not a ``topo-opt/solution`` document.
    """
    path = Path(path)
    try:
        doc = json.loads(regular_file(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: solution file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InvalidInputError(f"{path}{f':{line}' if line else ''}: not a JSON solution file") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidInputError(f"{path}: not a topo-opt solution file (format must be {FORMAT!r})")
    return doc


def read_design(path: str | Path, network: Network) -> Design:
    """Read a solution file's design (capacities, on/off, paths) on ``network``.

    Raises
    ------
    InvalidInputError
        Not a solution file, unknown demand/link/node ids, a path that is not a walk from the
        demand's source to its target, fractions that are negative or do not sum to 1.
    """
    path = Path(path)
    doc = read_solution(path)

    capacity = network.link_capacity.copy()
    link_on = np.ones(network.n_links, dtype=bool)
    for entry in doc.get("links", []):
        idx = network.link_index.get(entry.get("id"))
        if idx is None:
            raise InvalidInputError(f"{path}: link {entry.get('id')!r} is not in instance {network.name!r}")
        capacity[idx] = float(entry["capacity"])
        link_on[idx] = bool(entry.get("on", True))
    node_on = np.ones(network.n_nodes, dtype=bool)
    for node_id in doc.get("nodes_off", []):
        if node_id not in network.node_index:
            raise InvalidInputError(f"{path}: node {node_id!r} is not in instance {network.name!r}")
        node_on[network.node_index[node_id]] = False

    arc_of = {(int(link), int(tail)): arc for arc, (link, tail) in
              enumerate(zip(network.arc_link, network.arc_tail))}
    paths = []
    seen = np.zeros(network.n_demands, dtype=bool)
    for entry in doc.get("demands", []):
        k = network.demand_index.get(entry.get("id"))
        if k is None:
            raise InvalidInputError(f"{path}: demand {entry.get('id')!r} is not in instance {network.name!r}")
        seen[k] = True
        total = 0.0
        for p in entry.get("paths", []):
            where = f"{path}: demand {entry['id']!r} path {p.get('nodes')}"
            nodes, links, fraction = p.get("nodes", []), p.get("links", []), p.get("fraction")
            if not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1 + 1e-9:
                raise InvalidInputError(f"{where}: fraction must be in [0, 1], got {fraction!r}")
            if len(nodes) != len(links) + 1 or nodes[0] != network.demands[k].source \
                    or nodes[-1] != network.demands[k].target:
                raise InvalidInputError(f"{where}: not a path from the demand's source to its target")
            arcs = []
            for tail, link in zip(nodes, links):
                arc = arc_of.get((network.link_index.get(link, -1), network.node_index.get(tail, -1)))
                if arc is None:
                    raise InvalidInputError(f"{where}: link {link!r} does not leave node {tail!r}")
                arcs.append(arc)
            if any(network.arc_head[a] != network.node_index[n] for a, n in zip(arcs, nodes[1:])):
                raise InvalidInputError(f"{where}: links and nodes do not form a walk")
            paths.append((k, arcs, float(fraction)))
            total += fraction
        if abs(total - 1.0) > 1e-6:
            raise InvalidInputError(f"{path}: demand {entry['id']!r}: path fractions sum to {total:.9g}, not 1")
    if not seen.all():
        missing = network.demands[int(np.flatnonzero(~seen)[0])].id
        raise InvalidInputError(f"{path}: demand {missing!r} has no routing")
    return Design(capacity, Routing.from_paths(paths), link_on, node_on)
