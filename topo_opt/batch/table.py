"""The results table of a batch: one row per job, rewritten atomically after every job.

``results.csv`` is the record (and what resume reads); ``results.parquet`` is written next to it
when pyarrow is installed.  Each write goes through a temporary file and a rename, so a kill at
any moment (Ctrl-C, ``kill -9``) leaves the previous complete table.  Rewriting the whole table
keeps one row per job id when a failed job is re-run; at a few hundred bytes per row this costs
milliseconds for thousands of jobs.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import regular_file
from topo_opt.io.atomic import atomic_write, atomic_write_text
from topo_opt.io.csv_table import csv_text

CSV_NAME = "results.csv"
PARQUET_NAME = "results.parquet"

# Column -> type; units are in the names (s, W) or in objective_unit / rate_unit.  ``overloaded``
# is the solution's flag (some link at or above capacity, topo_opt.solve.checker.flag_overload),
# written ``true``/``false``.
COLUMNS: dict[str, type] = {
    "job_id": str, "instance": str, "instance_file": str, "instance_sha256": str,
    "model": str, "model_file": str, "problem": str, "overrides": str,
    "scenario": str, "demand_scale": float, "failed_links": str, "failed_nodes": str, "seed": int,
    "status": str, "termination": str, "solution": str, "method": str, "objective_name": str, "objective_unit": str,
    "objective": float, "lower_bound": float, "gap": float,
    "solve_time_s": float, "wall_time_s": float, "iterations": int,
    "average_delay_s": float, "max_utilization": float, "mean_utilization": float,
    "max_demand_delay_s": float, "loss": float, "n_saturated": int, "overloaded": bool, "total_power_w": float,
    "rate_unit": str, "solution_file": str, "error": str,
    "topo_opt_version": str, "solver_versions": str, "host": str, "finished_at": str,
}
# Statuses that resume does not re-run unless asked to (``retry_failed``)
FAILED = ("error", "timeout")


def _parse(value: str, kind: type, where: str) -> Any:
    if value == "":
        return None
    if kind is str:
        return value
    if kind is bool:
        if value not in ("true", "false"):
            raise InvalidInputError(f"{where}: expected true or false, got {value!r}")
        return value == "true"
    try:
        return kind(value)
    except ValueError:
        raise InvalidInputError(f"{where}: expected {kind.__name__}, got {value!r}") from None


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a results CSV with typed values (None for empty cells).

    Raises
    ------
    InvalidInputError
        Missing file, or a CSV without a ``job_id`` column or with a malformed number.
    """
    path = Path(path)
    try:
        text = regular_file(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: results table not found") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "job_id" not in reader.fieldnames:
        raise InvalidInputError(f"{path}: not a topo-opt results table (no job_id column)")
    return [{key: _parse(value or "", COLUMNS.get(key, str), f"{path}:{line + 2}: {key}")
             for key, value in raw.items()} for line, raw in enumerate(reader)]


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    return "" if value is None else value


class ResultsTable:
    """The rows of ``out_dir/results.csv``, kept in memory and written after each change.

    Parameters
    ----------
    out_dir : path-like
        The batch's results folder; an existing ``results.csv`` is read (resume).
    """

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.csv_path = self.out_dir / CSV_NAME
        self.parquet_path = self.out_dir / PARQUET_NAME
        rows = read_results(self.csv_path) if self.csv_path.exists() else []
        self._rows: dict[str, dict[str, Any]] = {row["job_id"]: row for row in rows}

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows.values())

    def finished(self, retry_failed: bool = False) -> set[str]:
        """Job ids to skip: every recorded job, or only those that did not fail."""
        return {job_id for job_id, row in self._rows.items()
                if not (retry_failed and row.get("status") in FAILED)}

    def add(self, row: dict[str, Any]) -> None:
        """Record (or replace) the row of ``row["job_id"]`` and rewrite the table."""
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown result columns {sorted(unknown)}")
        # CSV cannot tell "" from missing: keep both as None so CSV and Parquet read back alike
        self._rows[row["job_id"]] = {key: None if row.get(key) == "" else row.get(key) for key in COLUMNS}
        self.write()

    def write(self) -> None:
        """Write ``results.csv`` (and ``results.parquet`` with pyarrow) atomically."""
        rows = ({key: _cell(value) for key, value in row.items()} for row in self._rows.values())
        atomic_write_text(self.csv_path, csv_text(rows, COLUMNS))
        write_parquet(self.parquet_path, self._rows.values())


def write_parquet(path: Path, rows: Iterable[dict[str, Any]]) -> bool:
    """Write ``rows`` as Parquet atomically; False (nothing written) without pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    types = {str: pa.string(), float: pa.float64(), int: pa.int64(), bool: pa.bool_()}
    schema = pa.schema([(name, types[kind]) for name, kind in COLUMNS.items()])
    table = pa.Table.from_pylist(list(rows), schema=schema)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp), suffix=".tmp")
    return True
