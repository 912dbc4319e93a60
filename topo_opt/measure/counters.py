"""Interface counters: read (CSV) and clean (wraps, resets, polling gaps).

Counter file, long format (one poll per row; a header line names the columns, extra columns are
an error)::

    timestamp,link,direction,counter[,counter_bits][,speed_bps]
    2026-01-05T00:00:07Z,DNVRng,ingress,2567923707
    1767571211.454,HSTNng_KSCYng,forward,517576576

* ``timestamp`` -- seconds since the Unix epoch, or ISO 8601 (``Z``/offset; naive means UTC).
* ``link`` -- an interface id: a link id of the instance, or a node id for access counters.
* ``direction`` -- ``forward`` (the link's source -> target), ``reverse`` (target -> source), or,
  for a node, ``ingress`` (traffic entering the network there) / ``egress`` (leaving it).
* ``counter`` -- the unsigned counter value (octets by default, see ``unit``).
* ``counter_bits`` -- 32 or 64, optional (default: 32 unless the series holds a value >= 2^32).
* ``speed_bps`` -- interface speed in bit/s, optional (used to tell wraps from resets).

Wide format: a ``timestamp`` column, then one column per series named ``LINK:DIRECTION``; an
empty cell is a missed poll.

Cleaning, per series (polls sorted by time; a time that does not increase is an error):
the difference of two polls ``Δc = c₂ − c₁`` is

* a **wrap** when ``c₂ < c₁`` and the wrapped difference ``Δc + 2^w`` implies a plausible rate:
  at most ``SPEED_TOLERANCE`` × the interface speed (when known) and at most ``RESET_FACTOR`` ×
  the median rate of the series' increasing intervals.  A reset just after a wrap-like small
  counter cannot be told from a wrap: it is taken as one (at most 2^w counts are misattributed);
* a **reset** otherwise (a decrease that is not a wrap, or, with a known speed, an increase
  implying a rate above ``SPEED_TOLERANCE`` × speed): the interval's traffic is unknown;
* **ambiguous** intervals (reported once per series) when the speed could wrap the counter
  more than once between two polls: one wrap at most is assumed;
* a **gap** when the polls are more than ``max_gap_s`` apart (default 1.5 × the series' median
  polling interval): the traffic is known in total but not how it was spread, so the interval
  is not used for binned rates either.

References
----------
McCloghrie & Kastenholz, *The Interfaces Group MIB*, RFC 2863, 2000 (32-bit ``ifInOctets`` and
64-bit ``ifHCInOctets``, discontinuities).
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_text

LINK_DIRECTIONS = ("forward", "reverse")
ACCESS_DIRECTIONS = ("ingress", "egress")
DIRECTIONS = LINK_DIRECTIONS + ACCESS_DIRECTIONS
UNITS = {"octets": (8.0, "bit/s"), "bits": (1.0, "bit/s"), "packets": (1.0, "packet/s")}
"""Counter unit -> (rate-unit quantity per count, rate unit)."""
SPEED_TOLERANCE = 1.05
"""A rate above 1.05 × the interface speed is impossible: polling timestamps are trusted to 5 %."""
RESET_FACTOR = 10.0
"""Without a known speed, a wrap implying more than 10 × the series' median rate is a reset."""

GAP_FACTOR = 1.5
"""Default gap: polls more than 1.5 × the median polling interval apart."""

Key = tuple[str, str]  # (interface id, direction)


@dataclass(frozen=True)
class CounterSeries:
    """The polls of one interface counter, sorted by time.

    ``time_s`` (s since the epoch), ``counter`` (unsigned counts, uint64), ``counter_bits``
    (32 or 64), ``speed`` (rate unit, NaN when unknown), ``lines`` (source line of each poll).
    """

    key: Key
    time_s: np.ndarray
    counter: np.ndarray
    counter_bits: int
    speed: float = math.nan
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class Event:
    """Something found while cleaning: ``kind`` in ``reset``, ``gap``, ``ambiguous`` (a counter
    that could wrap more than once between polls at the interface speed); times in s; a message."""

    key: Key
    kind: str
    start_s: float
    end_s: float
    message: str

    def to_dict(self) -> dict:
        return {"link": self.key[0], "direction": self.key[1], "kind": self.kind,
                "start_s": self.start_s, "end_s": self.end_s, "message": self.message}


@dataclass(frozen=True)
class CleanSeries:
    """A cleaned counter: cumulative traffic ``total`` (rate unit × s) at the poll times.

    ``interval_ok[i]`` says whether the traffic between polls ``i`` and ``i+1`` is known and
    evenly enough sampled to be binned (False across resets and gaps; ``total`` does not grow
    there).  ``n_wraps`` counts the wraps undone.
    """

    key: Key
    time_s: np.ndarray
    total: np.ndarray
    interval_ok: np.ndarray
    n_wraps: int
    events: tuple[Event, ...]
    speed: float = math.nan


