"""Internet Topology Zoo graphs: GraphML and GML, parsed with networkx.

Knight, Nguyen, Falkner, Bowden and Roughan, *The Internet Topology Zoo*, IEEE JSAC 29(9), 2011.
The Zoo gives topologies, not traffic, and often no capacities:

* nodes: ``label`` becomes the node id when every node has a distinct non-empty label (else the
  file's node key is the id and ``metadata["node_labels"]`` keeps the labels);
  ``Longitude``/``Latitude`` (degrees) become the coordinates.
* edges: one link each (parallel edges stay separate links); id = the GraphML edge id when
  the file gives distinct ids, else ``e<i>`` in networkx order.  Undirected graphs give
  ``duplex`` links, directed graphs ``directed`` ones.  Self-loops carry no traffic: they are
  dropped and listed in ``metadata["dropped_self_loops"]``.
* capacity: ``LinkSpeedRaw`` in bit/s, else ``LinkSpeed`` × ``LinkSpeedUnits`` (K/M/G/T).
  A link without either (or with 0) has no capacity, which is an error unless the caller
  passes ``missing_capacity_bps`` (see :func:`topo_opt.io.detect.fill_missing_capacity`);
  the usual path is ``topo-opt convert --size-capacities``, which sizes them from routed
  loads (:func:`topo_opt.model.synthesis.size_capacities`).
* no demands and no lengths: add them with :mod:`topo_opt.model.synthesis`
  (``gravity_demands``, ``with_lengths_from_coordinates``).
"""
from __future__ import annotations

import io
import json
import logging
import os
import re
import warnings
import xml.etree.ElementTree as ET
import xml.sax
from pathlib import Path
from typing import Any

import networkx as nx

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import fill_missing_capacity, line_numbers, read_bytes, read_text
from topo_opt.model.network import Link, Network, Node
from topo_opt.model.validation import build_network

logger = logging.getLogger(__name__)

SPEED_UNITS = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def read_graphml(path: str | os.PathLike, *, missing_capacity_bps: float | None = None) -> Network:
    """Read a Topology Zoo GraphML file (see the module docstring for the mapping)."""
    path = Path(path)
    data = read_bytes(path)
    try:
        _check_graphml_structure(data, path.name)
        with warnings.catch_warnings():  # a key without attr.type is a string (GraphML default)
            warnings.simplefilter("ignore", UserWarning)
            graph = nx.read_graphml(io.BytesIO(data), edge_key_type=str, force_multigraph=True)
    except ET.ParseError as exc:
        raise InvalidInputError(f"{path.name}:{exc.position[0]}: invalid XML: {exc}") from None
    except LookupError as exc:  # the XML declaration names an unknown encoding
        raise InvalidInputError(f"{path.name}:1: invalid XML: {exc}") from None
    except (nx.NetworkXError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"{path.name}: invalid GraphML: {exc}") from None
    text = data.decode("utf-8", errors="replace")
    node_lines = _lines_by_key(text, r"<node\b[^>]*?\bid=\"([^\"]*)\"")
    edge_lines = _lines_by_key(text, r"<edge\b[^>]*?\bid=\"([^\"]*)\"")
    return network_from_graph(graph, path.name, path.stem, "graphml", node_lines,
                              lambda u, v, key: edge_lines.get(str(key)), missing_capacity_bps)


# GraphML vocabulary (graphml.graphdrawing.org, GraphML 1.0): elements, and the values of the
# attributes networkx reads without checking
_GRAPHML_ELEMENTS = {"graphml", "key", "default", "graph", "node", "edge", "data", "port", "hyperedge",
                     "endpoint", "desc", "locator"}
_GRAPHML_VALUES = {("key", "attr.type"): {"boolean", "int", "long", "float", "double", "string"},
                   ("key", "for"): {"graph", "node", "edge", "all", "graphml", "hyperedge", "port",
                                    "endpoint"},
                   ("graph", "edgedefault"): {"directed", "undirected"},
                   ("edge", "directed"): {"true", "false"}}
_GRAPHML_REQUIRED = {"key": ("id",), "node": ("id",), "edge": ("source", "target"), "data": ("key",)}
# attributes of <key> (yEd adds yfiles.type); a misspelt attr.name would silently rename the data
_KEY_ATTRIBUTES = {"id", "for", "attr.name", "attr.type", "yfiles.type"}
_FREE_CONTENT = {"data", "default", "desc"}  # their children are application data (e.g. yEd graphics)


