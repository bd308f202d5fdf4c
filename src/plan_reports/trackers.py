"""The trackers stage: one workbook per department and quarter, filled in plain Excel.

Everything a lead needs is native Excel: dropdowns, input messages, error alerts, a RAG preview computed by
formulas (Excel 2016 and LibreOffice 7.4 compatible: IF/AND/OR/ISNUMBER/ABS only) and locked context cells.
The column layout below (`INDICATOR_COLUMNS`, `COMMITMENT_COLUMNS`) is the contract the validator reads back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.atomic import atomic_path
from plan_reports.models import FREQUENCY_LABELS, POLARITY_LABELS, UNIT_LABELS, Indicator, Plan
from plan_reports.periods import Period

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    from plan_reports.config import Config

TEMPLATE_KIND = "plan-reports tracker"
SUPPORTED_TEMPLATE_VERSIONS = ("1.0",)
SHEET_INSTRUCTIONS, SHEET_INDICATORS, SHEET_COMMITMENTS, SHEET_LISTS, SHEET_META = (
    "Instructions", "Indicators", "Commitments", "Lists", "_meta",
)
HEADER_ROW = 4  # rows 1-3: title, period and department, how to fill
FIRST_ROW = HEADER_ROW + 1
DATA_STATUSES = ("Final", "Provisional", "Not yet available")
COMMITMENT_STATUSES = ("Not started", "On track", "Minor disruption", "Major disruption", "Completed", "Deferred")
STATUS_MEANINGS = {
    "Not started": "Work has not begun and was not due to begin.",
    "On track": "Progressing as planned; milestones are being met.",
    "Minor disruption": "Some slippage or risk, manageable within the service; say what in Challenges.",
    "Major disruption": "Significant slippage, risk or blocker needing senior attention; Challenges must explain it.",
    "Completed": "Delivered: give the completion date and 100% complete.",
    "Deferred": "Formally paused or re-scheduled by a decision; say why in Challenges.",
}
RAG_TEXT = ("Green", "Amber", "Red")
RAG_FILLS = {"Green": "C6EFCE", "Amber": "FFEB9C", "Red": "FFC7CE"}
INPUT_FILL, LOCKED_FILL, HEADER_FILL, NA_FILL = "FFFFFF", "F2F2F2", "1F4E79", "D9D9D9"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: float
    input: bool = False
    note: str = ""


def indicator_columns(period: Period) -> list[Column]:
    """Indicator sheet layout. Headers of the two history columns name their periods."""
    return [
        Column("id", "ID", 9),
        Column("name", "Indicator", 40),
        Column("sub_outcome", "Sub-outcome", 24),
        Column("aim", "Aim", 30),
        Column("unit", "Unit", 11),
        Column("polarity", "Polarity", 15),
        Column("frequency", "Frequency", 11),
        Column("statutory", "Statutory", 9),
        Column("baseline", "Baseline", 11),
        Column("baseline_period", "Baseline period", 12),
        Column("value_last_year", f"Value {period.year_earlier()}", 12),
        Column("value_previous", f"Value {period.previous()}", 12),
        Column("value", "This period's value", 12, True, "This period's value, as a number."),
        Column("numerator", "Numerator", 12, True, "For rates only: the count on top."),
        Column("denominator", "Denominator", 12, True, "For rates only: the count underneath."),
        Column("target", "Target", 11, True, "This period's target (pre-filled from the plan where it sets one)."),
        Column("data_status", "Data status", 15, True, "Final, Provisional or Not yet available."),
        Column("reason", "Reason if no value", 28, True, "Required when there is no value."),
        Column("data_period", "Period the data covers", 13, True, "e.g. 2024/25 for an annual figure published late."),
        Column("commentary", "Commentary", 40, True, "Required for a Red rating: what is happening and what is being done."),
        Column("rag_preview", "RAG preview", 13),
        Column("range_low", "Range low", 8),
        Column("range_high", "Range high", 8),
        Column("tolerance", "Amber tolerance", 8),
    ]


COMMITMENT_COLUMNS = [
    Column("id", "ID", 10),
    Column("commitment", "Commitment", 60),
    Column("sub_outcome", "Sub-outcome", 28),
    Column("aim", "Aim", 32),
    Column("role", "Council role", 10),
    Column("lead_officer", "Lead officer", 20, True, "Name of the officer accountable."),
    Column("status", "Status", 17, True, "Choose from the list."),
    Column("percent_complete", "% complete", 10, True, "0% to 100%."),
    Column("start_date", "Start date", 12, True, "dd/mm/yyyy"),
    Column("target_date", "Target date", 12, True, "dd/mm/yyyy"),
    Column("completion_date", "Completion date", 12, True, "dd/mm/yyyy, when Completed."),
    Column("milestone", "Milestone this period", 36, True, ""),
    Column("achievements", "Achievements", 40, True, ""),
    Column("challenges", "Challenges", 40, True, "Required for Major disruption."),
    Column("priorities", "Priorities for the next six months", 40, True, ""),
    Column("checks", "Checks", 34),
]
HIDDEN_INDICATOR_KEYS = ("range_low", "range_high", "tolerance")
CARRIED = ("lead_officer", "status", "percent_complete", "start_date", "target_date", "completion_date", "priorities")


def col_letter(columns: Sequence[Column], key: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter([c.key for c in columns].index(key) + 1)


@dataclass
class Prefill:
    """What a tracker starts with: history for context and last period's commitment updates to roll forward."""

    values: dict[tuple[str, str], float] = field(default_factory=dict)  # (indicator id, period id) -> value
    commitments: dict[str, dict[str, Any]] = field(default_factory=dict)  # commitment id -> column key -> value


