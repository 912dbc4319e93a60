"""SNDlib XML network files (namespace ``http://sndlib.zib.de/network``).

Same content as the native format (:mod:`topo_opt.io.sndlib`, same unit and coordinate rules)::

    <network xmlns="http://sndlib.zib.de/network" version="1.0">
      <meta><unit>MBITPERSEC</unit>...</meta>
      <networkStructure>
        <nodes coordinatesType="geographical">
          <node id="A"><coordinates><x>13.4</x><y>52.5</y></coordinates></node>
        </nodes>
        <links>
          <link id="A_B"><source>A</source><target>B</target>
            <preInstalledModule><capacity>9920</capacity><cost>0</cost></preInstalledModule>
            <routingCost>0</routingCost><setupCost>0</setupCost>
            <additionalModules><addModule><capacity>40000</capacity><cost>133</cost></addModule>
            </additionalModules></link>
        </links>
      </networkStructure>
      <demands>
        <demand id="A_B"><source>A</source><target>B</target><demandValue>3580</demandValue>
          <maxPathLength>UNLIMITED</maxPathLength></demand>
      </demands>
    </network>

Parsed with :mod:`xml.etree.ElementTree` elements built from :mod:`xml.parsers.expat` events, so
every element keeps its line number for messages.  Elements are matched by local name in the
root's namespace (files without a namespace are accepted too).  ``coordinatesType="pixel"``
marks planar coordinates explicitly; otherwise the ±180/±90 rule of the native reader applies.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.parsers import expat

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import parse_finite, parse_int, parse_number, read_bytes
from topo_opt.io.sndlib import DEFAULT_UNIT, UNITS
from topo_opt.model.network import Demand, Link, Module, Network, Node
from topo_opt.model.validation import build_network

NAMESPACE = "http://sndlib.zib.de/network"


def read_sndlib_xml(path: str | os.PathLike) -> Network:
    """Read an SNDlib XML network file."""
    return loads_sndlib_xml(read_bytes(path), Path(path).name, default_name=Path(path).stem)


def _parse(data: bytes, source: str) -> tuple[ET.Element, dict[int, int]]:
    """ElementTree of ``data`` and the line of every element (keyed by ``id(element)``)."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    element_lines: dict[int, int] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = builder.start("{" + tag if "}" in tag else tag, attrs)
        element_lines[id(element)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end("{" + tag if "}" in tag else tag)
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise InvalidInputError(f"{source}:{exc.lineno}: invalid XML: "
                                f"{expat.ErrorString(exc.code)} (column {exc.offset + 1})") from None
    except LookupError as exc:  # the XML declaration names an unknown encoding
        raise InvalidInputError(f"{source}:1: invalid XML: {exc}") from None
    return builder.close(), element_lines


class _Reader:
    """Namespace-aware access to the children of the parsed tree, with line-aware messages."""

    def __init__(self, root: ET.Element, element_lines: dict[int, int], source: str):
        self.ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        self.lines = element_lines
        self.source = source

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}" if self.ns else name

    def where(self, element: ET.Element) -> str:
        return f"{self.source}:{self.lines.get(id(element), 1)}"

    def child(self, element: ET.Element, name: str, what: str, required: bool = True) -> ET.Element | None:
        found = element.find(self.q(name))
        if found is None and required:
            raise InvalidInputError(f"{self.where(element)}: {what}: missing <{name}>")
        return found

    def text(self, element: ET.Element, name: str, what: str, required: bool = True) -> str | None:
        found = self.child(element, name, what, required)
        if found is None:
            return None
        value = (found.text or "").strip()
        if not value:
            raise InvalidInputError(f"{self.where(found)}: {what}: empty <{name}>")
        return value

    def number(self, element: ET.Element, name: str, what: str, default: float | None = None,
               finite: bool = False) -> float:
        found = self.child(element, name, what, required=default is None)
        if found is None:
            return default
        parse = parse_finite if finite else parse_number
        return parse((found.text or "").strip(), self.where(found), f"{what} {name}")

    def ident(self, element: ET.Element, kind: str) -> str:
        value = element.get("id")
        if not value:
            raise InvalidInputError(f"{self.where(element)}: {kind} without an 'id' attribute")
        return value