# --------------------------------------------------------------------------- reading
def parse_timestamp(text: str, where: str) -> float:
    """Seconds since the epoch from a number or an ISO 8601 date-time (naive = UTC)."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(f"{where}: timestamp {text!r} is neither seconds nor ISO 8601") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    if not math.isfinite(value):
        raise InvalidInputError(f"{where}: timestamp must be finite, got {text!r}")
    return value


def _counter_value(text: str, where: str) -> int:
    text = text.strip()
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise InvalidInputError(f"{where}: counter {text!r} is not a number") from None
        if not (math.isfinite(number) and number == int(number)):
            raise InvalidInputError(f"{where}: counter must be a whole number, got {text!r}")
        value = int(number)
    if value < 0:
        raise InvalidInputError(f"{where}: negative counter {value} (counters are unsigned; a wrap "
                                f"shows as a decrease, never as a negative value)")
    if value >= 2 ** 64:
        raise InvalidInputError(f"{where}: counter {value} does not fit in 64 bits")
    return value


def read_counters(path: str | Path) -> dict[Key, CounterSeries]:
    """Read a counter file (long or wide format, see the module docstring)."""
    return parse_counters(read_text(path), str(path))


def parse_counters(text: str, source: str = "<counters>") -> dict[Key, CounterSeries]:
    """Parse counter CSV text; ``source`` names the file in messages.

    Raises
    ------
    InvalidInputError
        Missing or unknown columns, bad timestamps, directions or numbers, negative counters,
        values beyond the declared width, and times that do not increase within a series.
    """
    rows = list(csv.reader(io.StringIO(text)))
    lines = [i + 1 for i, row in enumerate(rows) if row and any(cell.strip() for cell in row)]
    rows = [rows[i - 1] for i in lines]
    if not rows:
        raise InvalidInputError(f"{source}: empty counter file")
    header = [cell.strip() for cell in rows[0]]
    polls: dict[Key, list[tuple[float, int, int, int | None, float]]] = {}

    def add(key: Key, time_s: float, value: int, line: int, bits: int | None, speed: float) -> None:
        if key[1] not in DIRECTIONS:
            raise InvalidInputError(f"{source}:{line}: direction {key[1]!r} of {key[0]!r} must be one of "
                                    f"{', '.join(DIRECTIONS)}")
        if not key[0]:
            raise InvalidInputError(f"{source}:{line}: empty link id")
        polls.setdefault(key, []).append((time_s, value, line, bits, speed))

    if "counter" in header:
        required = ("timestamp", "link", "direction", "counter")
        optional = ("counter_bits", "speed_bps")
        for name in header:
            if name not in required + optional:
                raise InvalidInputError(f"{source}:{lines[0]}: unknown column {name!r} (expected "
                                        f"{', '.join(required + optional)})")
        for name in required:
            if name not in header:
                raise InvalidInputError(f"{source}:{lines[0]}: missing column {name!r}")
        col = {name: header.index(name) for name in header}
        for row, line in zip(rows[1:], lines[1:]):
            where = f"{source}:{line}"
            if len(row) != len(header):
                raise InvalidInputError(f"{where}: {len(row)} fields, the header has {len(header)}")
            bits = None
            if "counter_bits" in col and row[col["counter_bits"]].strip():
                bits_text = row[col["counter_bits"]].strip()
                if bits_text not in ("32", "64"):
                    raise InvalidInputError(f"{where}: counter_bits must be 32 or 64, got {bits_text!r}")
                bits = int(bits_text)
            speed = math.nan
            if "speed_bps" in col and row[col["speed_bps"]].strip():
                speed = _positive(row[col["speed_bps"]], f"{where}: speed_bps")
            add((row[col["link"]].strip(), row[col["direction"]].strip()),
                parse_timestamp(row[col["timestamp"]], where),
                _counter_value(row[col["counter"]], where), line, bits, speed)
    else:
        if not header or header[0] != "timestamp":
            raise InvalidInputError(f"{source}:{lines[0]}: the header must start with 'timestamp' and have a "
                                    f"'counter' column (long format) or LINK:DIRECTION columns (wide format)")
        keys = []
        for name in header[1:]:
            link, sep, direction = name.rpartition(":")
            if not sep:
                raise InvalidInputError(f"{source}:{lines[0]}: column {name!r} must be LINK:DIRECTION")
            keys.append((link.strip(), direction.strip()))
        for row, line in zip(rows[1:], lines[1:]):
            where = f"{source}:{line}"
            if len(row) != len(header):
                raise InvalidInputError(f"{where}: {len(row)} fields, the header has {len(header)}")
            time_s = parse_timestamp(row[0], where)
            for key, cell in zip(keys, row[1:]):
                if cell.strip():
                    add(key, time_s, _counter_value(cell, where), line, None, math.nan)
    if not polls:
        raise InvalidInputError(f"{source}: no counter values")
    return {key: _series(key, rows_of_key, source) for key, rows_of_key in polls.items()}


def _positive(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInputError(f"{what} must be a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise InvalidInputError(f"{what} must be a finite number > 0, got {text!r}")
    return value


def _series(key: Key, polls: list, source: str) -> CounterSeries:
    time_s = np.array([p[0] for p in polls])
    line = np.array([p[2] for p in polls], dtype=np.int64)
    step = np.diff(time_s)
    if np.any(step <= 0):
        i = int(np.flatnonzero(step <= 0)[0])
        raise InvalidInputError(f"{source}:{line[i + 1]}: {key[0]} {key[1]}: timestamp {time_s[i + 1]:.6g} s "
                                f"does not increase (previous poll at {time_s[i]:.6g} s, line {line[i]})")
    values = [p[1] for p in polls]
    declared = {p[3] for p in polls if p[3] is not None}
    if len(declared) > 1:
        raise InvalidInputError(f"{source}: {key[0]} {key[1]}: counter_bits changes within the series")
    bits = declared.pop() if declared else (64 if max(values) >= 2 ** 32 else 32)
    if max(values) >= 2 ** bits:
        i = int(np.argmax(np.array(values, dtype=float)))
        raise InvalidInputError(f"{source}:{line[i]}: {key[0]} {key[1]}: counter {values[i]} does not fit "
                                f"in {bits} bits")
    speeds = {p[4] for p in polls if not math.isnan(p[4])}
    if len(speeds) > 1:
        raise InvalidInputError(f"{source}: {key[0]} {key[1]}: speed_bps changes within the series")
    return CounterSeries(key, time_s, np.array(values, dtype=np.uint64), bits,
                         speeds.pop() if speeds else math.nan, line)


# --------------------------------------------------------------------------- cleaning
def clean_series(series: CounterSeries, max_gap_s: float | None = None, unit: str = "octets",
                 speed: float | None = None) -> CleanSeries:
    """Undo wraps, find resets and gaps (rules in the module docstring).

    Parameters
    ----------
    series : CounterSeries
    max_gap_s : float, optional
        Polls further apart than this (s) make a gap; default ``GAP_FACTOR`` × the median
        polling interval.
    unit : {"octets", "bits", "packets"}
        What the counter counts; totals and speeds are in bit (bit/s) or packet (packet/s).
    speed : float, optional
        Interface speed (rate unit), overriding the file's ``speed_bps``.
    """
    per_count, rate_unit = UNITS[unit]
    speed = series.speed if speed is None else float(speed)
    key, t, c = series.key, series.time_s, series.counter
    modulus = 2 ** series.counter_bits
    raw = (c[1:] - c[:-1])  # uint64 arithmetic: the difference modulo 2^64
    if series.counter_bits < 64:
        raw = raw & np.uint64(modulus - 1)
    delta = raw.astype(float) * per_count
    dt = np.diff(t)
    rate = delta / dt if len(dt) else delta
    decreased = c[1:] < c[:-1]
    if max_gap_s is None:
        max_gap_s = GAP_FACTOR * float(np.median(dt)) if len(dt) else math.inf
    events: list[Event] = []
    normal = rate[~decreased]
    typical = float(np.median(normal)) if normal.size else math.inf
    speed_limit = SPEED_TOLERANCE * speed if math.isfinite(speed) else math.inf
    wrap_limit = min(speed_limit, RESET_FACTOR * typical if typical > 0 else math.inf)
    reset = np.where(decreased, rate > wrap_limit, rate > speed_limit)
    wraps = decreased & ~reset
    ok = ~reset
    gap = dt > max_gap_s
    for i in np.flatnonzero(reset):
        reason = (f"counter fell from {int(c[i])} to {int(c[i + 1])}, not a {series.counter_bits}-bit wrap"
                  if decreased[i] else f"counter jumped from {int(c[i])} to {int(c[i + 1])}")
        events.append(Event(key, "reset", float(t[i]), float(t[i + 1]),
                            f"{reason} (would mean {rate[i]:.6g} {rate_unit} over {dt[i]:.6g} s"
                            + (f", speed {speed:.6g} {rate_unit})" if math.isfinite(speed) else ")")))
    for i in np.flatnonzero(gap & ok):
        events.append(Event(key, "gap", float(t[i]), float(t[i + 1]),
                            f"no poll for {dt[i]:.6g} s (> {max_gap_s:g} s)"))
    used = ok & ~gap
    ambiguous = used & (speed * dt >= modulus * per_count) if math.isfinite(speed) else np.zeros(len(dt), bool)
    if ambiguous.any():  # one note per series: the counter is too narrow for the speed and polling
        first, last = np.flatnonzero(ambiguous)[[0, -1]]
        events.append(Event(key, "ambiguous", float(t[first]), float(t[last + 1]),
                            f"{int(ambiguous.sum())} poll intervals are long enough for more than one "
                            f"{series.counter_bits}-bit wrap at the speed {speed:.6g} {rate_unit}; at most one "
                            f"is assumed (poll faster or use 64-bit counters)"))
    delta = np.where(ok, delta, 0.0)
    total = np.concatenate([[0.0], np.cumsum(delta)])
    events.sort(key=lambda e: e.start_s)
    return CleanSeries(key, t, total, used, int(wraps.sum()), tuple(events), speed)
