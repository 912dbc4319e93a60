"""Validation of network instances: the only way a :class:`Network` is built.

Every reader ends in :func:`build_network`, so every format gets the same checks and the same
messages.  A message names the source (file), the line when the reader knows it, the element
and the offending value with its unit, e.g.::

    abilene.txt:47: link 'ATLAng_HSTNng': capacity must be a finite number >= 0, got -5.0 bit/s
"""
from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any, Iterable, Mapping

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.network import (
    DEFAULT_PACKET_LENGTH_BITS, DEFAULT_PROPAGATION_SPEED_MPS, LINK_MODELS, RATE_UNITS, Demand, Link, Network, Node,
)

# (kind, element id) -> line number in the source file, filled by readers that know lines
LineMap = Mapping[tuple[str, str], int]

# Sane limits.  Values beyond them make the delay model meaningless and left the solvers
# spinning on overflowing or denormal arithmetic (found by fuzzing, issue 12).
MAX_FIXED_DELAY_S = 1.0e6  # per node processing or per link propagation delay: ~11.6 days
MIN_CAPACITY_RATIO = 1.0e-9  # a capacity below 1e-9 × the largest demand rate carries nothing
SMALLEST_NORMAL = sys.float_info.min  # ~2.2e-308: below it floats are denormal (lose precision)