def loads_sndlib_xml(data: bytes, source: str = "<sndlib-xml>", default_name: str = "network") -> Network:
    """Parse SNDlib XML bytes (the XML declaration gives the encoding).

    Raises
    ------
    InvalidInputError
        XML syntax errors (with expat's line), a root that is not ``<network>``, missing
        sections or fields, malformed numbers, unknown units and every check of
        :func:`topo_opt.model.build_network`.
    """
    root, element_lines = _parse(data, source)
    r = _Reader(root, element_lines, source)
    if root.tag != r.q("network"):
        raise InvalidInputError(f"{source}:{element_lines.get(id(root), 1)}: not an SNDlib XML network "
                                f"file: root element is <{root.tag.split('}')[-1]}>")
    metadata: dict[str, Any] = {"source_file": source, "source_format": "sndlib-xml"}
    meta_el = r.child(root, "meta", "network", required=False)
    meta = {el.tag.split("}")[-1]: (el.text or "").strip() for el in ([] if meta_el is None else meta_el)}
    unit = meta.pop("unit", None)
    if unit is None:
        unit = DEFAULT_UNIT
        metadata["assumptions"] = [f"META unit absent: assumed {DEFAULT_UNIT}"]
    if unit not in UNITS:
        raise InvalidInputError(f"{source}: unknown unit {unit!r}; expected one of {', '.join(UNITS)}")
    rate_unit, factor = UNITS[unit]
    metadata["sndlib_unit"] = unit
    if meta:
        metadata["sndlib_meta"] = meta

    structure = r.child(root, "networkStructure", "network")
    nodes_el = r.child(structure, "nodes", "networkStructure")
    lines: dict[tuple[str, str], int] = {}
    node_ids, node_xy = [], {}
    for el in nodes_el.findall(r.q("node")):
        node_id = r.ident(el, "node")
        lines[("node", node_id)] = element_lines[id(el)]
        node_ids.append(node_id)
        coords = r.child(el, "coordinates", f"node {node_id!r}", required=False)
        if coords is not None:
            node_xy[node_id] = (r.number(coords, "x", f"node {node_id!r}", finite=True),
                                r.number(coords, "y", f"node {node_id!r}", finite=True))
    geographic = nodes_el.get("coordinatesType") != "pixel" and all(
        -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0 for x, y in node_xy.values())
    if node_xy and geographic:
        nodes = [Node(id=i, longitude=node_xy[i][0], latitude=node_xy[i][1]) if i in node_xy
                 else Node(id=i) for i in node_ids]
        metadata["coordinates"] = "geographic"
    else:
        nodes = [Node(id=i) for i in node_ids]
        if node_xy:
            metadata["coordinates"] = "planar"
            metadata["node_xy"] = {i: list(xy) for i, xy in node_xy.items()}

    links = []
    for el in r.child(structure, "links", "networkStructure").findall(r.q("link")):
        link_id = r.ident(el, "link")
        what = f"link {link_id!r}"
        lines[("link", link_id)] = element_lines[id(el)]
        pre = r.child(el, "preInstalledModule", what, required=False)
        capacity = 0.0 if pre is None else r.number(pre, "capacity", what)
        pre_cost = 0.0 if pre is None else r.number(pre, "cost", what)
        modules_el = r.child(el, "additionalModules", what, required=False)
        modules = tuple(
            Module(capacity=r.number(m, "capacity", what) * factor, cost=r.number(m, "cost", what))
            for m in ([] if modules_el is None else modules_el.findall(r.q("addModule"))))
        links.append(Link(id=link_id, source=r.text(el, "source", what), target=r.text(el, "target", what),
                          capacity=capacity * factor, preinstalled_cost=pre_cost,
                          routing_cost=r.number(el, "routingCost", what, default=0.0) / factor,
                          fixed_cost=r.number(el, "setupCost", what, default=0.0), modules=modules))

    demands = []
    demands_el = r.child(root, "demands", "network")
    for el in demands_el.findall(r.q("demand")):
        demand_id = r.ident(el, "demand")
        what = f"demand {demand_id!r}"
        lines[("demand", demand_id)] = element_lines[id(el)]
        max_text = r.text(el, "maxPathLength", what, required=False)
        max_len = (None if max_text in (None, "UNLIMITED")
                   else parse_int(max_text, r.where(r.child(el, "maxPathLength", what)), f"{what} maxPathLength"))
        demands.append(Demand(id=demand_id, source=r.text(el, "source", what), target=r.text(el, "target", what),
                              rate=r.number(el, "demandValue", what) * factor, max_path_length=max_len))
    return build_network(name=default_name, nodes=nodes, links=links, demands=demands,
                         rate_unit=rate_unit, metadata=metadata, source=source, lines=lines)
