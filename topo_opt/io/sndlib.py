"""SNDlib native network files (``?SNDlib native format; type: network; version: 1.0``).

Sections ``META``, ``NODES``, ``LINKS``, ``DEMANDS`` and ``ADMISSIBLE_PATHS``::

    NODES (    <node_id> ( <x> <y> )
    LINKS (    <link_id> ( <source> <target> ) <pre_installed_capacity> <pre_installed_capacity_cost>
                         <routing_cost> <setup_cost> ( {<module_capacity> <module_cost>}* )
    DEMANDS (  <demand_id> ( <source> <target> ) <routing_unit> <demand_value> <max_path_length>

What is kept, and how (Orlowski, Pióro, Tomaszewski and Wessäly, *SNDlib 1.0 -- Survivable
Network Design Library*, Networks 55(3), 2010):

* rates (pre-installed capacity, module capacities, demand values) are scaled from the META
  ``unit`` (``MBITPERSEC`` ×1e6, ``GBITPERSEC`` ×1e9, ``KBITPERSEC`` ×1e3) to bit/s; without a
  unit ``MBITPERSEC`` is assumed and the assumption recorded in ``metadata["assumptions"]``.
  The routing cost is per unit of flow, so it is divided by the same factor.
* the pre-installed capacity cost -> ``preinstalled_cost``, the setup cost -> ``fixed_cost``,
  the modules -> ``modules``; zero pre-installed capacity with modules is a capacity-design
  link.  Links are physical full-duplex links (``link_model = "duplex"``); SNDlib lists the two
  end nodes in arbitrary order.
* ``UNLIMITED`` max path length -> None; demand ids are kept (a pair may repeat).
* coordinates are geographic (x = longitude, y = latitude) unless one of them lies outside
  ±180/±90: then they are planar drawing coordinates (several SNDlib networks use pixels), the
  nodes get no longitude/latitude and ``metadata["node_xy"]`` keeps them.
* a NODES/LINKS/DEMANDS line that repeats an earlier line verbatim is dropped (nobel-us lists
  6 of its 91 demands twice) and recorded in ``metadata["dropped_repeated_lines"]``.
* routing units other than 1 are kept in ``metadata["sndlib_routing_units"]``; admissible paths
  are not used by topo-opt and only counted in ``metadata["ignored"]``.

:func:`dumps_sndlib` writes the same format back (Mbit/s for bit/s instances) so designs can go
to other tools.  Two META keys are topo-opt extensions: ``unit = PACKETPERSEC`` for packet/s
instances and ``link_model = directed|undirected``.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Callable

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import parse_finite, parse_int, parse_number, read_text
from topo_opt.model.network import (
    DEFAULT_PACKET_LENGTH_BITS, DEFAULT_PROPAGATION_SPEED_MPS, Demand, Link, Module, Network, Node,
)
from topo_opt.model.validation import build_network

logger = logging.getLogger(__name__)

# META unit -> (rate unit, factor to that unit)
UNITS = {
    "BITPERSEC": ("bit/s", 1.0),
    "KBITPERSEC": ("bit/s", 1e3),
    "MBITPERSEC": ("bit/s", 1e6),
    "GBITPERSEC": ("bit/s", 1e9),
    "PACKETPERSEC": ("packet/s", 1.0),
}
DEFAULT_UNIT = "MBITPERSEC"
SECTIONS = ("META", "NODES", "LINKS", "DEMANDS", "ADMISSIBLE_PATHS")
REQUIRED_SECTIONS = ("NODES", "LINKS", "DEMANDS")
_HEADER = "?SNDlib native format; type: network; version: 1.0"
_LINK_SYNTAX = ("<link_id> ( <source> <target> ) <pre_installed_capacity> "
                "<pre_installed_capacity_cost> <routing_cost> <setup_cost> ( {<module_capacity> <module_cost>}* )")
_DEMAND_SYNTAX = "<demand_id> ( <source> <target> ) <routing_unit> <demand_value> <max_path_length>"
_NODE_SYNTAX = "<node_id> ( <x> <y> )"
_ID_FORBIDDEN = re.compile(r"[\s()#]")


# --------------------------------------------------------------------------- reading
def read_sndlib(path: str | os.PathLike) -> Network:
    """Read an SNDlib native network file (see the module docstring for what is kept)."""
    return loads_sndlib(read_text(path), Path(path).name, default_name=Path(path).stem)


def _tokens(line: str) -> list[str]:
    return line.replace("(", " ( ").replace(")", " ) ").split()


def _sections(text: str, source: str) -> tuple[dict[str, list[tuple[int, list[str]]]], int]:
    """Split the file into sections of ``(line number, tokens)`` items; returns the last line."""
    sections: dict[str, list[tuple[int, list[str]]]] = {}
    current: str | None = None
    depth = 0
    line_no = 0
    all_lines = text.splitlines()
    for line_no, raw in enumerate(all_lines, start=1):
        if line_no == 1 and raw.startswith("?"):
            if "type: network" not in raw.replace("\t", " ").lower():
                raise InvalidInputError(f"{source}:1: not an SNDlib network file: header {raw.strip()!r}")
            continue
        tokens = _tokens(raw.split("#", 1)[0])
        if not tokens:
            continue
        if current is None:
            if len(tokens) != 2 or tokens[1] != "(":
                raise InvalidInputError(f"{source}:{line_no}: expected a section header like "
                                        f"'NODES (', got {raw.strip()[:60]!r}")
            if tokens[0] not in SECTIONS:
                raise InvalidInputError(f"{source}:{line_no}: unknown section {tokens[0]!r}; "
                                        f"expected one of {', '.join(SECTIONS)}")
            if tokens[0] in sections:
                raise InvalidInputError(f"{source}:{line_no}: section {tokens[0]} appears twice")
            current, depth = tokens[0], 0
            sections[current] = []
            continue
        depth += tokens.count("(") - tokens.count(")")
        if depth < 0:  # the closing parenthesis of the section
            if tokens != [")"]:
                raise InvalidInputError(f"{source}:{line_no}: unbalanced parentheses in section {current}")
            current = None
            continue
        if current == "ADMISSIBLE_PATHS":  # multi-line items: only count the demands
            if depth == 1 and tokens[-1] == "(":
                sections[current].append((line_no, tokens))
            continue
        if depth != 0:
            hint = " (truncated file?)" if line_no == len(all_lines) else ""
            raise InvalidInputError(f"{source}:{line_no}: unbalanced parentheses in {current} line "
                                    f"{raw.strip()[:80]!r}{hint}")
        sections[current].append((line_no, tokens))
    if current is not None:
        raise InvalidInputError(f"{source}:{line_no}: section {current} is not closed by ')' "
                                f"(truncated file?)")
    if not sections:
        raise InvalidInputError(f"{source}:{max(line_no, 1)}: not an SNDlib native file: no sections found")
    for name in REQUIRED_SECTIONS:
        if name not in sections:
            raise InvalidInputError(f"{source}:{line_no}: missing section {name} (end of file reached)")
    return sections, line_no


def loads_sndlib(text: str, source: str = "<sndlib>", default_name: str = "network") -> Network:
    """Parse SNDlib native text; ``source`` names the file in messages.

    Raises
    ------
    InvalidInputError
        Wrong header, unknown/duplicated/missing/unclosed sections, malformed lines or numbers
        (``"abilene.txt:47: malformed number 'x12' in link 'L1' pre-installed capacity"``),
        unknown unit, and every check of :func:`topo_opt.model.build_network`.
    """
    match = re.search(r"^#\s*network\s+(\S+)", text, re.M)
    name = match.group(1) if match else default_name
    sections, _ = _sections(text, source)
    metadata: dict[str, Any] = {"source_file": source, "source_format": "sndlib"}

    meta: dict[str, str] = {}
    meta_lines: dict[str, int] = {}
    for line_no, tokens in sections.get("META", []):
        key, sep, value = " ".join(tokens).partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"{source}:{line_no}: malformed META line, expected '<key> = <value>'")
        meta[key.strip()] = value.strip()
        meta_lines[key.strip()] = line_no
    unit = meta.pop("unit", None)
    if unit is None:
        unit = DEFAULT_UNIT
        metadata["assumptions"] = [f"META unit absent: assumed {DEFAULT_UNIT}"]
    if unit not in UNITS:
        raise InvalidInputError(f"{source}:{meta_lines['unit']}: unknown unit {unit!r}; "
                                f"expected one of {', '.join(UNITS)}")
    rate_unit, factor = UNITS[unit]
    link_model = meta.pop("link_model", "duplex")
    metadata["sndlib_unit"] = unit
    if meta:
        metadata["sndlib_meta"] = meta

    repeated = _drop_repeated_lines(sections)
    if repeated:
        metadata["dropped_repeated_lines"] = repeated
        logger.warning("%s: dropped lines that repeat an earlier line verbatim: %s", source, repeated)
    lines: dict[tuple[str, str], int] = {}
    nodes, node_xy = _nodes(sections["NODES"], source, lines)
    if node_xy and all(-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0 for x, y in node_xy.values()):
        nodes = [Node(id=n.id, longitude=node_xy[n.id][0], latitude=node_xy[n.id][1])
                 if n.id in node_xy else n for n in nodes]
        metadata["coordinates"] = "geographic"
    elif node_xy:
        metadata["coordinates"] = "planar"
        metadata["node_xy"] = {node_id: list(xy) for node_id, xy in node_xy.items()}
    links = _links(sections["LINKS"], source, lines, factor)
    demands, routing_units = _demands(sections["DEMANDS"], source, lines, factor)
    if routing_units:
        metadata["sndlib_routing_units"] = routing_units
    if sections.get("ADMISSIBLE_PATHS"):
        metadata["ignored"] = {"ADMISSIBLE_PATHS": f"paths given for {len(sections['ADMISSIBLE_PATHS'])} demands"}
    return build_network(name=name, nodes=nodes, links=links, demands=demands, rate_unit=rate_unit,
                         link_model=link_model, metadata=metadata, source=source, lines=lines)


def _drop_repeated_lines(sections: dict) -> dict[str, list[int]]:
    """Drop NODES/LINKS/DEMANDS lines identical to an earlier one (nobel-us repeats 6 demands).

    A repeated line is the same element written twice, not a second demand: nobel-us has 14
    nodes, hence 91 node pairs, and 97 demand lines of which 6 repeat earlier ones verbatim.  Returns the dropped line numbers per section;
    a reused id with *different* content stays and fails validation as a duplicate id.
    """
    dropped: dict[str, list[int]] = {}
    for name in REQUIRED_SECTIONS:
        seen: set[tuple[str, ...]] = set()
        kept = []
        for line_no, tokens in sections[name]:
            key = tuple(tokens)
            if key in seen:
                dropped.setdefault(name, []).append(line_no)
            else:
                seen.add(key)
                kept.append((line_no, tokens))
        sections[name] = kept
    return dropped


def _pair(tokens: list[str], where: str, kind: str, syntax: str) -> tuple[str, str, str]:
    """``<id> ( <a> <b> )`` at the start of a LINKS or DEMANDS line."""
    if len(tokens) < 5 or tokens[1] != "(" or tokens[4] != ")" or "(" in tokens[2:4] or ")" in tokens[2:4]:
        raise InvalidInputError(f"{where}: malformed {kind} line, expected '{syntax}', got {' '.join(tokens)!r}")
    return tokens[0], tokens[2], tokens[3]


def _nodes(items, source: str, lines: dict) -> tuple[list[Node], dict[str, tuple[float, float]]]:
    nodes, node_xy = [], {}
    for line_no, tokens in items:
        where = f"{source}:{line_no}"
        node_id = tokens[0]
        rest = tokens[1:]
        if len(rest) >= 4 and rest[0] == "(" and rest[3] == ")":
            x = parse_finite(rest[1], where, f"node {node_id!r} x-coordinate (longitude)")
            y = parse_finite(rest[2], where, f"node {node_id!r} y-coordinate (latitude)")
            node_xy[node_id] = (x, y)
            rest = rest[4:]
        # SNDlib 1.0 allows empty "( node_design_ids ) ( node_options )" groups after the coordinates
        if rest != ["(", ")"] * (len(rest) // 2) or node_id in ("(", ")"):
            raise InvalidInputError(f"{where}: malformed node line, expected '{_NODE_SYNTAX}', "
                                    f"got {' '.join(tokens)!r}")
        lines[("node", node_id)] = line_no
        nodes.append(Node(id=node_id))
    return nodes, node_xy


def _links(items, source: str, lines: dict, factor: float) -> list[Link]:
    links = []
    for line_no, tokens in items:
        where = f"{source}:{line_no}"
        link_id, a, b = _pair(tokens, where, "link", _LINK_SYNTAX)
        if len(tokens) < 11 or tokens[9] != "(" or tokens[-1] != ")" or "(" in tokens[5:9]:
            raise InvalidInputError(f"{where}: malformed link line, expected '{_LINK_SYNTAX}', "
                                    f"got {' '.join(tokens)!r}")
        what = f"link {link_id!r}"
        capacity, pre_cost, routing_cost, setup_cost = (
            parse_number(tok, where, f"{what} {field}") for tok, field in zip(tokens[5:9], (
                "pre-installed capacity", "pre-installed capacity cost", "routing cost", "setup cost")))
        module_tokens = tokens[10:-1]
        if len(module_tokens) % 2:
            raise InvalidInputError(f"{where}: {what}: module list must hold (capacity, cost) pairs, "
                                    f"got {len(module_tokens)} numbers")
        modules = tuple(
            Module(capacity=parse_number(module_tokens[i], where, f"{what} module capacity") * factor,
                   cost=parse_number(module_tokens[i + 1], where, f"{what} module cost"))
            for i in range(0, len(module_tokens), 2))
        lines[("link", link_id)] = line_no
        links.append(Link(id=link_id, source=a, target=b, capacity=capacity * factor,
                          preinstalled_cost=pre_cost, routing_cost=routing_cost / factor,
                          fixed_cost=setup_cost, modules=modules))
    return links


def _demands(items, source: str, lines: dict, factor: float) -> tuple[list[Demand], dict[str, float]]:
    demands, routing_units = [], {}
    for line_no, tokens in items:
        where = f"{source}:{line_no}"
        demand_id, s, t = _pair(tokens, where, "demand", _DEMAND_SYNTAX)
        if len(tokens) != 8:
            raise InvalidInputError(f"{where}: malformed demand line, expected '{_DEMAND_SYNTAX}', "
                                    f"got {' '.join(tokens)!r}")
        what = f"demand {demand_id!r}"
        unit = parse_number(tokens[5], where, f"{what} routing unit")
        value = parse_number(tokens[6], where, f"{what} demand value")
        max_len = None if tokens[7] == "UNLIMITED" else parse_int(tokens[7], where, f"{what} max path length")
        if unit != 1.0:
            routing_units[demand_id] = unit
        lines[("demand", demand_id)] = line_no
        demands.append(Demand(id=demand_id, source=s, target=t, rate=value * factor,
                              max_path_length=max_len))
    return demands, routing_units


# --------------------------------------------------------------------------- writing
def dumps_sndlib(network: Network) -> str:
    """SNDlib native text of ``network`` (rates in Mbit/s for bit/s instances).

    What SNDlib cannot express (lengths, processing delays, power profiles, insecurity,
    capacity cost, candidate links, demand classes, packet length) is dropped with a logged
    warning.  Numbers are written with the fewest digits that read back to the same float.

    Raises
    ------
    InvalidInputError
        An id contains whitespace, a parenthesis or ``#`` (SNDlib tokens cannot).
    """
    if network.rate_unit == "packet/s":
        unit = "PACKETPERSEC"
    else:
        unit = "MBITPERSEC"
    factor = UNITS[unit][1]
    _warn_dropped(network)
    for kind, records in (("node", network.nodes), ("link", network.links), ("demand", network.demands)):
        for record in records:
            if _ID_FORBIDDEN.search(record.id):
                raise InvalidInputError(f"{network.name}: {kind} {record.id!r}: SNDlib ids cannot "
                                        f"contain whitespace, parentheses or '#'")

    rate = _formatter(factor, multiply=True)
    per_rate = _formatter(factor, multiply=False)
    plain = _formatter(1.0, multiply=True)
    meta = {"unit": unit}
    if network.link_model != "duplex":
        meta["link_model"] = network.link_model
    meta.update({k: str(v) for k, v in dict(network.metadata.get("sndlib_meta", {})).items()})
    xy = dict(network.metadata.get("node_xy", {}))
    routing_units = dict(network.metadata.get("sndlib_routing_units", {}))

    out = [_HEADER, f"# network {network.name}", "", "# META SECTION", "", "META ("]
    out += [f"  {key} = {value}" for key, value in meta.items()]
    out += [")", "", "# NODE SECTION", "#", "# <node_id> [(<longitude>, <latitude>)]", "", "NODES ("]
    for node in network.nodes:
        if node.longitude is not None and node.latitude is not None:
            out.append(f"  {node.id} ( {plain(node.longitude)} {plain(node.latitude)} )")
        elif node.id in xy:
            out.append(f"  {node.id} ( {plain(xy[node.id][0])} {plain(xy[node.id][1])} )")
        else:
            out.append(f"  {node.id}")
    out += [")", "", "# LINK SECTION", "#", f"# {_LINK_SYNTAX}", "", "LINKS ("]
    for link in network.links:
        modules = " ".join(f"{rate(m.capacity)} {plain(m.cost)}" for m in link.modules)
        out.append(f"  {link.id} ( {link.source} {link.target} ) {rate(link.capacity)} "
                   f"{plain(link.preinstalled_cost)} {per_rate(link.routing_cost)} "
                   f"{plain(link.fixed_cost)} ( {modules + ' ' if modules else ''})")
    out += [")", "", "# DEMAND SECTION", "#", f"# {_DEMAND_SYNTAX}", "", "DEMANDS ("]
    for demand in network.demands:
        max_len = "UNLIMITED" if demand.max_path_length is None else str(demand.max_path_length)
        out.append(f"  {demand.id} ( {demand.source} {demand.target} ) "
                   f"{plain(float(routing_units.get(demand.id, 1.0)))} {rate(demand.rate)} {max_len}")
    out += [")", "", "# ADMISSIBLE PATHS SECTION", "#", "# <demand_id> ( {<path_id> ( <link_id>+ )}+ )",
            "", "ADMISSIBLE_PATHS (", ")", ""]
    return "\n".join(out)


def _formatter(factor: float, multiply: bool) -> Callable[[float], str]:
    """Shortest decimal of ``value`` in file units that the reader turns back into ``value``.

    The reader computes ``float(text) * factor`` (``multiply``) or ``float(text) / factor``.
    """
    def back(text: str) -> float:
        return float(text) * factor if multiply else float(text) / factor

    def fmt(value: float) -> str:
        scaled = value / factor if multiply else value * factor
        for text in (repr(scaled), f"{scaled:.15g}", f"{scaled:.16g}", f"{scaled:.17g}"):
            if back(text) == value:
                return text
        return repr(scaled)

    return fmt


def _warn_dropped(network: Network) -> None:
    dropped = []
    if any(n.processing_delay_s or n.power_profile or n.insecurity is not None for n in network.nodes):
        dropped.append("node processing delays/power profiles/insecurity")
    if any(link.length_m is not None or link.capacity_cost or not link.installed
           or link.insecurity is not None for link in network.links):
        dropped.append("link lengths/capacity costs/candidate flags/insecurity")
    if any(d.demand_class != "default" for d in network.demands):
        dropped.append("demand classes")
    if (network.packet_length_bits != DEFAULT_PACKET_LENGTH_BITS
            or network.propagation_speed_mps != DEFAULT_PROPAGATION_SPEED_MPS):
        dropped.append("packet length/propagation speed")
    if dropped:
        logger.warning("%s: SNDlib cannot express %s; they are not written",
                       network.name, ", ".join(dropped))
