"""Build a report: the HTML page and the PNGs of a solution file or of a batch results table.

The front door of :mod:`topo_opt.report`, used by ``topo-opt report``::

    from topo_opt.report.build import write_report
    files = write_report("abilene-solution.json", "report.html")
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from topo_opt.batch.table import read_results
from topo_opt.errors import InvalidInputError
from topo_opt.io.atomic import atomic_write_text
from topo_opt.report import batch_view, interactive
from topo_opt.report.html import Page, key_value_table, rows_table
from topo_opt.report.solution import SolutionReport, load_solution_report
from topo_opt.report.static import solution_pngs

SUMMARY_KEYS = ("status", "overloaded", "method", "objective", "lower_bound", "gap", "solve_time_s", "iterations")


def solution_page(report: SolutionReport) -> str:
    """The HTML page of one solution: summary, map, link bars, demand delays, power."""
    doc = report.doc
    unit = doc["objective_unit"]
    page = Page(report.title)
    page.heading("Summary")
    summary = [(key, doc.get(key)) for key in SUMMARY_KEYS]
    summary = [(f"{k} ({unit})" if k in ("objective", "lower_bound") else k, v) for k, v in summary]
    page.raw(key_value_table([("objective_name", doc["objective_name"]), *summary], "summary"))
    page.note(f"Instance {doc['instance']['file']} (SHA-256 {doc['instance']['sha256']}); "
              f"rates in {doc['units']['rate']}, delays in s, power in W.")
    page.heading("Network metrics")
    metrics = [(k, v) for k, v in doc.get("metrics", {}).items() if not isinstance(v, (list, dict))]
    page.raw(key_value_table(metrics, "metrics"))
    page.heading("Network map")
    page.figure(interactive.map_figure(report), "map")
    links_off, nodes_off = report.switched_off()
    if links_off or nodes_off:
        unit = doc["units"]["rate"]
        page.heading(f"Switched off: {len(links_off)} links, {len(nodes_off)} nodes")
        page.note(f"Drawn grey and dashed on the map; capacity = the installed capacity ({unit}) that "
                  "draws no power while off.")
        if links_off:
            page.raw(rows_table(("link", "from", "to", "capacity"), links_off, "links-off"))
        if nodes_off:
            page.raw(rows_table(("node",), [{"node": n} for n in nodes_off], "nodes-off"))
    page.heading("Links")
    page.figure(interactive.link_bars_figure(doc), "link-bars")
    page.heading("Demands")
    page.figure(interactive.demand_delay_figure(doc), "demand-delays")
    power = interactive.power_figure(doc)
    if power is not None:
        page.heading("Power")
        page.figure(power, "power")
    return page.render()


def batch_page(rows: list[dict[str, Any]], source: str) -> str:
    """The HTML page of a batch: status counts, every job, plots across instances and scenarios."""
    page = Page(f"Batch results: {len(rows)} jobs ({source})")
    page.heading("Jobs by status")
    counts = batch_view.status_counts(rows)
    columns = list(dict.fromkeys(key for record in counts for key in record))
    page.raw(rows_table(columns, counts, "status-counts"))
    for div_id, fig in batch_view.plotly_figures(rows):
        page.heading(fig.layout.title.text)
        page.figure(fig, div_id)
    page.heading("All jobs")
    page.note("objective and lower_bound in objective_unit; delays in s; power in W; times in s.")
    page.raw(rows_table(batch_view.TABLE_COLUMNS, rows, "jobs"))
    return page.render()


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InvalidInputError(f"{path}: reading Parquet needs pyarrow; use results.csv") from None
        return pq.read_table(path).to_pylist()
    return read_results(path)


def write_report(source: str | Path, out: str | Path, *, png: bool = True, instance: str | Path | None = None,
                 format: str = "auto") -> list[Path]:
    """Write the report of ``source`` (a solution ``.json`` or a results ``.csv``/``.parquet``).

    Parameters
    ----------
    source : path-like
    out : path-like
        The HTML file; PNGs go next to it as ``<out stem>-<panel>.png``.
    png : bool
        Also write the matplotlib PNGs.
    instance, format
        Instance file (and format) to use instead of the one a solution records.

    Returns
    -------
    list of Path
        The files written, HTML first.

    Raises
    ------
    InvalidInputError
        Unreadable source, missing or changed instance file.
    """
    source, out = Path(source), Path(out)
    stem = out.with_suffix("")
    if source.suffix.lower() in (".csv", ".parquet"):
        rows = _read_rows(source)
        if not rows:
            raise InvalidInputError(f"{source}: the results table has no rows")
        text, pngs = batch_page(rows, str(source)), (lambda: batch_view.batch_pngs(rows, stem))
    else:
        report = load_solution_report(source, instance, format)
        text, pngs = solution_page(report), (lambda: solution_pngs(report, stem))
    atomic_write_text(out, text)
    return [out, *(pngs() if png else [])]
