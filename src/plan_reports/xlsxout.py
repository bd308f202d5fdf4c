"""Writing cells safely: user text is always text, never a formula, in every workbook we produce."""

from __future__ import annotations

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