class _GraphmlStructure(xml.sax.handler.ContentHandler):
    """Elements of a GraphML file checked as they are read (SAX gives their lines)."""

    def __init__(self, source: str):
        super().__init__()
        self.source, self.locator = source, None
        self.nodes: dict[str, int] = {}
        self.keys: set[str] = set()
        self.edges: list[tuple[int, str, str]] = []
        self.data: list[tuple[int, str]] = []
        self.free_depth = 0  # > 0 inside <data>, <default> or <desc>

    def setDocumentLocator(self, locator) -> None:
        self.locator = locator

    def endElement(self, name: str) -> None:
        if self.free_depth:
            self.free_depth -= 1

    def startElement(self, name: str, attrs) -> None:
        tag, line = name.rsplit(":", 1)[-1], self.locator.getLineNumber()
        where = f"{self.source}:{line}"
        if self.free_depth or tag in _FREE_CONTENT:
            self.free_depth += 1
            if self.free_depth > 1:
                return
        if tag not in _GRAPHML_ELEMENTS:
            raise InvalidInputError(f"{where}: unknown GraphML element <{name}>")
        for attribute in _GRAPHML_REQUIRED.get(tag, ()):
            if not attrs.get(attribute):
                raise InvalidInputError(f"{where}: <{tag}> without a {attribute!r} attribute")
        if tag == "key":
            for attribute in attrs.getNames():
                if attribute not in _KEY_ATTRIBUTES and ":" not in attribute:
                    raise InvalidInputError(f"{where}: <key> has an unknown attribute {attribute!r}")
        for (element, attribute), allowed in _GRAPHML_VALUES.items():
            value = attrs.get(attribute)
            if element == tag and value is not None and value not in allowed:
                raise InvalidInputError(f"{where}: <{tag}> {attribute}={value!r}: expected one of "
                                        f"{', '.join(sorted(allowed))}")
        if tag == "node":
            node_id = attrs["id"]
            if node_id in self.nodes:
                raise InvalidInputError(f"{where}: duplicate node id {node_id!r} "
                                        f"(first at line {self.nodes[node_id]})")
            self.nodes[node_id] = line
        elif tag == "key":
            self.keys.add(attrs["id"])
        elif tag == "edge":
            self.edges.append((line, attrs["source"], attrs["target"]))
        elif tag == "data":
            self.data.append((line, attrs["key"]))


def _check_graphml_structure(data: bytes, source: str) -> None:
    """Reject what networkx accepts silently.

    networkx merges duplicate nodes, creates the end nodes of an edge on the fly, skips
    elements it does not know (a misspelt ``<edge>`` vanishes), names an attribute whose
    ``attr.name`` is misspelt by its key id and reads an unknown ``edgedefault`` as undirected: one wrong
    byte would change the topology without a word (the GML reader rejects such files).  XML
    syntax errors are left to the parser that follows, which names them.
    """
    found = _GraphmlStructure(source)
    try:
        xml.sax.parseString(data, found)
    except xml.sax.SAXParseException:
        return
    for line, *ends in found.edges:
        for end in ends:
            if end not in found.nodes:
                raise InvalidInputError(f"{source}:{line}: edge to unknown node {end!r}")
    for line, key in found.data:
        if key not in found.keys:
            raise InvalidInputError(f"{source}:{line}: <data> of undeclared key {key!r}")


def read_gml(path: str | os.PathLike, *, missing_capacity_bps: float | None = None) -> Network:
    """Read a Topology Zoo GML file (nodes keyed by their GML ``id``)."""
    path = Path(path)
    text = read_text(path)
    try:
        graph = nx.parse_gml(text, label="id")
    # AttributeError: networkx's GML parser fails so on some malformed files ("node" as a value)
    except (nx.NetworkXError, ValueError, KeyError, TypeError, AttributeError) as exc:
        position = re.search(r"at \((\d+), \d+\)", str(exc))  # networkx's GML tokenizer position
        where = f"{path.name}:{position.group(1)}" if position else path.name
        what = f"malformed structure ({exc})" if isinstance(exc, AttributeError) else exc
        raise InvalidInputError(f"{where}: invalid GML: {what}") from None
    node_lines = _lines_by_key(text, r"\bnode\s*\[\s*id\s+(-?\d+)")
    pair_lines: dict[tuple[str, str], list[int]] = {}
    pattern = re.compile(r"\bedge\s*\[\s*source\s+(-?\d+)\s+target\s+(-?\d+)")
    matches = list(pattern.finditer(text))
    for match, line in zip(matches, line_numbers(text, [m.start() for m in matches]).tolist()):
        pair_lines.setdefault((match.group(1), match.group(2)), []).append(line)

    def edge_line(u: Any, v: Any, key: Any) -> int | None:
        found = pair_lines.get((str(u), str(v))) or pair_lines.get((str(v), str(u)))
        return found[min(int(key) if isinstance(key, int) else 0, len(found) - 1)] if found else None

    return network_from_graph(graph, path.name, path.stem, "gml", node_lines, edge_line,
                              missing_capacity_bps)


def _lines_by_key(text: str, pattern: str) -> dict[str, int]:
    matches = list(re.finditer(pattern, text))
    lines = line_numbers(text, [m.start() for m in matches]).tolist()
    return {m.group(1): line for m, line in zip(matches, lines)}


