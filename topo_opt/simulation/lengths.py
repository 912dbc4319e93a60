"""Packet length distributions of the simulator, and the buffer sizes of its queues.

A length model fixes the mean L̄ (bit, or packets for packet/s instances: L̄ = 1) and the
squared coefficient of variation c_s² = Var(L)/L̄² that the Pollaczek–Khinchine formula needs:

==========  ===============================================  =====  =====================
name        lengths                                          c_s²   exact queue model
==========  ===============================================  =====  =====================
redrawn     exponential, drawn again at every hop            1      Kleinrock (Kelly net)
kept        exponential at the source, kept across hops      1      none (M/M/1 approx.)
fixed       L̄ for every packet                               0      M/D/1 on one link
empirical   sizes (bytes) with weights, kept across hops     Σw(s−m)²/m²  M/G/1 on one link
==========  ===============================================  =====  =====================
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.simulation import engine

BITS_PER_BYTE = 8
LENGTH_MODES = {"redrawn": engine.REDRAWN, "kept": engine.KEPT, "fixed": engine.FIXED,
                "empirical": engine.EMPIRICAL}


@dataclass(frozen=True)
class PacketLengths:
    """How packet lengths are drawn.

    Attributes
    ----------
    kind : {"redrawn", "kept", "fixed", "empirical"}
    sizes_bits, weights : tuple of float
        ``empirical`` only: the possible lengths (bit) and their probabilities (sum 1).
    """

    kind: str = "redrawn"
    sizes_bits: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "PacketLengths":
        """``redrawn``, ``kept``, ``fixed`` or ``empirical:SIZES:WEIGHTS``.

        SIZES are comma-separated byte counts, WEIGHTS their relative frequencies, e.g.
        ``empirical:64,1500:0.6,0.4`` (a bimodal mix of 64- and 1500-byte packets).

        Raises
        ------
        InvalidInputError
            Unknown kind, sizes and weights that differ in number, a size ≤ 0 or a negative
            weight, weights summing to 0.
        """
        kind, _, rest = text.partition(":")
        if kind not in LENGTH_MODES or (kind != "empirical" and rest):
            raise InvalidInputError(f"--lengths must be redrawn, kept, fixed or empirical:SIZES:WEIGHTS "
                                    f"(bytes, e.g. empirical:64,1500:0.6,0.4), got {text!r}")
        if kind != "empirical":
            return cls(kind)
        parts = rest.split(":")
        try:
            sizes, weights = ([float(x) for x in part.split(",")] for part in parts) if len(parts) == 2 \
                else ([], [])
        except ValueError:
            sizes, weights = [], []
        if not sizes or len(sizes) != len(weights) or min(sizes) <= 0 or min(weights) < 0 \
                or not all(map(math.isfinite, sizes + weights)) or sum(weights) <= 0:
            raise InvalidInputError(f"--lengths {text!r}: expected empirical:SIZES:WEIGHTS with as many "
                                    "sizes (bytes > 0) as weights (>= 0, not all 0), e.g. "
                                    "empirical:64,1500:0.6,0.4")
        total = sum(weights)
        return cls("empirical", tuple(s * BITS_PER_BYTE for s in sizes), tuple(w / total for w in weights))

    def mean(self, default_mean: float) -> float:
        """L̄: the empirical mean, else ``default_mean`` (the instance's packet length)."""
        if self.kind == "empirical":
            return float(np.dot(self.sizes_bits, self.weights))
        return default_mean

    @property
    def cs2(self) -> float:
        """Squared coefficient of variation of the length, c_s² = Var(L)/L̄²."""
        if self.kind == "fixed":
            return 0.0
        if self.kind == "empirical":
            sizes, weights = np.asarray(self.sizes_bits), np.asarray(self.weights)
            m = float(sizes @ weights)
            return float(((sizes - m) ** 2) @ weights) / m ** 2
        return 1.0

    @property
    def exponential(self) -> bool:
        return self.kind in ("redrawn", "kept")


_BUFFER = re.compile(r"^\s*([0-9.eE+]+)\s*(pkts?|packets?|bytes?|B)?\s*$")


@dataclass(frozen=True)
class Buffers:
    """Drop-tail buffer sizes; ``None`` is infinite.

    Attributes
    ----------
    default : float or None
        Size of every queue's buffer without an entry in ``per_link``.
    unit : {"packets", "bits"}
        Packets (the one in transmission included, K of M/M/1/K) or bits of unfinished work.
    per_link : dict link id -> float
        Sizes of particular links' queues (both directions of the link), same unit.
    """

    default: float | None = None
    unit: str = "packets"
    per_link: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None, per_link: dict[str, str] | None = None) -> "Buffers":
        """``N``, ``Npkts`` or ``Nbytes`` (``None``: infinite); ``per_link`` values alike.

        Raises
        ------
        InvalidInputError
            A size that is not a number ≥ 1 packet (integer) or > 0 bytes, or per-link sizes in
            another unit than the default.
        """
        entries = {"": text} if text is not None else {}
        entries.update(per_link or {})
        units, sizes = set(), {}
        for link, value in entries.items():
            match = _BUFFER.match(value)
            unit = "bits" if match and (match.group(2) or "p")[0] in "bB" else "packets"
            try:
                size = float(match.group(1)) if match else math.nan
            except ValueError:
                size = math.nan
            if not math.isfinite(size) or size <= 0 or (unit == "packets" and (size < 1 or size != int(size))):
                where = f"--link-buffer {link}=" if link else "--buffer "
                raise InvalidInputError(f"{where}{value!r}: expected an integer >= 1 with an optional "
                                        "'pkts', or a size > 0 with 'bytes' (e.g. 50, 50pkts, 64000bytes)")
            units.add(unit)
            sizes[link] = size * BITS_PER_BYTE if unit == "bits" else size
        if len(units) > 1:
            raise InvalidInputError("buffers must all be in packets or all in bytes")
        return cls(sizes.pop("", None), units.pop() if units else "packets", sizes)

    @property
    def finite(self) -> bool:
        return self.default is not None or bool(self.per_link)
