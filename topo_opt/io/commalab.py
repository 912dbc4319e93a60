"""CommaLab multicommodity-flow instances (the ``planar`` and ``grid`` families).

Plain whitespace-separated numbers::

    <n_nodes> <n_arcs> <n_commodities>
    <from> <to> <cost> <capacity>          (n_arcs times; directed, nodes numbered from 1)
    <origin> <destination> <demand>        (n_commodities times)

These are the test families of the convex multicommodity-flow literature for the Kleinrock
objective Σ_a f_a/(c_a − f_a) (e.g. Babonneau and Vial, *ACCPM with a nonlinear constraint and
an active set strategy to solve nonlinear multicommodity flow problems*, Math. Prog. 120, 2009).

Mapping: nodes ``"1"`` … ``"n"``; arc ``i`` (1-based, file order) -> directed link ``"a<i>"`` with
``routing_cost`` = cost; commodity ``i`` -> demand ``"k<i>"`` (repeated pairs stay separate
demands).  Capacities and demands share one unit, taken as packets per second
(``rate_unit = "packet/s"``, ``link_model = "directed"``).  Rule for degenerate entries: an arc
of capacity 0 can carry no flow and a commodity of demand 0 carries no traffic, so both are
dropped and listed in ``metadata["dropped"]`` (none of the published files has either);
negative values are kept and rejected by validation with their line.

Parsing is vectorised (one ``numpy`` conversion of the token stream), so planar2500 (12 990
arcs, 81 430 commodities) loads in well under a second.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_text
from topo_opt.model.network import Demand, Link, Network, Node
from topo_opt.model.validation import build_network

_WHITESPACE = np.frombuffer(b" \t\n\r\x0b\x0c", dtype=np.uint8)


def read_commalab(path: str | os.PathLike) -> Network:
    """Read a CommaLab ``planar``/``grid`` instance file."""
    return loads_commalab(read_text(path), Path(path).name, default_name=Path(path).stem)


def _token_lines(raw: bytes) -> np.ndarray:
    """1-based line number of every whitespace-separated token of ``raw`` (vectorised)."""
    chars = np.frombuffer(raw, dtype=np.uint8)
    space = np.isin(chars, _WHITESPACE)
    starts = np.flatnonzero(~space & np.concatenate(([True], space[:-1])))
    newlines = np.flatnonzero(chars == ord("\n"))
    return np.searchsorted(newlines, starts) + 1  # newlines before each token start, + 1


def loads_commalab(text: str, source: str = "<commalab>", default_name: str = "network") -> Network:
    """Parse CommaLab text; ``source`` names the file in messages.

    Raises
    ------
    InvalidInputError
        Malformed numbers, a header that is not three counts (or announces more nodes than
        the arcs and commodities can use), a truncated file or trailing
        data (with the line), node numbers out of range or not integers, and every check of
        :func:`topo_opt.model.build_network`.
    """
    raw = text.encode()
    tokens = raw.split()
    token_line = _token_lines(raw)
    if len(tokens) < 3:
        raise InvalidInputError(f"{source}:{int(token_line[-1]) if len(tokens) else 1}: truncated file: "
                                f"expected the header '<n_nodes> <n_arcs> <n_commodities>'")
    header = []
    for token, what in zip(tokens[:3], ("number of nodes", "number of arcs", "number of commodities")):
        if not token.isdigit():
            raise InvalidInputError(f"{source}:{int(token_line[len(header)])}: malformed count "
                                    f"{token.decode(errors='replace')!r} in {what}")
        header.append(int(token))
    n_nodes, n_arcs, n_com = header
    # size check before allocating one id per node: more nodes than the arcs and commodities
    # can touch are isolated, and a corrupted header would otherwise allocate without bound
    if n_nodes > 2 * (n_arcs + n_com):
        raise InvalidInputError(
            f"{source}:{int(token_line[0])}: the header announces {n_nodes} nodes, but {n_arcs} arcs and "
            f"{n_com} commodities can use at most {2 * (n_arcs + n_com)}")
    expected = 3 + 4 * n_arcs + 3 * n_com
    if len(tokens) < expected:
        missing_at = len(tokens) - 3
        where = (f"arc {missing_at // 4 + 1}" if missing_at < 4 * n_arcs
                 else f"commodity {(missing_at - 4 * n_arcs) // 3 + 1}")
        raise InvalidInputError(
            f"{source}:{int(token_line[-1])}: truncated file: the header announces {n_arcs} arcs and "
            f"{n_com} commodities ({expected} numbers), found {len(tokens)}; data ends in {where}")
    if len(tokens) > expected:
        raise InvalidInputError(f"{source}:{int(token_line[expected])}: unexpected data after the "
                                f"last commodity: {tokens[expected].decode(errors='replace')!r}")
    try:
        values = np.array(tokens[3:], dtype=float)
    except ValueError:
        i = next(i for i, tok in enumerate(tokens[3:]) if not _is_float(tok))
        what = (f"arc a{i // 4 + 1} {('from', 'to', 'cost', 'capacity')[i % 4]}" if i < 4 * n_arcs
                else f"commodity k{(i - 4 * n_arcs) // 3 + 1} "
                     f"{('origin', 'destination', 'demand')[(i - 4 * n_arcs) % 3]}")
        raise InvalidInputError(f"{source}:{int(token_line[i + 3])}: malformed number "
                                f"{tokens[i + 3].decode(errors='replace')!r} in {what}") from None
    arcs = values[: 4 * n_arcs].reshape(n_arcs, 4)
    coms = values[4 * n_arcs:].reshape(n_com, 3)
    arc_line = token_line[3: 3 + 4 * n_arcs: 4]
    com_line = token_line[3 + 4 * n_arcs:: 3]
    for ends, line, kind in ((arcs[:, :2], arc_line, "arc"), (coms[:, :2], com_line, "commodity")):
        bad = np.flatnonzero(np.any((ends != np.round(ends)) | (ends < 1) | (ends > n_nodes), axis=1))
        if len(bad):
            i = int(bad[0])
            raise InvalidInputError(
                f"{source}:{int(line[i])}: {kind} {i + 1}: node numbers must be integers in 1..{n_nodes}, "
                f"got {ends[i, 0]:g} {ends[i, 1]:g}")

    node_ids = [str(i) for i in range(1, n_nodes + 1)]
    keep_arc = arcs[:, 3] != 0
    keep_com = coms[:, 2] != 0
    lines: dict[tuple[str, str], int] = {}
    links = []
    arc_rows = zip(np.flatnonzero(keep_arc).tolist(), arcs[keep_arc, :2].astype(np.int64).tolist(),
                   arcs[keep_arc, 2].tolist(), arcs[keep_arc, 3].tolist(), arc_line[keep_arc].tolist())
    for i, (tail, head), cost, capacity, line in arc_rows:
        link_id = f"a{i + 1}"
        lines[("link", link_id)] = line
        links.append(Link(id=link_id, source=node_ids[tail - 1], target=node_ids[head - 1],
                          capacity=capacity, routing_cost=cost))
    demands = []
    com_rows = zip(np.flatnonzero(keep_com).tolist(), coms[keep_com, :2].astype(np.int64).tolist(),
                   coms[keep_com, 2].tolist(), com_line[keep_com].tolist())
    for i, (origin, destination), rate, line in com_rows:
        demand_id = f"k{i + 1}"
        lines[("demand", demand_id)] = line
        demands.append(Demand(id=demand_id, source=node_ids[origin - 1],
                              target=node_ids[destination - 1], rate=rate))
    metadata = {"source_file": source, "source_format": "commalab",
                "rate_unit_note": "capacities and demands read as packets per second"}
    dropped = {}
    if not keep_arc.all():
        dropped["zero_capacity_arcs"] = [f"a{i + 1}" for i in np.flatnonzero(~keep_arc).tolist()]
    if not keep_com.all():
        dropped["zero_demand_commodities"] = [f"k{i + 1}" for i in np.flatnonzero(~keep_com).tolist()]
    if dropped:
        metadata["dropped"] = dropped
    return build_network(name=default_name, nodes=[Node(id=i) for i in node_ids], links=links,
                         demands=demands, rate_unit="packet/s", link_model="directed",
                         metadata=metadata, source=source, lines=lines)


def _is_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