class _Where:
    def __init__(self, source: str, lines: LineMap | None):
        self.source = source
        self.lines = lines or {}

    def __call__(self, kind: str, element_id: str) -> str:
        line = self.lines.get((kind, element_id))
        prefix = f"{self.source}:{line}" if line is not None else self.source
        return f"{prefix}: {kind} '{element_id}'"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_number(where: str, name: str, value: Any, unit: str, *, minimum: float = 0.0,
                  strict: bool = False, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not _is_number(value) or math.isnan(value) or math.isinf(value):
        raise InvalidInputError(f"{where}: {name} must be a finite number, got {value!r} {unit}".rstrip())
    if (value <= minimum) if strict else (value < minimum):
        sign = ">" if strict else ">="
        raise InvalidInputError(f"{where}: {name} must be {sign} {minimum:g}, got {value!r} {unit}".rstrip())


def _check_capacity_floor(where: str, name: str, value: float, floor: float, unit: str) -> None:
    """A positive capacity must be a normal float and at least MIN_CAPACITY_RATIO × the
    largest demand rate (``floor``): a smaller link carries nothing and its 1/C overflows."""
    if 0 < value < floor:
        raise InvalidInputError(
            f"{where}: {name} {value!r} {unit} is below {floor:.3g} {unit} ({MIN_CAPACITY_RATIO:g} × the "
            f"largest demand rate, or the smallest normal float); give 0 or a real capacity")


def _unique(where: _Where, kind: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for element_id in ids:
        if not isinstance(element_id, str) or not element_id:
            raise InvalidInputError(f"{where.source}: {kind} id must be a non-empty string, got {element_id!r}")
        if element_id in seen:
            raise InvalidInputError(f"{where(kind, element_id)}: duplicate {kind} id")
        seen.add(element_id)


def build_network(*, name: str, nodes: Iterable[Node], links: Iterable[Link],
                  demands: Iterable[Demand], packet_length_bits: float | None = None,
                  rate_unit: str = "bit/s", link_model: str = "duplex",
                  propagation_speed_mps: float | None = None,
                  metadata: Mapping[str, Any] | None = None,
                  source: str = "<instance>", lines: LineMap | None = None) -> Network:
    """Validate the parts and return an immutable :class:`Network`.

    Raises
    ------
    InvalidInputError
        Duplicate ids, unknown nodes, negative/NaN/infinite numbers, zero capacity on an
        installed link without modules, non-positive demand rates, self-loop demands or links,
        unknown link model or rate unit; values outside the sane limits: a positive capacity
        below ``MIN_CAPACITY_RATIO`` × the largest demand rate (or denormal), a processing or
        propagation delay above ``MAX_FIXED_DELAY_S``, capacities or rates whose sum overflows.
    """
    where = _Where(source, lines)
    nodes, links, demands = tuple(nodes), tuple(links), tuple(demands)
    kwargs: dict[str, Any] = {}
    if packet_length_bits is not None:
        _check_number(source, "packet_length_bits", packet_length_bits, "bit", strict=True)
        kwargs["packet_length_bits"] = float(packet_length_bits)
    if propagation_speed_mps is not None:
        _check_number(source, "propagation_speed_mps", propagation_speed_mps, "m/s", strict=True)
        kwargs["propagation_speed_mps"] = float(propagation_speed_mps)
    if link_model not in LINK_MODELS:
        raise InvalidInputError(f"{source}: link_model must be one of {', '.join(LINK_MODELS)}, got {link_model!r}")
    if rate_unit not in RATE_UNITS:
        raise InvalidInputError(f"{source}: rate_unit must be one of {', '.join(RATE_UNITS)}, got {rate_unit!r}")
    if not nodes:
        raise InvalidInputError(f"{source}: the instance has no nodes")

    _unique(where, "node", (n.id for n in nodes))
    _unique(where, "link", (link.id for link in links))
    _unique(where, "demand", (d.id for d in demands))
    node_ids = {n.id for n in nodes}

    for n in nodes:
        w = where("node", n.id)
        _check_number(w, "processing_delay_s", n.processing_delay_s, "s")
        if n.processing_delay_s > MAX_FIXED_DELAY_S:
            raise InvalidInputError(f"{w}: processing_delay_s must be <= {MAX_FIXED_DELAY_S:g} s, "
                                    f"got {n.processing_delay_s!r} s")
        _check_number(w, "insecurity", n.insecurity, "", optional=True)
        for coord, bound in (("longitude", 180.0), ("latitude", 90.0)):
            value = getattr(n, coord)
            if value is not None:
                _check_number(w, coord, value, "deg", minimum=-bound)
                if value > bound:
                    raise InvalidInputError(f"{w}: {coord} must be within ±{bound:g}, got {value!r} deg")

    speed = kwargs.get("propagation_speed_mps", DEFAULT_PROPAGATION_SPEED_MPS)
    # a rate whose packet rate is denormal would make γ, and T = N/γ, meaningless
    packet_bits = kwargs.get("packet_length_bits", DEFAULT_PACKET_LENGTH_BITS) if rate_unit == "bit/s" else 1.0
    for d in demands:  # the rates first: they set the capacity floor
        _check_number(where("demand", d.id), "rate", d.rate, rate_unit, strict=True)
        if d.rate / packet_bits < SMALLEST_NORMAL:
            raise InvalidInputError(f"{where('demand', d.id)}: rate {d.rate!r} {rate_unit} is too small: "
                                    f"its packet rate is a denormal float")
    floor = max(SMALLEST_NORMAL, MIN_CAPACITY_RATIO * max((d.rate for d in demands), default=0.0))
    for link in links:
        w = where("link", link.id)
        for end in (link.source, link.target):
            if end not in node_ids:
                raise InvalidInputError(f"{w}: unknown node {end!r}")
        if link.source == link.target:
            raise InvalidInputError(f"{w}: self-loop at node {link.source!r}")
        _check_number(w, "capacity", link.capacity, rate_unit)
        if link.capacity == 0 and link.installed and not link.modules:
            raise InvalidInputError(
                f"{w}: capacity must be > 0 for an installed link without modules, got 0 {rate_unit}")
        _check_capacity_floor(w, "capacity", link.capacity, floor, rate_unit)
        _check_number(w, "length_m", link.length_m, "m", optional=True)
        if link.length_m is not None and not link.length_m / speed <= MAX_FIXED_DELAY_S:
            raise InvalidInputError(
                f"{w}: propagation delay length_m / propagation_speed_mps = {link.length_m!r} m / "
                f"{speed!r} m/s exceeds {MAX_FIXED_DELAY_S:g} s")
        for cost in ("capacity_cost", "preinstalled_cost", "fixed_cost", "routing_cost"):
            _check_number(w, cost, getattr(link, cost), "")
        _check_number(w, "insecurity", link.insecurity, "", optional=True)
        for module in link.modules:
            _check_number(w, "module capacity", module.capacity, rate_unit, strict=True)
            _check_capacity_floor(w, "module capacity", module.capacity, floor, rate_unit)
            _check_number(w, "module cost", module.cost, "")

    for d in demands:
        w = where("demand", d.id)
        for end in (d.source, d.target):
            if end not in node_ids:
                raise InvalidInputError(f"{w}: unknown node {end!r}")
        if d.source == d.target:
            raise InvalidInputError(f"{w}: source and target are the same node {d.source!r}")
        if d.max_path_length is not None and (not isinstance(d.max_path_length, int)
                                              or d.max_path_length < 1):
            raise InvalidInputError(f"{w}: max_path_length must be a positive integer, got {d.max_path_length!r}")
        _check_number(w, "burst", d.burst, f"{rate_unit}·s", optional=True)
        for field in ("token_rate", "peak_rate"):  # a shaper slower than the demand never empties
            _check_number(w, field, getattr(d, field), rate_unit, minimum=d.rate, optional=True)

    for what, values in (("link capacities", [link.capacity for link in links]),
                         ("demand rates", [d.rate for d in demands])):
        if not math.isfinite(sum(values)):
            raise InvalidInputError(f"{source}: the sum of the {what} overflows ({rate_unit}): "
                                    f"largest {max(values):g}")
    return Network(name=name, nodes=nodes, links=links, demands=demands, rate_unit=rate_unit,
                   link_model=link_model, metadata=dict(metadata or {}), **kwargs)


def replace_network(network: Network, **changes: Any) -> Network:
    """A validated copy of ``network`` with some fields changed (nodes, links, demands, parameters)."""
    fields = {name: getattr(network, name) for name in (
        "name", "nodes", "links", "demands", "packet_length_bits", "rate_unit",
        "link_model", "propagation_speed_mps", "metadata")}
    fields.update(changes)
    return build_network(**fields)


def sub_network(network: Network, keep_node: np.ndarray | None = None, keep_link: np.ndarray | None = None
                ) -> tuple[Network, np.ndarray]:
    """``network`` restricted to the kept nodes and links (all when None), and for every arc of
    the sub-network the index of the same arc in ``network`` (identified by its link and tail),
    so that a routing on the sub-network maps back with ``arcs -> arc_map[arcs]``.

    With every node kept, the sub-network is not validated again: each check of
    :func:`build_network` holds for a subset of a validated network's links (per-element values,
    unique ids, known end nodes, the capacity floor set by the unchanged demands, finite sums),
    and validating again was 40 % of a min-power design check on zoo:Uunet (42 nodes, 1722
    demands)."""
    keep_node = np.ones(network.n_nodes, bool) if keep_node is None else np.asarray(keep_node, bool)
    keep_link = np.ones(network.n_links, bool) if keep_link is None else np.asarray(keep_link, bool)
    links = tuple(link for link, keep in zip(network.links, keep_link) if keep)
    sub = dataclasses.replace(network, links=links) if keep_node.all() else replace_network(
        network, nodes=tuple(n for n, keep in zip(network.nodes, keep_node) if keep), links=links)
    orig_link = np.flatnonzero(keep_link)[sub.arc_link]
    orig_tail = np.array([network.node_index[node.id] for node in sub.nodes], dtype=np.int64)[sub.arc_tail]
    key = network.arc_link * network.n_nodes + network.arc_tail
    order = np.argsort(key)
    return sub, order[np.searchsorted(key[order], orig_link * network.n_nodes + orig_tail)]