@dataclass(frozen=True)
class TrackerMeta:
    template_version: str
    plan_id: str
    department: str
    period: str
    generated_at: str
    config_hash: str
    team: str = ""  # a service team within the department, when trackers go to teams

    def as_pairs(self) -> list[tuple[str, str]]:
        return [
            ("template_kind", TEMPLATE_KIND),
            ("template_version", self.template_version),
            ("plan_id", self.plan_id),
            ("department", self.department),
            ("team", self.team),
            ("period", self.period),
            ("generated_at", self.generated_at),
            ("config_hash", self.config_hash),
        ]


def tracker_filename(department: str, period: Period, team: str = "") -> str:
    who = f"{department}_{team}" if team else department
    return f"Tracker_{who}_{str(period).replace('/', '-')}.xlsx"


def _department_items(plan: Plan, dept: str) -> tuple[list[tuple[str, Indicator]], list[tuple[str, Any]]]:
    inds = [(s.title, i) for _, s, i in plan.indicators() if i.department == dept]
    comms = [(s.title, c) for _, s, c in plan.commitments() if c.lead == dept]
    return inds, comms


def target_for(ind: Indicator, period: Period) -> float | None:
    """The plan's target for a period that covers this one; a 2030 end-state is not this quarter's target."""
    for t in ind.targets:
        tp = Period.parse(t.period)
        if tp.start <= period.start and period.end <= tp.end:
            return t.value
    return None


def default_data_period(ind: Indicator, period: Period, cutoff_days: int) -> str:
    """The latest period whose figures are out `cutoff_days` after this one ends (the board date), given the lag."""
    available = period.end + timedelta(days=cutoff_days - round(30.44 * ind.lag_months))
    kind = {"quarterly": "Q", "six_monthly": "H", "annual": "Y"}[ind.frequency]
    p = Period.containing(available, kind)  # type: ignore[arg-type]
    return str(p if p.end <= available else p.previous())


