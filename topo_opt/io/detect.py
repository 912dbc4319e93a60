"""Front door of the io layer: read or write an instance in any supported format.

:func:`read_instance` detects the format from the file's *content* (its first non-blank bytes),
not from its extension, and dispatches to the reader of that format; :func:`write_instance`
writes through a temporary file in the target folder and renames it, so a failure never
leaves a partial file behind.

This module also holds the small text utilities every reader shares: :func:`regular_file`
(refuses a FIFO, device, socket or folder before opening it, since reading a FIFO with no writer
blocks for ever), :func:`read_text` (decoding with clear messages for empty and binary files), :func:`parse_number` (a malformed
number names file, line and field) and :func:`line_numbers` (character offsets to line numbers).
"""
from __future__ import annotations

import importlib
import math
import os
import re
import stat
from pathlib import Path
from typing import Callable

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.io.atomic import atomic_write_text
from topo_opt.model.network import Network

FORMATS = ("auto", "json", "sndlib", "sndlib-xml", "commalab", "graphml", "gml", "repetita")
WRITE_FORMATS = ("json", "sndlib")

# format -> (module, reader function); imported lazily because the readers import this module
_READERS = {
    "json": ("topo_opt.io.native_json", "read_json"),
    "sndlib": ("topo_opt.io.sndlib", "read_sndlib"),
    "sndlib-xml": ("topo_opt.io.sndlib_xml", "read_sndlib_xml"),
    "commalab": ("topo_opt.io.commalab", "read_commalab"),
    "graphml": ("topo_opt.io.zoo", "read_graphml"),
    "gml": ("topo_opt.io.zoo", "read_gml"),
    "repetita": ("topo_opt.io.repetita", "read_repetita"),
}
_WRITERS = {
    "json": ("topo_opt.io.native_json", "dumps_json"),
    "sndlib": ("topo_opt.io.sndlib", "dumps_sndlib"),
}
# formats whose links may lack a capacity (topologies without traffic data)
_CAPACITY_FREE = ("graphml", "gml", "repetita")

_SNIFF_BYTES = 8192
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


# --------------------------------------------------------------------------- text utilities
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def regular_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path when it is a regular file (or does not exist: opening it then says so).

    Raises
    ------
    InvalidInputError
        ``path`` is a directory, FIFO, device or socket: ``"pipe.json: not a regular file (a
        FIFO)"``.  Checked with ``stat`` before any ``open``, which on a FIFO without a writer
        would block.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        return path
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a file")
        raise InvalidInputError(f"{path}: not a regular file ({kind})")
    return path


def read_bytes(path: str | os.PathLike) -> bytes:
    """The raw content of ``path``; a missing, empty or non-regular file is an InvalidInputError."""
    path = regular_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"{path.name}: cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise InvalidInputError(f"{path.name}: empty file")
    return data


