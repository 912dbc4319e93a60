"""REPETITA topologies (``.graph``) with their traffic (``.demands``).

Gay, Schaus and Vissicchio, *REPETITA: Repeatable Experiments for Performance Evaluation of
Traffic-Engineering Algorithms*, arXiv:1710.08665, 2017.  Format::

    NODES <n>
    label x y
    <label> <x> <y>                            (n lines; x = longitude, y = latitude)

    EDGES <m>
    label src dest weight bw delay
    <label> <src> <dest> <weight> <bw> <delay> (m lines; src/dest are 0-based node numbers)

    DEMANDS <k>                                (the .demands file)
    label src dest bw
    <label> <src> <dest> <bw>

Mapping: edges are directed (REPETITA lists both directions), so ``link_model = "directed"``;
``bw`` is in kbit/s (×1e3 to bit/s); ``delay`` in µs becomes ``length_m = delay × 1e-6 × v``
with v = 2·10^8 m/s, so the propagation delay is kept exactly; the IGP ``weight`` becomes
``routing_cost``.  Node ids are the labels (the 0-based number when labels repeat).  The
demands file is the ``.graph`` path with the extension replaced by ``.demands``; without it
the instance has no demands.  ``bw = 0`` on an edge means no capacity (see
:func:`topo_opt.io.detect.fill_missing_capacity`); a zero demand carries no traffic and is
dropped (listed in ``metadata["dropped"]``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import fill_missing_capacity, parse_int, parse_number, read_text
from topo_opt.model.network import DEFAULT_PROPAGATION_SPEED_MPS, Demand, Link, Network, Node
from topo_opt.model.validation import build_network, replace_network

KBPS = 1e3  # REPETITA bandwidths are in kbit/s
METRES_PER_US = DEFAULT_PROPAGATION_SPEED_MPS / 1e6  # delay (µs) -> length at v = 2e8 m/s: 200 m/µs


def read_repetita(path: str | os.PathLike, *, missing_capacity_bps: float | None = None,
                  demands_path: str | os.PathLike | None = None) -> Network:
    """Read a REPETITA ``.graph`` file and its ``.demands`` sibling when present.

    Parameters
    ----------
    path : path-like
        The ``.graph`` file.
    missing_capacity_bps : float, optional
        Capacity for edges with ``bw = 0`` (else they are an error).
    demands_path : path-like, optional
        The demands file; default ``path`` with the extension replaced by ``.demands``.
    """
    path = Path(path)
    source = path.name
    rows = _rows(read_text(path), source)
    node_rows, i = _block(rows, 0, "NODES", 3, source)
    edge_rows, i = _block(rows, i, "EDGES", 6, source)
    if i < len(rows):
        raise InvalidInputError(f"{source}:{rows[i][0]}: unexpected data after the EDGES block")

    labels = [tokens[0] for _, tokens in node_rows]
    unique = len(set(labels)) == len(labels)
    node_ids = labels if unique else [str(k) for k in range(len(labels))]
    lines: dict[tuple[str, str], int] = {}
    nodes = []
    for node_id, (line, tokens) in zip(node_ids, node_rows):
        where = f"{source}:{line}"
        lines[("node", node_id)] = line
        nodes.append(Node(id=node_id, longitude=parse_number(tokens[1], where, f"node {node_id!r} x"),
                          latitude=parse_number(tokens[2], where, f"node {node_id!r} y")))
    metadata: dict[str, Any] = {"source_file": source, "source_format": "repetita"}
    if not unique:
        metadata["node_labels"] = dict(zip(node_ids, labels))

    link_ids, ends, capacity, where_list, extra = [], [], [], [], []
    for line, tokens in edge_rows:
        where = f"{source}:{line}"
        link_id = tokens[0]
        what = f"edge {link_id!r}"
        ends.append((_node(tokens[1], node_ids, where, f"{what} src"),
                     _node(tokens[2], node_ids, where, f"{what} dest")))
        weight = parse_number(tokens[3], where, f"{what} weight")
        bw = parse_number(tokens[4], where, f"{what} bw")
        delay = parse_number(tokens[5], where, f"{what} delay")
        lines[("link", link_id)] = line
        link_ids.append(link_id)
        capacity.append(None if bw == 0 else bw * KBPS)
        where_list.append(where)
        extra.append((weight, delay * METRES_PER_US))
    capacity, rule = fill_missing_capacity(capacity, link_ids, where_list, missing_capacity_bps)
    if rule:
        metadata["capacity_rule"] = rule
    links = [Link(id=link_id, source=s, target=t, capacity=c, routing_cost=weight, length_m=length)
             for link_id, (s, t), c, (weight, length) in zip(link_ids, ends, capacity, extra)]

    network = build_network(name=path.stem, nodes=nodes, links=links, demands=(),
                            link_model="directed", metadata=metadata, source=source, lines=lines)
    demands_file = Path(demands_path) if demands_path is not None else path.with_suffix(".demands")
    if not demands_file.exists():
        if demands_path is not None:
            raise InvalidInputError(f"{demands_file.name}: demands file not found")
        return network
    demands, dropped, demand_lines = _demands(demands_file, node_ids)
    # validate the demands against their own file, so messages name demands-file lines
    build_network(name=path.stem, nodes=network.nodes, links=(), demands=demands,
                  source=demands_file.name, lines=demand_lines)
    metadata["demands_file"] = demands_file.name
    if dropped:
        metadata["dropped"] = {"zero_demands": dropped}
    return replace_network(network, demands=tuple(demands), metadata=metadata)


def _demands(path: Path, node_ids: list[str]) -> tuple[list[Demand], list[str], dict]:
    source = path.name
    lines: dict[tuple[str, str], int] = {}
    rows = _rows(read_text(path), source)
    demand_rows, i = _block(rows, 0, "DEMANDS", 4, source)
    if i < len(rows):
        raise InvalidInputError(f"{source}:{rows[i][0]}: unexpected data after the DEMANDS block")
    demands, dropped = [], []
    for line, tokens in demand_rows:
        where = f"{source}:{line}"
        demand_id = tokens[0]
        what = f"demand {demand_id!r}"
        s = _node(tokens[1], node_ids, where, f"{what} src")
        t = _node(tokens[2], node_ids, where, f"{what} dest")
        rate = parse_number(tokens[3], where, f"{what} bw") * KBPS
        if rate == 0:
            dropped.append(demand_id)
            continue
        lines[("demand", demand_id)] = line
        demands.append(Demand(id=demand_id, source=s, target=t, rate=rate))
    return demands, dropped, lines


def _rows(text: str, source: str) -> list[tuple[int, list[str]]]:
    return [(n, line.split()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _block(rows: list, i: int, keyword: str, width: int, source: str) -> tuple[list, int]:
    """The rows of a ``<keyword> <count>`` block (after its memo line) and the next row index."""
    if i >= len(rows):
        last = rows[-1][0] if rows else 1
        raise InvalidInputError(f"{source}:{last}: missing {keyword} block (end of file reached)")
    line, tokens = rows[i]
    if len(tokens) != 2 or tokens[0] != keyword:
        raise InvalidInputError(f"{source}:{line}: expected '{keyword} <count>', got {' '.join(tokens)!r}")
    count = parse_int(tokens[1], f"{source}:{line}", f"{keyword} count")
    block = rows[i + 2: i + 2 + count]  # i + 1 is the memo line
    if len(block) < count:
        last = rows[-1][0]
        raise InvalidInputError(f"{source}:{last}: truncated file: {keyword} announces {count} lines, "
                                f"found {max(len(block), 0)}")
    for row_line, row in block:
        if len(row) != width:
            raise InvalidInputError(f"{source}:{row_line}: {keyword} line must have {width} fields, "
                                    f"got {len(row)}: {' '.join(row)!r}")
    return block, i + 2 + count


def _node(token: str, node_ids: list[str], where: str, what: str) -> str:
    index = parse_int(token, where, what)
    if not 0 <= index < len(node_ids):
        raise InvalidInputError(f"{where}: {what}: node number {index} out of range 0..{len(node_ids) - 1}")
    return node_ids[index]