def rag_formula(row: int, cols: Sequence[Column]) -> str:
    """Native RAG preview. Tolerance is a fraction of the target; range bands widen by the same share."""
    v, t, pol = (f"{col_letter(cols, k)}{row}" for k in ("value", "target", "polarity"))
    lo, hi, tol = (f"{col_letter(cols, k)}{row}" for k in ("range_low", "range_high", "tolerance"))
    higher = f'IF({v}>={t},"Green",IF({v}>={t}-ABS({t})*{tol},"Amber","Red"))'
    lower = f'IF({v}<={t},"Green",IF({v}<={t}+ABS({t})*{tol},"Amber","Red"))'
    within = (f'IF(AND({v}>={lo},{v}<={hi}),"Green",'
              f'IF(AND({v}>={lo}-ABS({lo})*{tol},{v}<={hi}+ABS({hi})*{tol}),"Amber","Red"))')
    return (
        f'=IF({pol}="Data only","Data only",IF({v}="","No value",IF(NOT(ISNUMBER({v})),"Check value",'
        f'IF({pol}="Within a range",{within},IF({t}="","No target",IF(NOT(ISNUMBER({t})),"Check target",'
        f'IF({pol}="Higher is better",{higher},{lower})))))))'
    )


def commitment_checks_formula(row: int) -> str:
    c = {k: f"{col_letter(COMMITMENT_COLUMNS, k)}{row}" for k in
         ("status", "percent_complete", "completion_date", "challenges", "target_date")}
    return (
        f'=IF(AND({c["status"]}="Completed",OR({c["completion_date"]}="",{c["percent_complete"]}<1)),'
        f'"Completed needs a completion date and 100%",'
        f'IF(AND({c["status"]}="Major disruption",{c["challenges"]}=""),"Explain the disruption under Challenges",'
        f'IF(AND({c["status"]}<>"Completed",{c["status"]}<>"Deferred",{c["target_date"]}<>"",'
        f'{c["target_date"]}<TODAY()),"Target date has passed: update it or explain",'
        f'IF({c["status"]}="","Choose a status","OK"))))'
    )


def _number_rule(ind: Indicator) -> tuple[str, str, str | None, str | None, str]:
    """(validation type, operator, formula1, formula2, number format) for an indicator's value cell."""
    fmt = "#,##0" if ind.decimals == 0 else "#,##0." + "0" * ind.decimals
    if ind.unit == "percent":
        return "decimal", "between", "0", "100", fmt
    if ind.unit == "count":
        return "whole", "greaterThanOrEqual", "0", None, "#,##0"
    if ind.unit in ("percentage_points", "gbp", "gbp_millions", "score", "ratio"):
        return "decimal", "between", "-1000000000", "1000000000", fmt
    return "decimal", "greaterThanOrEqual", "0", None, fmt


def _value_prompt(ind: Indicator) -> str:
    if ind.unit == "percent":
        return "Type the percentage as a number from 0 to 100, e.g. 45.2 for 45.2%."
    if ind.unit == "count":
        return "Type a whole number, 0 or more, without commas."
    return f"Type a number ({UNIT_LABELS[ind.unit]}), without commas or units."


class _Styles:
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


def _protect(ws: Worksheet, password: str) -> None:
    p = ws.protection
    p.sheet = True
    p.formatCells = p.formatColumns = p.formatRows = False  # allow resizing, widths and row heights
    p.insertRows = p.deleteRows = p.insertColumns = p.deleteColumns = p.sort = True
    p.autoFilter = False
    p.selectLockedCells = p.selectUnlockedCells = False
    if password:
        p.password = password


def _sheet_banner(ws: Worksheet, title: str, subtitle: str, hint: str, width: int) -> None:
    from openpyxl.styles import Font

    ws["A1"] = title
    ws["A1"].font = Font(name="Arial", size=14, bold=True, color=HEADER_FILL)
    ws["A2"] = subtitle
    ws["A2"].font = Font(name="Arial", size=11, bold=True)
    ws["A3"] = hint
    ws["A3"].font = Font(name="Arial", size=10, italic=True, color="595959")
    for r in (1, 2, 3):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=min(width, 8))