def _capacity_bps(data: dict[str, Any]) -> float | None:
    if "LinkSpeedRaw" in data:
        return data["LinkSpeedRaw"]
    speed, unit = data.get("LinkSpeed"), data.get("LinkSpeedUnits")
    if speed not in (None, "") and isinstance(unit, str) and unit in SPEED_UNITS:  # GML repeats give lists
        try:
            return float(speed) * SPEED_UNITS[unit]
        except ValueError:
            return speed  # rejected with its link by the number check below
    return None


def _coordinate(data: dict[str, Any], name: str) -> Any:
    return data.get(name, data.get(name.lower()))


def network_from_graph(graph: nx.Graph, source: str, name: str, fmt: str,
                       node_lines: dict[str, int], edge_line, missing_capacity_bps: float | None) -> Network:
    """Build a :class:`Network` from a Topology Zoo style networkx graph.

    ``edge_line(u, v, key)`` gives the source line of an edge (or None).
    """
    if not graph.is_multigraph():
        graph = nx.MultiDiGraph(graph) if graph.is_directed() else nx.MultiGraph(graph)
    keys = list(graph.nodes)
    labels = [graph.nodes[k].get("label") for k in keys]
    use_labels = (all(isinstance(lab, str) and lab.strip() for lab in labels)
                  and len(set(labels)) == len(labels))
    node_id = {k: (labels[i] if use_labels else str(k)) for i, k in enumerate(keys)}
    metadata: dict[str, Any] = {"source_file": source, "source_format": fmt,
                                "graph_attributes": _jsonable(graph.graph)}
    if not use_labels and any(lab is not None for lab in labels):
        metadata["node_labels"] = {node_id[k]: labels[i] for i, k in enumerate(keys) if labels[i] is not None}

    lines: dict[tuple[str, str], int] = {}
    nodes = []
    for k in keys:
        data = graph.nodes[k]
        where = f"{source}:{node_lines.get(str(k), 1)}: node {node_id[k]!r}"
        lon, lat = _coordinate(data, "Longitude"), _coordinate(data, "Latitude")
        for coord_name, value in (("Longitude", lon), ("Latitude", lat)):
            if value is not None and not isinstance(value, (int, float)):
                raise InvalidInputError(f"{where}: malformed number {value!r} in {coord_name}")
        if str(k) in node_lines:
            lines[("node", node_id[k])] = node_lines[str(k)]
        nodes.append(Node(id=node_id[k], longitude=None if lon is None else float(lon),
                          latitude=None if lat is None else float(lat)))

    edges = list(graph.edges(keys=True, data=True))
    file_ids = [key for _, _, key, _ in edges]
    use_file_ids = all(isinstance(key, str) for key in file_ids) and len(set(file_ids)) == len(file_ids)
    link_ids, ends, capacity, where, self_loops = [], [], [], [], []
    for i, (u, v, key, data) in enumerate(edges):
        link_id = key if use_file_ids else f"e{i}"
        line = edge_line(u, v, key)
        if u == v:
            self_loops.append(link_id)
            continue
        if line is not None:
            lines[("link", link_id)] = line
        here = f"{source}:{line}" if line is not None else source
        cap = _capacity_bps(data)
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, float))):
            raise InvalidInputError(f"{here}: malformed number {cap!r} in link {link_id!r} LinkSpeedRaw")
        link_ids.append(link_id)
        ends.append((node_id[u], node_id[v]))
        capacity.append(None if cap is None or cap == 0 else float(cap))
        where.append(here)
    if self_loops:
        metadata["dropped_self_loops"] = self_loops
        # info, not warning: recorded in the metadata and shown by ``topo-opt info``; a warning
        # line before an unrelated error would make that error two lines
        logger.info("%s: dropped self-loop links %s", source, self_loops)
    capacity, rule = fill_missing_capacity(capacity, link_ids, where, missing_capacity_bps)
    if rule:
        metadata["capacity_rule"] = rule
    links = [Link(id=link_id, source=s, target=t, capacity=c)
             for link_id, (s, t), c in zip(link_ids, ends, capacity)]
    return build_network(name=name, nodes=nodes, links=links, demands=(),
                         link_model="directed" if graph.is_directed() else "duplex",
                         metadata=metadata, source=source, lines=lines)


def _jsonable(attributes: dict[str, Any]) -> dict[str, Any]:
    """Graph attributes that survive JSON (others become strings)."""
    out = {}
    for key, value in attributes.items():
        if key in ("node_default", "edge_default"):  # networkx bookkeeping, not file content
            continue
        try:
            json.dumps(value, allow_nan=False)
            out[str(key)] = value
        except (TypeError, ValueError):
            out[str(key)] = str(value)
    return out
