"""Records as CSV text: one header line, one line per record."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Mapping, Sequence


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """``columns`` as the header, then each row's values in that order.

    A missing key or None is an empty cell; keys outside ``columns`` are left out.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