def _write_header(ws: Worksheet, columns: Sequence[Column], styles: _Styles) -> None:
    for ci, col in enumerate(columns, 1):
        cell = ws.cell(HEADER_ROW, ci, col.header)
        cell.style = styles.header
        ws.column_dimensions[cell.column_letter].width = col.width
    ws.row_dimensions[HEADER_ROW].height = 30


def _finish_sheet(ws: Worksheet, columns: Sequence[Column], n_rows: int, table_name: str, password: str) -> None:
    from openpyxl.worksheet.table import Table, TableStyleInfo

    from plan_reports.xlsxout import fit_rows

    fit_rows(ws, [c.width for c in columns], range(FIRST_ROW, FIRST_ROW + n_rows), min_lines=2)
    last = FIRST_ROW + max(n_rows, 1) - 1
    ref = f"A{HEADER_ROW}:{col_letter(columns, columns[-1].key)}{last}"
    table = Table(displayName=table_name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
    ws.add_table(table)
    ws.freeze_panes = f"C{FIRST_ROW}"
    ws.sheet_view.zoomScale = 90
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A3
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_options.gridLines = False
    _protect(ws, password)


def _add_validation(ws: Worksheet, cells: Iterable[str], kind: str, *, operator: str | None = None,
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


def _instructions(ws: Worksheet, cfg: Config, plan: Plan, dept_id: str, period: Period, counts: tuple[int, int]) -> None:
    from openpyxl.styles import Alignment, Font

    dept = cfg.organisation.department(dept_id)
    team = cfg.organisation.performance_team
    deadline = cfg.submission_deadline(period)
    rows: list[tuple[str, str]] = [
        ("title", f"{plan.title}: quarterly tracker"),
        ("sub", f"{dept.name} - {period.label}"),
        ("", ""),
        ("h", "Who fills this in"),
        ("p", f"The {dept.name} departmental lead for the Strategic Plan, with the indicator and commitment owners."),
        ("h", "Deadline"),
        ("p", f"Return this workbook by {deadline:%A %d %B %Y} to {team.name} ({team.email}). "
              "Save it as .xlsx with its file name unchanged; do not copy sheets into another workbook."),
        ("h", "Indicators sheet"),
        ("p", f"{counts[0]} indicator(s) your department owns. Grey columns are context and are locked. "
              "White columns are for you: the value for this period, the numerator and denominator for rates, "
              "the target, the data status and, if there is no value, the reason. Type numbers only: no %, commas, "
              "units or text such as n/a. Percentages are typed as 45.2 for 45.2%."),
        ("p", "Data status: Final (published or signed off), Provisional (may be revised), "
              "Not yet available (give the reason and when it is expected)."),
        ("p", "RAG preview is worked out for you from the value, the target and the polarity: Green on or "
              "better than target, Amber within the tolerance of it, Red otherwise. Red needs commentary. "
              "The performance team's scoring is final and may use further rules."),
        ("h", "Commitments sheet"),
        ("p", f"{counts[1]} commitment(s) your department leads. For each: the lead officer, a status from the list, "
              "% complete, the dates (dd/mm/yyyy), this period's milestone, achievements, challenges and "
              "priorities for the next six months. The Checks column tells you what is missing."),
        ("h", "What the statuses mean"),
        *[("p", f"{k}: {v}") for k, v in STATUS_MEANINGS.items()],
        ("h", "Please do not"),
        ("p", "Add, delete or reorder rows or columns, rename sheets, or paste over the grey cells. "
              "Paste values only (Paste Special > Values) so the dropdowns and checks keep working."),
        ("h", "Contact"),
        ("p", f"Questions: {dept.contact.name} ({dept.contact.email}) or {team.name} ({team.email})."),
    ]
    ws.column_dimensions["A"].width = 110
    for r, (kind, text) in enumerate(rows, 1):
        cell = ws.cell(r, 1, text)
        size = {"title": 16, "sub": 12, "h": 12}.get(kind, 10)
        cell.font = Font(name="Arial", size=size, bold=kind in ("title", "sub", "h"),
                         color=HEADER_FILL if kind in ("title", "h") else "000000")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.sheet_view.showGridLines = False
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0


def _indicators_sheet(ws: Worksheet, styles: _Styles, plan: Plan, items: list[tuple[str, Indicator]], period: Period,
                      prefill: Prefill, tolerance: float, cutoff_days: int, dept_name: str, password: str) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    cols = indicator_columns(period)
    keys = [c.key for c in cols]
    _sheet_banner(ws, "Indicators", f"{dept_name} - {period.label}",
                  "Fill the white cells. Grey cells are locked context. Hover over a white cell for guidance.", len(cols))
    _write_header(ws, cols, styles)
    rules: dict[tuple[str, str, str | None, str | None, str], list[str]] = {}
    L = {k: col_letter(cols, k) for k in keys}
    for r, (sub_title, ind) in enumerate(items, FIRST_ROW):
        base = ind.baselines[-1] if ind.baselines else None
        ctx: dict[str, Any] = {
            "id": ind.id, "name": ind.name, "sub_outcome": sub_title, "aim": plan.aim_text(ind.aim),
            "unit": UNIT_LABELS[ind.unit], "polarity": POLARITY_LABELS[ind.polarity],
            "frequency": FREQUENCY_LABELS[ind.frequency], "statutory": "Yes" if ind.statutory else "No",
            "baseline": base.value if base else None, "baseline_period": base.period if base else None,
            "value_last_year": prefill.values.get((ind.id, str(period.year_earlier()))),
            "value_previous": prefill.values.get((ind.id, str(period.previous()))),
            "target": target_for(ind, period), "data_period": default_data_period(ind, period, cutoff_days),
            "range_low": ind.range.low if ind.range else None, "range_high": ind.range.high if ind.range else None,
            "tolerance": tolerance,
        }
        rule = _number_rule(ind)
        for ci, col in enumerate(cols, 1):
            cell = ws.cell(r, ci)
            if col.key in ctx and ctx[col.key] is not None:
                cell.value = ctx[col.key]
            is_rate_col = col.key in ("numerator", "denominator")
            if is_rate_col and ind.rate is None:
                cell.style = styles.na
            else:
                cell.style = styles.input if col.input else styles.locked
            if col.key in ("baseline", "value_last_year", "value_previous", "value", "target", "range_low", "range_high"):
                cell.number_format = rule[4]
        ws[f"{L['tolerance']}{r}"].number_format = "0%"
        ws[f"{L['rag_preview']}{r}"] = rag_formula(r, cols)
        ws[f"{L['rag_preview']}{r}"].font = Font(name="Arial", size=10, bold=True)
        rules.setdefault(rule, []).append(f"{L['value']}{r}")
        rules.setdefault(rule, []).append(f"{L['target']}{r}")
        if ind.rate:
            ws[f"{L['numerator']}{r}"].number_format = ws[f"{L['denominator']}{r}"].number_format = "#,##0.##"
    last = FIRST_ROW + len(items) - 1
    for (kind, op, f1, f2, _), cells in rules.items():
        sample = next(i for _, i in items if _number_rule(i)[:4] == (kind, op, f1, f2))
        _add_validation(ws, cells, kind, operator=op, formula1=f1, formula2=f2, title="A number",
                        prompt=_value_prompt(sample), error=_value_prompt(sample) + " Leave it blank if there is no value yet.")
    rate_rows = [r for r, (_, i) in enumerate(items, FIRST_ROW) if i.rate]
    for key in ("numerator", "denominator"):
        _add_validation(ws, [f"{L[key]}{r}" for r in rate_rows], "decimal", operator="greaterThanOrEqual", formula1="0",
                        title=key.title(), prompt=f"The {key} of the rate, as a number of 0 or more.",
                        error=f"The {key} must be a number of 0 or more.")
    if items:
        _add_validation(ws, [f"{L['data_status']}{FIRST_ROW}:{L['data_status']}{last}"], "list",
                        formula1=f"={SHEET_LISTS}!$A$2:$A${1 + len(DATA_STATUSES)}", title="Data status",
                        prompt="Final, Provisional or Not yet available.", error="Choose Final, Provisional or Not yet available.")
        for key, limit, prompt in (("reason", 500, "Why there is no value, and when it is expected."),
                                   ("data_period", 20, "The period the figure covers, e.g. 2024/25 or 2025/26-Q1."),
                                   ("commentary", 2000, "What the figure shows and what is being done (required for Red).")):
            _add_validation(ws, [f"{L[key]}{FIRST_ROW}:{L[key]}{last}"], "textLength", operator="lessThanOrEqual",
                            formula1=str(limit), title="Text", prompt=prompt, error=f"Keep this under {limit} characters.")
        rag = f"{L['rag_preview']}{FIRST_ROW}:{L['rag_preview']}{last}"
        for text, color in RAG_FILLS.items():
            ws.conditional_formatting.add(rag, FormulaRule(formula=[f'${L["rag_preview"]}{FIRST_ROW}="{text}"'],
                                                           fill=PatternFill("solid", fgColor=color, bgColor=color)))
    for key in HIDDEN_INDICATOR_KEYS:
        ws.column_dimensions[L[key]].hidden = True
    _finish_sheet(ws, cols, len(items), "Indicators", password)


def _commitments_sheet(ws: Worksheet, styles: _Styles, plan: Plan, items: list[tuple[str, Any]], period: Period,
                       prefill: Prefill, dept_name: str, password: str) -> None:
    cols = COMMITMENT_COLUMNS
    L = {c.key: col_letter(cols, c.key) for c in cols}
    _sheet_banner(ws, "Commitments", f"{dept_name} - {period.label}",
                  "One row per commitment your department leads. The Checks column shows what still needs attention.",
                  len(cols))
    _write_header(ws, cols, styles)
    for r, (sub_title, c) in enumerate(items, FIRST_ROW):
        carried = prefill.commitments.get(c.id, {})
        ctx: dict[str, Any] = {"id": c.id, "commitment": c.text, "sub_outcome": sub_title, "aim": plan.aim_text(c.aim),
                               "role": "Lead" if c.role == "lead" else "Partner"}
        for key in CARRIED:
            if carried.get(key) not in (None, ""):
                ctx[key] = carried[key]
        for ci, col in enumerate(cols, 1):
            cell = ws.cell(r, ci, ctx.get(col.key))
            cell.style = styles.input if col.input else styles.locked
        ws[f"{L['percent_complete']}{r}"].number_format = "0%"
        for k in ("start_date", "target_date", "completion_date"):
            ws[f"{L[k]}{r}"].number_format = "dd/mm/yyyy"
        ws[f"{L['checks']}{r}"] = commitment_checks_formula(r)
    last = FIRST_ROW + max(len(items), 1) - 1
    col = lambda k: [f"{L[k]}{FIRST_ROW}:{L[k]}{last}"]  # noqa: E731
    n_status = len(COMMITMENT_STATUSES)
    _add_validation(ws, col("status"), "list", formula1=f"={SHEET_LISTS}!$B$2:$B${1 + n_status}", title="Status",
                    prompt="Choose: " + ", ".join(COMMITMENT_STATUSES) + ".", error="Choose a status from the list.")
    _add_validation(ws, col("percent_complete"), "decimal", operator="between", formula1="0", formula2="1",
                    title="% complete", prompt="From 0% to 100%. Type 45% (or 0.45).", error="% complete is from 0% to 100%.")
    for k in ("start_date", "target_date", "completion_date"):
        _add_validation(ws, col(k), "date", operator="between", formula1="DATE(2015,1,1)", formula2="DATE(2040,12,31)",
                        title="Date", prompt="A date as dd/mm/yyyy, e.g. 31/03/2026.",
                        error="Type a real date as dd/mm/yyyy, between 2015 and 2040.")
    for k, limit in (("lead_officer", 100), ("milestone", 1000), ("achievements", 2000), ("challenges", 2000),
                     ("priorities", 2000)):
        _add_validation(ws, col(k), "textLength", operator="lessThanOrEqual", formula1=str(limit), title="Text",
                        prompt=next(c.note for c in cols if c.key == k) or "Plain text.",
                        error=f"Keep this under {limit} characters.")
    _finish_sheet(ws, cols, len(items), "Commitments", password)


def _lists_sheet(wb: Workbook) -> None:
    ws = wb.create_sheet(SHEET_LISTS)
    ws["A1"], ws["B1"] = "Data status", "Commitment status"
    for i, s in enumerate(DATA_STATUSES, 2):
        ws.cell(i, 1, s)
    for i, s in enumerate(COMMITMENT_STATUSES, 2):
        ws.cell(i, 2, s)
    ws.sheet_state = "hidden"
    ws.protection.sheet = True


def _metadata(wb: Workbook, meta: TrackerMeta) -> None:
    """Custom document properties carry the metadata; the hidden sheet is a second copy.

    LibreOffice has no very-hidden state and saves the sheet back as hidden; the properties survive as they are.
    """
    from openpyxl.packaging.custom import StringProperty

    ws = wb.create_sheet(SHEET_META)
    for r, (k, v) in enumerate(meta.as_pairs(), 1):
        ws.cell(r, 1, k)
        ws.cell(r, 2, v)
    ws.sheet_state = "veryHidden"
    ws.protection.sheet = True
    for k, v in meta.as_pairs():
        wb.custom_doc_props.append(StringProperty(name=f"pr_{k}", value=v))
    wb.properties.title = f"Strategic Plan tracker {meta.department} {meta.period}"
    wb.properties.subject = TEMPLATE_KIND
    wb.properties.creator = "plan-reports"
    wb.properties.keywords = f"{meta.plan_id};{meta.department};{meta.period};v{meta.template_version}"


def _lock_structure(wb: Workbook, password: str) -> None:
    """Stop sheets being renamed, deleted, added or unhidden, which would break validation."""
    from openpyxl.workbook.protection import WorkbookProtection

    wb.security = WorkbookProtection(lockStructure=True)
    if password:
        wb.security.workbookPassword = password


def build_tracker(cfg: Config, plan: Plan, dept_id: str, period: Period, prefill: Prefill | None = None,
                  generated_at: datetime | None = None, team: str = "") -> Workbook:
    """The whole workbook in memory: pure apart from the clock, which callers may pin."""
    from openpyxl import Workbook

    prefill = prefill or Prefill()
    dept = cfg.organisation.department(dept_id)
    inds, comms = _department_items(plan, dept_id)
    password = cfg.settings.tracker.protection_password
    wb = Workbook()
    styles = _Styles(wb)
    ws = wb.active
    ws.title = SHEET_INSTRUCTIONS
    _instructions(ws, cfg, plan, dept_id, period, (len(inds), len(comms)))
    _indicators_sheet(wb.create_sheet(SHEET_INDICATORS), styles, plan, inds, period, prefill,
                      cfg.settings.tracker.rag_preview_tolerance, cfg.calendar.board_meeting_days_after_period_end,
                      dept.name, password)
    _commitments_sheet(wb.create_sheet(SHEET_COMMITMENTS), styles, plan, comms, period, prefill, dept.name, password)
    _lists_sheet(wb)
    stamp = (generated_at or datetime.now(UTC)).replace(microsecond=0).isoformat()
    _metadata(wb, TrackerMeta(cfg.settings.tracker.template_version, plan.id, dept_id, str(period), stamp,
                              cfg.config_hash, team))
    _lock_structure(wb, password)
    wb.active = 1
    wb.calculation.fullCalcOnLoad = True  # no cached values are written: ask Excel to calculate on open
    return wb


def plan_prefill(plan: Plan, dept_id: str, history: Mapping[tuple[str, str], float] | None = None,
                 carried: Mapping[str, dict[str, Any]] | None = None) -> Prefill:
    """History for context: stored values where there are any, else the plan's baselines."""
    values: dict[tuple[str, str], float] = {}
    for _, _, ind in plan.indicators():
        if ind.department == dept_id:
            for b in ind.baselines:
                values[(ind.id, b.period)] = b.value
    values.update(history or {})
    return Prefill(values, dict(carried or {}))


def store_prefill(con: Any, plan: Plan, dept_id: str, period: Period) -> Prefill:
    """Roll forward from the history store: history for context, last known commitment updates carried over."""
    from plan_reports.store import indicator_values

    rows = indicator_values(con, [str(period.previous()), str(period.year_earlier())])
    history = {key: row["value"] for key, row in rows.items() if row["value"] is not None}
    carried: dict[str, dict[str, Any]] = {}
    q = ("SELECT c.* FROM commitment_updates c JOIN current_submissions s ON s.id = c.submission_id "
         "WHERE c.period < ? AND s.department = ? ORDER BY c.period, s.id")
    for row in con.execute(q, (str(period), dept_id)):
        carried[row["commitment_id"]] = carried_update(row)
    return plan_prefill(plan, dept_id, history, carried)


def carried_update(update: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a commitment update that roll forward, with its ISO dates (as stored and returned) as dates."""
    from datetime import date as _date

    return {k: (_date.fromisoformat(update[k]) if k.endswith("_date") and update[k] else update[k]) for k in CARRIED}


def write_trackers(cfg: Config, period: Period, out: Path, departments: Sequence[str] | None = None,
                   generated_at: datetime | None = None, store: Path | None = None, teams: int | None = None,
                   prefills: Mapping[str, Prefill] | None = None) -> list[Path]:
    """Write one tracker per department (or per team), rolled forward from `prefills`, else the store, else the plan."""
    """Write one tracker per department; each file appears whole or not at all."""
    plan = cfg.plan_for_period(period)
    dept_ids = list(departments) if departments else [d.id for d in cfg.organisation.departments]
    unknown = [d for d in dept_ids if d not in {x.id for x in cfg.organisation.departments}]
    if unknown:
        from plan_reports.config import ConfigError, ConfigProblem

        known = ", ".join(d.id for d in cfg.organisation.departments)
        raise ConfigError([ConfigProblem("organisation.yaml", 1, "departments", f"unknown department '{u}' (known: {known})")
                           for u in unknown])
    written = []
    con = None
    if store is not None and Path(store).exists():
        from plan_reports.store import connect

        con = connect(Path(store))
    jobs = [(d, "") for d in dept_ids] if not teams else [(dept_ids[i % len(dept_ids)], f"T{i + 1:04d}") for i in range(teams)]
    prefills = dict(prefills or {})
    for dept_id, team in jobs:
        if dept_id not in prefills:
            prefills[dept_id] = store_prefill(con, plan, dept_id, period) if con is not None else plan_prefill(plan, dept_id)
        wb = build_tracker(cfg, plan, dept_id, period, prefills[dept_id], generated_at, team)
        target = Path(out) / tracker_filename(dept_id, period, team)
        with atomic_path(target) as tmp:
            wb.save(tmp)
        written.append(target)
    if con is not None:
        con.close()
    return written

