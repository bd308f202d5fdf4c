"""Writing cells safely: user text is always text, never a formula, in every workbook we produce."""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import Cell


def put(cell: Cell, value: Any) -> Cell:
    """Set a value; strings are stored as literal text even when they start with = + - or @."""
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
    else:
        cell.value = value
    return cell


def fit_rows(ws: Any, widths: Sequence[float], rows: range, min_lines: int = 1, line_height: float = 13.5) -> None:
    """Spreadsheets do not grow rows for wrapped text written by a library, so size them from the text."""
    for r in rows:
        lines = min_lines
        for ci, width in enumerate(widths, 1):
            v = ws.cell(r, ci).value
            if isinstance(v, str) and not (v.startswith("=") and ws.cell(r, ci).data_type == "f"):
                lines = max(lines, sum(math.ceil(max(len(part), 1) / max(width * 1.05, 1)) for part in v.split("\n")))
        ws.row_dimensions[r].height = line_height * lines + 3


def pin_package(path: Path, when: datetime) -> None:
    """Make a saved workbook byte-for-byte reproducible: fixed zip entry times and document save times."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i)) for i in z.infolist()]
    tmp = path.with_name(path.name + ".pin")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            pinned = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = info.external_attr
            out.writestr(pinned, data)
    tmp.replace(path)