def decode_text(data: bytes, source: str) -> str:
    """Decode UTF-8 text; NUL bytes or invalid UTF-8 mean a binary file (message names the line)."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise InvalidInputError(f"{source}:{line}: not a text file (NUL byte at offset {nul})")
    try:
        return data.decode("utf-8-sig")  # a leading byte-order mark is dropped
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInputError(
            f"{source}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc


def read_text(path: str | os.PathLike) -> str:
    """Read a text file for a reader: :func:`read_bytes` then :func:`decode_text`."""
    return decode_text(read_bytes(path), Path(path).name)


def parse_number(token: str, where: str, what: str) -> float:
    """``float(token)`` for a reader; ``where`` is ``"file:line"``, ``what`` the field.

    Raises
    ------
    InvalidInputError
        ``"abilene.txt:47: malformed number 'x12' in link capacity"``.
    """
    try:
        return float(token)
    except ValueError:
        raise InvalidInputError(f"{where}: malformed number {token!r} in {what}") from None


def parse_finite(token: str, where: str, what: str) -> float:
    """:func:`parse_number` for values that validation does not see again (e.g. planar node
    coordinates kept in metadata): ``nan``, ``inf`` and overflowing literals are errors."""
    value = parse_number(token, where, what)
    if not math.isfinite(value):
        raise InvalidInputError(f"{where}: {what} must be a finite number, got {token!r}")
    return value


def parse_int(token: str, where: str, what: str) -> int:
    """``int(token)`` for a reader, with the same message as :func:`parse_number`."""
    try:
        return int(token)
    except ValueError:
        raise InvalidInputError(f"{where}: malformed integer {token!r} in {what}") from None


def line_numbers(text: str | bytes, offsets: np.ndarray) -> np.ndarray:
    """1-based line number of each character offset in ``text`` (vectorised)."""
    newline = "\n" if isinstance(text, str) else b"\n"
    breaks = np.fromiter((m.start() for m in re.finditer(re.escape(newline), text)),
                         dtype=np.int64)
    return np.searchsorted(breaks, np.asarray(offsets, dtype=np.int64), side="left") + 1


def fill_missing_capacity(capacity: list[float | None], link_ids: list[str], where: list[str],
                          missing_capacity_bps: float | None) -> tuple[list[float], dict | None]:
    """Apply the rule for links without a capacity in capacity-free topologies (Zoo, REPETITA).

    Without ``missing_capacity_bps`` the first such link is an InvalidInputError that says how
    to proceed; with it, those links get that capacity and the returned record (for
    ``metadata["capacity_rule"]``) lists them.  A capacity is never made up silently.
    """
    missing = [i for i, c in enumerate(capacity) if c is None]
    if not missing:
        return capacity, None
    if missing_capacity_bps is None:
        i = missing[0]
        raise InvalidInputError(
            f"{where[i]}: link {link_ids[i]!r} has no capacity ({len(missing)} of {len(capacity)} links "
            f"have none); size links with `topo-opt convert --size-capacities ...` or pass "
            f"missing_capacity_bps")
    filled = [missing_capacity_bps if c is None else c for c in capacity]
    rule = {"rule": "uniform capacity for links without one", "capacity_bps": missing_capacity_bps,
            "links": [link_ids[i] for i in missing]}
    return filled, rule


# --------------------------------------------------------------------------- detection
def sniff_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its first non-blank bytes (never from the extension alone).

    Rules, in order: ``{`` → json; ``?SNDlib`` header or a ``META (`` / ``NODES (`` section →
    sndlib; XML with a ``<graphml`` root → graphml, with an SNDlib ``<network`` root →
    sndlib-xml; ``graph [`` → gml; ``NODES <n>`` → repetita; three integers followed by
    numbers only → commalab.
    """
    path = Path(path)
    raw = read_bytes(path)
    data = raw.lstrip()
    if data.startswith(b"<"):  # XML declares its own encoding: sniff the bytes
        head_xml = data[:_SNIFF_BYTES]
        if re.search(rb"<(\w+:)?graphml[\s>]", head_xml):
            return "graphml"
        if re.search(rb"<(\w+:)?network[\s>]", head_xml) or b"sndlib.zib.de" in head_xml:
            return "sndlib-xml"
        raise InvalidInputError(f"{path.name}:1: XML file is neither GraphML nor SNDlib XML")
    head = decode_text(raw, path.name).lstrip()[:_SNIFF_BYTES]
    if head.startswith("{"):
        return "json"
    if head.startswith("?SNDlib") or re.search(r"^\s*(META|NODES|LINKS|DEMANDS)\s*\(", head, re.M):
        return "sndlib"
    if re.match(r"(\w+\s+(\"[^\"]*\"|\S+)\s+)*graph\s*\[", head):
        return "gml"
    if re.match(r"NODES\s+\d+\s*$", head.splitlines()[0]):
        return "repetita"
    if re.match(r"DEMANDS\s+\d+\s*$", head.splitlines()[0]):
        raise InvalidInputError(
            f"{path.name}:1: this is a REPETITA demands file; read the matching .graph file")
    tokens = head.split()[:-1] or head.split()  # the last token may be cut by the sniff window
    if len(tokens) >= 3 and all(t.isdigit() for t in tokens[:3]) and all(_NUMBER.match(t) for t in tokens):
        return "commalab"
    raise InvalidInputError(
        f"{path.name}:1: cannot detect the file format from its content "
        f"(starts with {head[:40]!r}); pass format= one of {', '.join(FORMATS[1:])}")


def _function(table: dict[str, tuple[str, str]], fmt: str) -> Callable:
    module, name = table[fmt]
    return getattr(importlib.import_module(module), name)


def read_instance(path: str | os.PathLike, format: str = "auto", *,
                  missing_capacity_bps: float | None = None) -> Network:
    """Read a network instance.

    Parameters
    ----------
    path : path-like
        The instance file (for REPETITA the ``.graph`` file; its ``.demands`` sibling is read
        when present), or a topohub graph ``"topohub:GROUP/NAME"`` (:mod:`topo_opt.io.topohub`;
        its links have no capacity, so it needs ``missing_capacity_bps``).
    format : str
        One of :data:`FORMATS`; ``"auto"`` detects it from the content (:func:`sniff_format`).
    missing_capacity_bps : float, optional
        Capacity given to links that have none in a capacity-free topology (GraphML, GML,
        REPETITA).  Without it such links are an error that says how to size them; the rule
        used is recorded in ``metadata["capacity_rule"]``.

    Returns
    -------
    Network

    Raises
    ------
    InvalidInputError
        Unknown format, undetectable content, or any parse or validation error; the message
        names the file, the line and the element.
    """
    if format not in FORMATS:
        raise InvalidInputError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if isinstance(path, str) and path.startswith("topohub:"):
        return _function({"topohub": ("topo_opt.io.topohub", "read_topohub")}, "topohub")(
            path, missing_capacity_bps=missing_capacity_bps)
    fmt = sniff_format(path) if format == "auto" else format
    reader = _function(_READERS, fmt)
    if fmt in _CAPACITY_FREE:
        return reader(path, missing_capacity_bps=missing_capacity_bps)
    return reader(path)


def write_instance(network: Network, path: str | os.PathLike, format: str = "json") -> None:
    """Write ``network`` as ``format`` (``"json"`` or ``"sndlib"``), atomically.

    The text goes to a temporary file in the same folder, which is renamed over ``path`` only
    once complete, so an error never leaves a partial or truncated output file.
    """
    if format not in WRITE_FORMATS:
        raise InvalidInputError(
            f"cannot write format {format!r}; expected one of {', '.join(WRITE_FORMATS)}")
    text = _function(_WRITERS, format)(network)
    atomic_write_text(path, text)
