"""How tracker sheets look and print: named styles, protection, banners, validations, coloured checks, page setup.

Split out of `trackers`, which decides what goes in each cell; this module decides how it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plan_reports import preview

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

HEADER_ROW = 4  # rows 1-3: title, period and department, how to fill
FIRST_ROW = HEADER_ROW + 1
RAG_FILLS = {"Green": "C6EFCE", "Amber": "FFEB9C", "Red": "FFC7CE"}
INPUT_FILL, LOCKED_FILL, HEADER_FILL, NA_FILL = "FFFFFF", "F2F2F2", "1F4E79", "D9D9D9"
LAST_PRINTED = "checks"  # columns up to the checks print; the context to their right does not


@dataclass(frozen=True)
class Column:
    """One column of a generated workbook: its key, heading and width; `input` columns are the ones a lead types in."""

    key: str
    header: str
    width: float
    input: bool = False
    note: str = ""


def col_letter(columns: Sequence[Column], key: str) -> str:
    """The column letter of `key` (without importing openpyxl: consolidation asks for it and needs nothing else)."""
    from plan_reports.xlsx import col_name

    return col_name([c.key for c in columns].index(key) + 1)


class Styles:
    """Named styles made once per workbook; per-cell style objects are what makes openpyxl slow."""

    def __init__(self, wb: Workbook) -> None:
        from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side

        thin = Side(style="thin", color="BFBFBF")
        border = Border(left=thin, right=thin, top=thin, bottom=thin)
        wrap = Alignment(wrap_text=True, vertical="top")

        def add(name: str, fill: str, locked: bool, bold: bool = False, color: str = "000000") -> str:
            st = NamedStyle(name=name, font=Font(name="Arial", size=10, bold=bold, color=color),
                            fill=PatternFill("solid", fgColor=fill), border=border, alignment=wrap,
                            protection=Protection(locked=locked))
            wb.add_named_style(st)
            return name

        self.header = add("pr_header", HEADER_FILL, True, bold=True, color="FFFFFF")
        self.locked = add("pr_locked", LOCKED_FILL, True)
        self.input = add("pr_input", INPUT_FILL, False)
        self.na = add("pr_na", NA_FILL, True)


def protect(ws: Worksheet, password: str) -> None:
    p = ws.protection
    p.sheet = True
    p.formatCells = p.formatColumns = p.formatRows = False  # allow resizing, widths and row heights
    p.insertRows = p.deleteRows = p.insertColumns = p.deleteColumns = p.sort = True
    p.autoFilter = False
    p.selectLockedCells = p.selectUnlockedCells = False
    if password:
        p.password = password


def sheet_banner(ws: Worksheet, title: str, subtitle: str, hint: str, width: int) -> None:
    from openpyxl.styles import Font

    ws["A1"] = title
    ws["A1"].font = Font(name="Arial", size=14, bold=True, color=HEADER_FILL)
    ws["A2"] = subtitle
    ws["A2"].font = Font(name="Arial", size=11, bold=True)
    ws["A3"] = hint
    ws["A3"].font = Font(name="Arial", size=10, italic=True, color="595959")
    for r in (1, 2, 3):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)


def write_header(ws: Worksheet, columns: Sequence[Column], styles: Styles) -> None:
    for ci, col in enumerate(columns, 1):
        cell = ws.cell(HEADER_ROW, ci, col.header)
        cell.style = styles.header
        ws.column_dimensions[cell.column_letter].width = col.width
    ws.row_dimensions[HEADER_ROW].height = 54  # four lines of a wrapped heading


def row_heights(ws: Worksheet, columns: Sequence[Column], rows: range, cached: Mapping[str, Any]) -> None:
    """A starting height from the text (and the cached checks); `write_cached_values` then lets the rows grow."""
    import math

    printed = [c.key for c in columns].index(LAST_PRINTED) + 1  # context to the right may wrap out of sight
    for r in rows:
        lines = 2
        for ci, col in enumerate(columns[:printed], 1):
            cell = ws.cell(r, ci)
            v = cached.get(cell.coordinate, cell.value)
            if isinstance(v, str) and not v.startswith("="):
                per_line = max(col.width * 1.1 - 1, 1)
                lines = max(lines, sum(math.ceil(max(len(p), 1) / per_line) for p in v.split("\n")))
        ws.row_dimensions[r].height = min(409, 12.75 * lines + 4)


def a4_fit_to_width(ws: Worksheet, orientation: str) -> None:
    """A4, scaled to fit the page width only: long sheets run on to more pages instead of shrinking the text."""
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def print_setup(ws: Worksheet, columns: Sequence[Column], last_row: int, footer: str) -> None:
    """A4 landscape, fitted to the width of the printed columns (8 pt or more), header row on every page."""
    last = col_letter(columns, LAST_PRINTED)
    ws.print_area = f"A1:{last}{last_row}"
    a4_fit_to_width(ws, "landscape")
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_margins.left = ws.page_margins.right = 0.2
    ws.page_margins.top, ws.page_margins.bottom, ws.page_margins.header, ws.page_margins.footer = 0.4, 0.55, 0.2, 0.25
    set_footer(ws, footer)


def set_footer(ws: Worksheet, footer: str) -> None:
    ws.oddFooter.left.text = footer.replace("&", "&&")
    ws.oddFooter.left.size = ws.oddFooter.right.size = 10  # LibreOffice scales footers with the page
    ws.oddFooter.right.text = "&A - page &P of &N"


def finish_sheet(ws: Worksheet, columns: Sequence[Column], n_rows: int, table_name: str, password: str,
                  footer: str, cached: Mapping[str, Any]) -> None:
    from openpyxl.worksheet.table import Table, TableStyleInfo

    row_heights(ws, columns, range(FIRST_ROW, FIRST_ROW + n_rows), cached)
    last = FIRST_ROW + max(n_rows, 1) - 1
    ref = f"A{HEADER_ROW}:{col_letter(columns, columns[-1].key)}{last}"
    table = Table(displayName=table_name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
    ws.add_table(table)
    first_context = [c.key for c in columns].index(LAST_PRINTED) + 2
    from openpyxl.utils import get_column_letter

    ws.column_dimensions.group(get_column_letter(first_context), get_column_letter(len(columns)), outline_level=1)
    ws.freeze_panes = f"C{FIRST_ROW}"
    ws.sheet_view.zoomScale = 100
    print_setup(ws, columns, last, footer)
    ws.print_options.gridLines = False
    protect(ws, password)


def check_colours(ws: Worksheet, rng: str, first: str) -> None:
    """OK green; a problem validation rejects ("Fix:") red; anything else to check or do amber. Words say the same."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    for formula, color, text in ((f'{first}="{preview.OK}"', RAG_FILLS["Green"], "006100"),
                                 (f'LEFT({first},4)="{preview.FIX}"', RAG_FILLS["Red"], "9C0006"),
                                 (f'AND({first}<>"{preview.OK}",LEFT({first},4)<>"{preview.FIX}",{first}<>"")',
                                  RAG_FILLS["Amber"], "9C5700")):
        ws.conditional_formatting.add(rng, FormulaRule(formula=[formula], font=Font(color=text),
                                                       fill=PatternFill("solid", fgColor=color, bgColor=color)))


def add_validation(ws: Worksheet, cells: Iterable[str], kind: str, *, operator: str | None = None,
                    formula1: str | None = None, formula2: str | None = None, title: str, prompt: str,
                    error: str, allow_blank: bool = True) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    cells = list(cells)
    if not cells:
        return
    dv = DataValidation(type=kind, operator=operator, formula1=formula1, formula2=formula2, allow_blank=allow_blank,
                        showInputMessage=True, showErrorMessage=True, promptTitle=title[:32], prompt=prompt[:255],
                        errorTitle=title[:32], error=error[:255], errorStyle="stop")
    for c in cells:
        dv.add(c)
    ws.add_data_validation(dv)
