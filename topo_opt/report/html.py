"""One self-contained HTML page: headings, key-value and row tables, plotly figures.

plotly.js is embedded once, inline, in the first figure, so the file opens offline and can be
mailed as is.  Every number cell carries its full-precision value in ``data-value`` (the text
shows 6 significant digits), so tests and scripts can read the exact numbers back.
"""
from __future__ import annotations

import html
import math
from typing import Any, Sequence

import plotly.graph_objects as go
import plotly.io as pio

from topo_opt import __version__

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#212121}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .6em}
th{background:#f5f5f5;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#616161;font-size:.85em}
"""


def number_text(value: Any) -> str:
    """6 significant digits for floats, ``n/a`` for None and non-finite numbers."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _cell(value: Any, key: str | None = None) -> str:
    attr = f' data-key="{html.escape(key)}"' if key else ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        exact = "" if isinstance(value, float) and not math.isfinite(value) else repr(value)
        return f'<td class="num"{attr} data-value="{exact}">{number_text(value)}</td>'
    return f"<td{attr}>{html.escape(number_text(value))}</td>"


def key_value_table(items: Sequence[tuple[str, Any]], table_id: str) -> str:
    """A two-column table; each value cell has ``data-key`` = its key."""
    rows = "".join(f"<tr><th>{html.escape(k)}</th>{_cell(v, k)}</tr>" for k, v in items)
    return f'<table id="{table_id}">{rows}</table>'


def rows_table(columns: Sequence[str], rows: Sequence[dict[str, Any]], table_id: str) -> str:
    """A table with one row per record and the given columns (missing values as n/a)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(r.get(c), c) for c in columns) + "</tr>" for r in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Page:
    """Sections of HTML fragments and figures, rendered by :meth:`render`."""

    def __init__(self, title: str):
        self.title = title
        self._parts: list[str] = []
        self._plotly_included = False

    def heading(self, text: str) -> None:
        self._parts.append(f"<h2>{html.escape(text)}</h2>")

    def raw(self, fragment: str) -> None:
        self._parts.append(fragment)

    def note(self, text: str) -> None:
        self._parts.append(f'<p class="note">{html.escape(text)}</p>')

    def figure(self, fig: go.Figure, div_id: str) -> None:
        """Add ``fig`` in a div with id ``div_id`` (plotly.js inlined with the first figure)."""
        self._parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=not self._plotly_included,
                                       div_id=div_id, config={"responsive": True, "displaylogo": False}))
        self._plotly_included = True

    def render(self) -> str:
        body = "\n".join(self._parts)
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>\n"
                f"<body><h1>{html.escape(self.title)}</h1>\n{body}\n"
                f'<p class="note">topo-opt {__version__}</p></body></html>\n')
