"""topohub graphs as instances: ``topohub:GROUP/NAME`` (Topology Zoo, Gabriel, SNDlib, backbone).

topohub (PyPI, optional extra ``topo-opt[topohub]``) ships reference topologies as NetworkX
node-link dicts: ``topozoo/Uninett2011``, ``gabriel/50/0`` (synthetic Gabriel graphs, 25–200
nodes), ``sndlib/polska``, ``backbone/europe``.  The graphs carry no traffic and no capacities,
so an instance is made by one fixed rule (the benchmarks' and the unseen-instance tests'):

* nodes: the topohub node ids; ``pos`` = (longitude, latitude) in degrees, except for Gabriel
  graphs and graphs with a ``pos`` outside ±180/±90 (SNDlib drawing coordinates, e.g.
  pioro40), whose points lie in a plane: they get no coordinates and ``metadata["node_xy"]``
  keeps the points, as the SNDlib reader does;
* links: one ``duplex`` link ``"s-t"`` per distinct edge (parallel edges merged, self-loops
  dropped), length = great circle between the end nodes
  (:func:`topo_opt.model.synthesis.with_lengths_from_coordinates`; none for planar graphs);
* demands: gravity, r_st = V m_s m_t / Σ_{u≠v} m_u m_v with masses m = node degree and V =
  :data:`GRAVITY_TOTAL_BPS` (:func:`topo_opt.model.synthesis.gravity_demands`; the SNDlib
  group's own demands are not used, so every group is treated alike);
* capacities: none in the data, so, as for the Zoo's GraphML files, a link capacity is an error
  unless the caller passes ``missing_capacity_bps`` (:func:`topo_opt.io.detect.fill_missing_capacity`).
  The command line sizes them at once (``topo_opt.solve.instance_loader.read_network``): the smallest
  standard line rate keeping every link at or below 50 % under min-hop routing
  (:func:`topo_opt.algorithms.baselines.min_hop_sized`, the bundled-instance rule).

Reference: Jurkiewicz, *TopoHub: a repository of reference Gabriel graph and real-world
topologies for networking research*, SoftwareX 24, 2023.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
from pathlib import Path

from topo_opt.errors import InvalidInputError, SolverUnavailableError
from topo_opt.io.detect import fill_missing_capacity
from topo_opt.model.network import Link, Network, Node
from topo_opt.model.synthesis import gravity_demands, with_lengths_from_coordinates
from topo_opt.model.validation import build_network

PREFIX = "topohub:"
GRAVITY_TOTAL_BPS = 100e9
GROUPS = ("topozoo/NAME", "gabriel/N/I", "sndlib/NAME", "backbone/REGION")


def is_topohub(spec) -> bool:
    """Whether ``spec`` names a topohub graph (``topohub:GROUP/NAME``) rather than a file."""
    return isinstance(spec, str) and spec.startswith(PREFIX)


def topohub_name(spec: str) -> str:
    """The network name of the topohub graph ``spec``: its key with ``-`` for ``/``
    (``topozoo-Abilene``, ``gabriel-25-0``)."""
    return (spec[len(PREFIX):] if is_topohub(spec) else spec).replace("/", "-")


def _topohub():
    if importlib.util.find_spec("topohub") is None:
        raise SolverUnavailableError("topohub: instances need the topohub package: "
                                     "pip install 'topo-opt[topohub]'")
    return importlib.import_module("topohub")


def _unknown(key: str, topohub) -> InvalidInputError:
    """One line: the key is unknown, the key forms, and near names of its group when any."""
    data = Path(topohub.__file__).parent / "data"
    group, _, name = key.partition("/")
    known = [p.name[:-5] for p in (data / group).glob("*.json")] if group and (data / group).is_dir() else []
    near = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(f'{PREFIX}{group}/{n}' for n in near)}?" if near else ""
    return InvalidInputError(
        f"{PREFIX}{key}: no such topohub graph (keys are {', '.join(GROUPS)}: the JSON files under "
        f"{data}){hint}")


def topohub_document(spec: str) -> dict:
    """The node-link dict topohub holds for ``spec`` (``topohub:GROUP/NAME`` or ``GROUP/NAME``),
    as it is: no network built, no capacities; enough to check that the key exists.

    Raises
    ------
    SolverUnavailableError
        topohub is not installed.
    InvalidInputError
        Unknown key (the message gives the key forms and near names).
    """
    key = spec[len(PREFIX):] if is_topohub(spec) else spec
    topohub = _topohub()
    try:
        return topohub.get(key)
    except (KeyError, FileNotFoundError, OSError):
        raise _unknown(key, topohub) from None


def read_topohub(spec: str, *, missing_capacity_bps: float | None = None) -> Network:
    """The topohub graph ``spec`` (``topohub:GROUP/NAME``) with lengths and gravity demands.

    Parameters
    ----------
    spec : str
        ``topohub:topozoo/Uninett2011``, ``topohub:gabriel/25/0``, ``topohub:sndlib/polska`` ...
    missing_capacity_bps : float, optional
        Capacity of every link (topohub gives none); without it the first link is an error
        saying how to size them.

    Raises
    ------
    SolverUnavailableError
        topohub is not installed (the message names the extra).
    InvalidInputError
        Unknown key (the message gives the key forms and near names), or no capacity.
    """
    key = spec[len(PREFIX):] if is_topohub(spec) else spec
    doc = topohub_document(key)
    xy = {str(n["id"]): tuple(map(float, n["pos"])) for n in doc["nodes"]}
    # Gabriel graphs lie in a plane, and some SNDlib graphs (pioro40) carry drawing coordinates
    # outside ±180/±90: as the SNDlib reader does, those are kept in metadata, not as lon/lat
    geographic = not key.startswith("gabriel/") and all(abs(x) <= 180 and abs(y) <= 90 for x, y in xy.values())
    nodes = [Node(node_id, *(pos if geographic else ())) for node_id, pos in xy.items()]
    pairs = sorted({tuple(sorted((str(e["source"]), str(e["target"]))))
                    for e in doc["edges"] if e["source"] != e["target"]})
    ids = [f"{s}-{t}" for s, t in pairs]
    capacity, rule = fill_missing_capacity([None] * len(pairs), ids, [f"{PREFIX}{key}"] * len(pairs),
                                           missing_capacity_bps)
    metadata = {"source": f"topohub {key}", **({"capacity_rule": rule} if rule else {}),
                **({} if geographic else {"node_xy": {node_id: list(pos) for node_id, pos in xy.items()}})}
    network = build_network(name=topohub_name(key), nodes=nodes,
                            links=[Link(i, s, t, c) for i, (s, t), c in zip(ids, pairs, capacity)],
                            demands=(), link_model="duplex", metadata=metadata, source=f"{PREFIX}{key}")
    network = with_lengths_from_coordinates(network) if geographic else network
    return gravity_demands(network, GRAVITY_TOTAL_BPS, masses="degree")
