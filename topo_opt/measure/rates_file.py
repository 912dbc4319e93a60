"""The link-rates table written by ``topo-opt measure rates`` and read by ``measure tm``.

CSV: one row per interface and direction, columns :data:`COLUMNS` (rates in ``rate_unit``,
times in s since the epoch).  JSON (``"format": "topo-opt/link-rates"``): the same records with
their gaps and cleaning events, plus the binned series (``bins.edges_s`` and one list of rates
per interface, ``null`` where unknown).
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from topo_opt.errors import InvalidInputError
from topo_opt.io.csv_table import csv_text
from topo_opt.io.detect import read_text
from topo_opt.io.solution_json import json_clean
from topo_opt.measure.counters import DIRECTIONS, Key
from topo_opt.measure.rates import STATISTICS, BinnedRates

FORMAT = "topo-opt/link-rates"
COLUMNS = ("link", "direction", "rate_unit", "mean", "peak", "busy_hour", "busy_hour_start_s", "p95",
           "n_bins", "n_valid", "n_polls", "n_wraps", "n_resets", "n_gaps", "speed")


def rates_csv(records: list[dict], rate_unit: str) -> str:
    return csv_text(({**json_clean(r), "rate_unit": rate_unit, "n_gaps": len(r["gaps"])} for r in records),
                    COLUMNS)


def rates_json(records: list[dict], binned: BinnedRates, options: dict) -> str:
    doc = {"format": FORMAT, "version": 1, "units": {"rate": binned.rate_unit, "time": "s"},
           "options": options, "links": records,
           "bins": {"bin_s": binned.bin_s, "edges_s": binned.edges.tolist(),
                    "series": [{"link": k[0], "direction": k[1], "rate": row.tolist()}
                               for k, row in zip(binned.keys, binned.rate)]}}
    return json.dumps(json_clean(doc), indent=1) + "\n"


def read_rates(path: str | Path, statistic: str = "mean") -> tuple[dict[Key, float], str]:
    """``{(link, direction): value of statistic}`` and the rate unit, from a rates CSV or JSON.

    Rows whose statistic is unknown (no valid bin) are left out.

    Raises
    ------
    InvalidInputError
        Unreadable file, unknown statistic, missing columns, bad numbers, duplicate rows.
    """
    if statistic not in STATISTICS:
        raise InvalidInputError(f"unknown statistic {statistic!r}; expected one of {', '.join(STATISTICS)}")
    path = Path(path)
    text = read_text(path)
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise InvalidInputError(f"{path}: not a topo-opt link-rates file (format must be {FORMAT!r})")
        rows = [(i + 1, r) for i, r in enumerate(doc.get("links", []))]
        unit = doc.get("units", {}).get("rate", "bit/s")
    else:
        reader = csv.DictReader(io.StringIO(text))
        for name in ("link", "direction", statistic):
            if name not in (reader.fieldnames or []):
                raise InvalidInputError(f"{path}:1: missing column {name!r}")
        rows = [(reader.line_num, r) for r in reader]
        units = {r.get("rate_unit") or "bit/s" for _, r in rows}
        if len(units) > 1:
            raise InvalidInputError(f"{path}: mixed rate units {sorted(units)}")
        unit = units.pop() if units else "bit/s"
    values: dict[Key, float] = {}
    for line, row in rows:
        key = (str(row.get("link", "")).strip(), str(row.get("direction", "")).strip())
        if key[1] not in DIRECTIONS:
            raise InvalidInputError(f"{path}:{line}: direction {key[1]!r} must be one of {', '.join(DIRECTIONS)}")
        if key in values:
            raise InvalidInputError(f"{path}:{line}: duplicate row for {key[0]} {key[1]}")
        cell = row.get(statistic)
        if cell is None or cell == "":
            continue
        try:
            value = float(cell)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{path}:{line}: {statistic} must be a number, got {cell!r}") from None
        if not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"{path}:{line}: {statistic} must be a finite number >= 0, got {cell!r}")
        values[key] = value
    if not values:
        raise InvalidInputError(f"{path}: no {statistic} rate in the file")
    return values, unit
