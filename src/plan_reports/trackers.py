"""The trackers stage: one workbook per department and quarter, filled in plain Excel.

Everything a lead needs is native Excel: dropdowns, input messages, error alerts, a RAG preview computed by
formulas built from the scoring rules (`preview`, Excel 2016 and LibreOffice 7.4 functions only), checks as the lead
types, and locked context cells.
The column layout below (`INDICATOR_COLUMNS`, `COMMITMENT_COLUMNS`) is the contract the validator reads back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports import preview
from plan_reports.atomic import atomic_path
from plan_reports.models import FREQUENCY_LABELS, POLARITY_LABELS, UNIT_LABELS, Indicator, Plan
from plan_reports.periods import Period
from plan_reports.targets import plan_target
from plan_reports.tracker_format import (
    FIRST_ROW,
    HEADER_FILL,
    LAST_PRINTED,
    RAG_FILLS,
    Styles,
    a4_fit_to_width,
    add_validation,
    check_colours,
    col_letter,
    finish_sheet,
    set_footer,
    sheet_banner,
    write_header,
)
from plan_reports.tracker_format import (  # re-exported: validate reads them from here
    HEADER_ROW as HEADER_ROW,
)
from plan_reports.tracker_format import Column as Column

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    from plan_reports.config import Config

TEMPLATE_KIND = "plan-reports tracker"
SUPPORTED_TEMPLATE_VERSIONS = ("1.0",)
SHEET_INSTRUCTIONS, SHEET_INDICATORS, SHEET_COMMITMENTS, SHEET_LISTS, SHEET_META = (
    "Instructions", "Indicators", "Commitments", "Lists", "_meta",
)
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




def indicator_columns(period: Period) -> list[Column]:
    """Indicator sheet layout: what a lead types near the left, then the preview and checks, then context.

    The comparison columns are named relative to "Period the data covers" (the figure's own period, not the
    reporting round), which sits just before them.
    """
    return [
        Column("id", "ID", 7),
        Column("name", "Indicator", 22),
        Column("unit", "Unit", 7),
        Column("data_period", "Period the data covers", 9, True, "e.g. 2024/25 for an annual figure published late."),
        Column("value_last_year", "Same period a year earlier", 8),
        Column("value_previous", "Period before", 8),
        Column("value", "This period's value", 8, True, "This period's value, as a number."),
        Column("target", "Target", 8, True, "This period's target (pre-filled from the plan where it sets one)."),
        Column("data_status", "Data status", 10, True, "Final, Provisional or Not yet available."),
        Column("reason", "Reason if no value", 13, True, "Required when there is no value."),
        Column("commentary", "Commentary", 25, True, "Required for a Red rating: what is happening and what is being done."),
        Column("rag_preview", "RAG preview", 8),
        Column("checks", "Checks", 20),
        Column("numerator", "Numerator (rates only)", 11, True, "For rates only: the count on top."),
        Column("denominator", "Denominator (rates only)", 11, True, "For rates only: the count underneath."),
        Column("rule", "How it is rated", 40),
        Column("polarity", "Polarity", 12),
        Column("range_low", "Range low", 9),
        Column("range_high", "Range high", 9),
        Column("frequency", "Frequency", 10),
        Column("statutory", "Statutory", 9),
        Column("baseline", "Baseline", 10),
        Column("baseline_period", "Baseline period", 10),
        Column("sub_outcome", "Sub-outcome", 36),
        Column("aim", "Aim", 60),
    ]


COMMITMENT_COLUMNS = [
    Column("id", "ID", 7),
    Column("commitment", "Commitment", 19),
    Column("lead_officer", "Lead officer", 10, True, "Name of the officer accountable."),
    Column("status", "Status", 10, True, "Choose from the list."),
    Column("percent_complete", "% complete", 7, True, "0% to 100%."),
    Column("start_date", "Start date", 10, True, "dd/mm/yyyy"),
    Column("target_date", "Target date", 10, True, "dd/mm/yyyy"),
    Column("completion_date", "Completion date", 10, True, "dd/mm/yyyy, when Completed."),
    Column("milestone", "Milestone this period", 12, True, ""),
    Column("achievements", "Achievements", 15, True, ""),
    Column("challenges", "Challenges", 15, True,
           "Required for Major disruption and Deferred; explains a target date that has passed."),
    Column("priorities", "Priorities for the next six months", 12, True, ""),
    Column("checks", "Checks", 16),
    Column("sub_outcome", "Sub-outcome", 36),
    Column("aim", "Aim", 60),
    Column("role", "Council role", 10),
]
TEXT_KEYS = ("data_period", "data_status", "reason", "commentary", "lead_officer", "status", "milestone", "achievements",
             "challenges", "priorities")
CARRIED = ("lead_officer", "status", "percent_complete", "start_date", "target_date", "completion_date", "priorities")


@dataclass
class Prefill:
    """What a tracker starts with: history for context and last period's commitment updates to roll forward."""

    values: dict[tuple[str, str], float] = field(default_factory=dict)  # (indicator id, period id) -> value
    commitments: dict[str, dict[str, Any]] = field(default_factory=dict)  # commitment id -> column key -> value
    targets: dict[str, float] = field(default_factory=dict)  # indicator id -> target to pre-fill (else the plan's)
    agreed: dict[str, str] = field(default_factory=dict)  # indicator id -> how its target was agreed (cell locked)


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


target_for = plan_target  # the plan's target for a period that covers this one (kept here for callers)


def default_data_period(ind: Indicator, period: Period, cutoff_days: int) -> str:
    """The latest period whose figures are out `cutoff_days` after this one ends (the board date), given the lag."""
    available = period.end + timedelta(days=cutoff_days - round(30.44 * ind.lag_months))
    kind = {"quarterly": "Q", "six_monthly": "H", "annual": "Y"}[ind.frequency]
    p = Period.containing(available, kind)  # type: ignore[arg-type]
    return str(p if p.end <= available else p.previous())


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
              "White columns are for you: the period the data covers, this period's value, the target, the data "
              "status and, if there is no value, the reason; commentary. For rates, the numerator and denominator "
              "are to the right of Checks. Type numbers only: no %, commas, units or text such as n/a. "
              "Percentages are typed as 45.2 for 45.2%. A grey target is the agreed target for the year: it is locked."),
        ("p", "'Same period a year earlier' and 'Period before' are for the period the data covers, not for this "
              "reporting round: an annual figure published late is compared with the year before it."),
        ("p", "Data status: Final (published or signed off), Provisional (may be revised), "
              "Not yet available (give the reason and when it is expected)."),
        ("p", "RAG preview uses the same rules as the Outcome Board's rating, shown for each indicator under "
              "'How it is rated' (to the right): the tolerance, a floor standard, or improvement on the same period "
              "a year earlier; ranges are shown too. Red needs commentary."),
        ("p", "Checks says in words what is missing or looks wrong as you type. Red 'Fix:' will be rejected when "
              "you return the tracker; amber 'Check:' or 'To do:' needs a look; green 'OK' means nothing was found."),
        ("h", "Commitments sheet"),
        ("p", f"{counts[1]} commitment(s) your department leads. For each: the lead officer, a status from the list, "
              "% complete, the dates (dd/mm/yyyy), this period's milestone, achievements, challenges and "
              "priorities for the next six months. Checks tells you what is missing or inconsistent; a target date "
              "that has passed is fine once Challenges explains the delay."),
        ("h", "What the statuses mean"),
        *[("p", f"{k}: {v}") for k, v in STATUS_MEANINGS.items()],
        ("h", "Please do not"),
        ("p", "Add, delete or reorder rows or columns, rename sheets, or paste over the grey cells. "
              "Paste values only (Paste Special > Values) so the dropdowns and checks keep working."),
        ("h", "Printing"),
        ("p", "Each sheet prints on A4 landscape, fitted to the page width, with the headings on every page. "
              "The context columns to the right of Checks do not print."),
        ("h", "Contact"),
        ("p", f"Questions: {dept.contact.name} ({dept.contact.email}) or {team.name} ({team.email})."),
    ]
    ws.column_dimensions["A"].width = 78
    for r, (kind, text) in enumerate(rows, 1):
        cell = ws.cell(r, 1, text)
        size = {"title": 16, "sub": 12, "h": 12}.get(kind, 10)
        cell.font = Font(name="Arial", size=size, bold=kind in ("title", "sub", "h"),
                         color=HEADER_FILL if kind in ("title", "h") else "000000")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        per_line = 86 * 10 / size * (0.9 if cell.font.b else 1)  # characters of Arial to a line of this width
        lines = max(1, -(-len(text) // int(per_line)))
        ws.row_dimensions[r].height = lines * size * 1.3 + (10 if kind in ("h", "title") else 4)
    ws.sheet_view.showGridLines = False
    a4_fit_to_width(ws, "portrait")
    ws.print_area = f"A1:A{len(rows)}"
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top, ws.page_margins.bottom = 0.6, 0.7


def _history(prefill: Prefill, ind: Indicator, data_period: Period, period: Period) -> tuple[float | None, float | None]:
    """(same period a year earlier, period before), of the period the data covers: the scorer's comparison points.

    History keyed by reporting round (last period's returns) is used for a lagged figure of the same frequency.
    """
    def get(p: Period, by_round: Period) -> float | None:
        v = prefill.values.get((ind.id, str(p)))
        if v is None and p != by_round and data_period.kind == period.kind:
            v = prefill.values.get((ind.id, str(by_round)))
        return v

    return get(data_period.year_earlier(), period.year_earlier()), get(data_period.previous(), period.previous())


def _indicators_sheet(ws: Worksheet, styles: Styles, cfg: Config, plan: Plan, items: list[tuple[str, Indicator]],
                      period: Period, prefill: Prefill, dept_name: str, today: date) -> dict[str, Any]:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    cols = indicator_columns(period)
    keys = [c.key for c in cols]
    sheet_banner(ws, "Indicators", f"{dept_name} - {period.label}",
                  "Fill the white cells. Grey cells are locked context. Hover over a white cell for guidance. "
                  "Rates: numerator and denominator are to the right of Checks.", keys.index(LAST_PRINTED) + 1)
    write_header(ws, cols, styles)
    rules: dict[tuple[str, str, str | None, str | None, str], list[str]] = {}
    L = {k: col_letter(cols, k) for k in keys}
    cached: dict[str, Any] = {}
    agreed = {("target", i) for i in prefill.agreed}
    for r, (sub_title, ind) in enumerate(items, FIRST_ROW):
        base = ind.baselines[-1] if ind.baselines else None
        data_period = default_data_period(ind, period, cfg.calendar.board_meeting_days_after_period_end)
        last_year, previous = _history(prefill, ind, Period.parse(data_period), period)
        rule = cfg.scoring.rag.rule_for(ind.id)
        ctx: dict[str, Any] = {
            "id": ind.id, "name": f"{ind.name} (enter: {ind.holds})" if ind.holds else ind.name,
            "sub_outcome": sub_title, "aim": plan.aim_text(ind.aim),
            "unit": UNIT_LABELS[ind.unit], "polarity": POLARITY_LABELS[ind.polarity],
            "frequency": FREQUENCY_LABELS[ind.frequency], "statutory": "Yes" if ind.statutory else "No",
            "baseline": base.value if base else None, "baseline_period": base.period if base else None,
            "value_last_year": last_year, "value_previous": previous, "rule": preview.rule_text(ind, rule),
            "target": prefill.targets.get(ind.id, target_for(ind, period)), "data_period": data_period,
            "range_low": ind.range.low if ind.range else None, "range_high": ind.range.high if ind.range else None,
        }
        number = _number_rule(ind)
        for ci, col in enumerate(cols, 1):
            cell = ws.cell(r, ci)
            if col.key in ctx and ctx[col.key] is not None:
                cell.value = ctx[col.key]
            is_rate_col = col.key in ("numerator", "denominator")
            if is_rate_col and ind.rate is None:
                cell.style = styles.na
            else:  # an agreed target is context, locked
                cell.style = styles.input if col.input and (col.key, ind.id) not in agreed else styles.locked
            if col.key in ("baseline", "value_last_year", "value_previous", "value", "target", "range_low", "range_high"):
                cell.number_format = number[4]
            elif col.key in TEXT_KEYS:
                cell.number_format = "@"
        rag = preview.preview_expr(ind, rule)
        check = preview.indicator_checks_expr(ind, DATA_STATUSES, data_period)
        ws[f"{L['rag_preview']}{r}"] = preview.render(rag, L, r)
        ws[f"{L['rag_preview']}{r}"].font = Font(name="Arial", size=10, bold=True)
        ws[f"{L['checks']}{r}"] = preview.render(check, L, r)
        env = {**ctx, "rag_preview": preview.evaluate(rag, ctx, today)}
        cached[f"{L['rag_preview']}{r}"] = env["rag_preview"]
        cached[f"{L['checks']}{r}"] = preview.evaluate(check, env, today)
        rules.setdefault(number, []).append(f"{L['value']}{r}")
        if ("target", ind.id) not in agreed:
            rules.setdefault(number, []).append(f"{L['target']}{r}")
        if ind.rate:
            ws[f"{L['numerator']}{r}"].number_format = ws[f"{L['denominator']}{r}"].number_format = "#,##0.##"
    last = FIRST_ROW + len(items) - 1
    for (kind, op, f1, f2, _), cells in rules.items():
        sample = next(i for _, i in items if _number_rule(i)[:4] == (kind, op, f1, f2))
        add_validation(ws, cells, kind, operator=op, formula1=f1, formula2=f2, title="A number",
                        prompt=_value_prompt(sample), error=_value_prompt(sample) + " Leave it blank if there is no value yet.")
    rate_rows = [r for r, (_, i) in enumerate(items, FIRST_ROW) if i.rate]
    for key in ("numerator", "denominator"):
        add_validation(ws, [f"{L[key]}{r}" for r in rate_rows], "decimal", operator="greaterThanOrEqual", formula1="0",
                        title=key.title(), prompt=f"The {key} of the rate, as a number of 0 or more.",
                        error=f"The {key} must be a number of 0 or more.")
    if items:
        add_validation(ws, [f"{L['data_status']}{FIRST_ROW}:{L['data_status']}{last}"], "list",
                        formula1=f"={SHEET_LISTS}!$A$2:$A${1 + len(DATA_STATUSES)}", title="Data status",
                        prompt="Final, Provisional or Not yet available.", error="Choose Final, Provisional or Not yet available.")
        for key, limit, prompt in (("reason", 500, "Why there is no value, and when it is expected."),
                                   ("data_period", 20, "The period the figure covers, e.g. 2024/25 or 2025/26-Q1."),
                                   ("commentary", 2000, "What the figure shows and what is being done (required for Red).")):
            add_validation(ws, [f"{L[key]}{FIRST_ROW}:{L[key]}{last}"], "textLength", operator="lessThanOrEqual",
                            formula1=str(limit), title="Text", prompt=prompt, error=f"Keep this under {limit} characters.")
        rag_rng = f"{L['rag_preview']}{FIRST_ROW}:{L['rag_preview']}{last}"
        for text, color in RAG_FILLS.items():
            ws.conditional_formatting.add(rag_rng, FormulaRule(formula=[f'${L["rag_preview"]}{FIRST_ROW}="{text}"'],
                                                               fill=PatternFill("solid", fgColor=color, bgColor=color)))
        check_colours(ws, f"{L['checks']}{FIRST_ROW}:{L['checks']}{last}", f"${L['checks']}{FIRST_ROW}")
    return cached


def _commitments_sheet(ws: Worksheet, styles: Styles, cfg: Config, plan: Plan, items: list[tuple[str, Any]],
                       period: Period, prefill: Prefill, dept_name: str, today: date) -> dict[str, Any]:
    cols = COMMITMENT_COLUMNS
    L = {c.key: col_letter(cols, c.key) for c in cols}
    sheet_banner(ws, "Commitments", f"{dept_name} - {period.label}",
                  "One row per commitment your department leads. The Checks column shows what still needs attention.",
                  [c.key for c in cols].index(LAST_PRINTED) + 1)
    write_header(ws, cols, styles)
    check = preview.commitment_checks_expr(COMMITMENT_STATUSES, period.end, cfg.scoring.commitments.behind_margin_pct)
    cached: dict[str, Any] = {}
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
            if col.key in TEXT_KEYS:
                cell.number_format = "@"
        ws[f"{L['percent_complete']}{r}"].number_format = "0%"
        for k in ("start_date", "target_date", "completion_date"):
            ws[f"{L[k]}{r}"].number_format = "dd/mm/yyyy"
        ws[f"{L['checks']}{r}"] = preview.render(check, L, r)
        cached[f"{L['checks']}{r}"] = preview.evaluate(check, ctx, today)
    last = FIRST_ROW + max(len(items), 1) - 1
    col = lambda k: [f"{L[k]}{FIRST_ROW}:{L[k]}{last}"]  # noqa: E731
    n_status = len(COMMITMENT_STATUSES)
    add_validation(ws, col("status"), "list", formula1=f"={SHEET_LISTS}!$B$2:$B${1 + n_status}", title="Status",
                    prompt="Choose: " + ", ".join(COMMITMENT_STATUSES) + ".", error="Choose a status from the list.")
    add_validation(ws, col("percent_complete"), "decimal", operator="between", formula1="0", formula2="1",
                    title="% complete", prompt="From 0% to 100%. Type 45% (or 0.45).", error="% complete is from 0% to 100%.")
    for k in ("start_date", "target_date", "completion_date"):
        add_validation(ws, col(k), "date", operator="between", formula1="DATE(2015,1,1)", formula2="DATE(2040,12,31)",
                        title="Date", prompt="A date as dd/mm/yyyy, e.g. 31/03/2026.",
                        error="Type a real date as dd/mm/yyyy, between 2015 and 2040.")
    for k, limit in (("lead_officer", 100), ("milestone", 1000), ("achievements", 2000), ("challenges", 2000),
                     ("priorities", 2000)):
        add_validation(ws, col(k), "textLength", operator="lessThanOrEqual", formula1=str(limit), title="Text",
                        prompt=next(c.note for c in cols if c.key == k) or "Plain text.",
                        error=f"Keep this under {limit} characters.")
    check_colours(ws, col("checks")[0], f"${L['checks']}{FIRST_ROW}")
    return cached


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
    """The whole workbook in memory: pure apart from the clock, which callers may pin.

    The formulas' values as generated are kept on `wb.pr_cached`; `save_tracker` writes them into the file.
    """
    from openpyxl import Workbook

    prefill = prefill or Prefill()
    dept = cfg.organisation.department(dept_id)
    inds, comms = _department_items(plan, dept_id)
    password = cfg.settings.tracker.protection_password
    when = generated_at or datetime.now(UTC)
    wb = Workbook()
    styles = Styles(wb)
    ws = wb.active
    ws.title = SHEET_INSTRUCTIONS
    _instructions(ws, cfg, plan, dept_id, period, (len(inds), len(comms)))
    footer = f"{dept.name} - {period.label}"
    set_footer(ws, footer)
    cached: dict[str, dict[str, Any]] = {}
    for name, make, items in ((SHEET_INDICATORS, _indicators_sheet, inds), (SHEET_COMMITMENTS, _commitments_sheet, comms)):
        sheet = wb.create_sheet(name)
        cached[name] = make(sheet, styles, cfg, plan, items, period, prefill, dept.name, when.date())  # type: ignore[operator]
        finish_sheet(sheet, indicator_columns(period) if name == SHEET_INDICATORS else COMMITMENT_COLUMNS, len(items),
                      name, password, footer, cached[name])
    _lists_sheet(wb)
    stamp = when.replace(microsecond=0).isoformat()
    _metadata(wb, TrackerMeta(cfg.settings.tracker.template_version, plan.id, dept_id, str(period), stamp,
                              cfg.config_hash, team))
    _lock_structure(wb, password)
    wb.active = 0  # opens on the Instructions
    wb.calculation.fullCalcOnLoad = True  # the cached values are as generated: Excel recalculates on open
    wb.pr_cached = cached  # type: ignore[attr-defined]
    return wb


def save_tracker(wb: Workbook, path: Path) -> None:
    """Save, with every formula's value as generated (for Protected View) and data rows free to grow."""
    wb.save(path)
    cached: dict[str, dict[str, Any]] = getattr(wb, "pr_cached", {})
    parts = {f"xl/worksheets/sheet{i}.xml": name for i, name in enumerate(wb.sheetnames, 1)}
    rows = {part: range(FIRST_ROW, wb[name].max_row + 1) for part, name in parts.items()
            if name in (SHEET_INDICATORS, SHEET_COMMITMENTS)}
    preview.write_cached_values(path, {part: cached[name] for part, name in parts.items() if name in cached}, rows)


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


def store_prefill(con: Any, plan: Plan, dept_id: str, period: Period, area_code: str | None = None) -> Prefill:
    """Roll forward from the history store: values by the period they cover, as the scorer reads them (published
    figures for the council's area, then returns up to last period, the latest report of a period winning), and the
    last known commitment updates."""
    from plan_reports.store import area_values, indicator_values_through
    from plan_reports.targets import prefill_targets

    mine = [i.id for _, _, i in plan.indicators() if i.department == dept_id]
    history: dict[tuple[str, str], float] = {}
    for ind_id in mine if area_code else ():
        history.update({(ind_id, r["period"]): r["value"] for r in area_values(con, ind_id)
                        if r["area_code"] == area_code and r["value"] is not None})
    wanted = set(mine)
    for r in indicator_values_through(con, str(period.previous())):
        if r["indicator_id"] in wanted and r["value"] is not None:
            history[(r["indicator_id"], r["data_period"] or r["period"])] = r["value"]
    carried: dict[str, dict[str, Any]] = {}
    q = ("SELECT c.* FROM commitment_updates c JOIN current_submissions s ON s.id = c.submission_id "
         "WHERE c.period < ? AND s.department = ? ORDER BY c.period, s.id")
    for row in con.execute(q, (str(period), dept_id)):
        carried[row["commitment_id"]] = carried_update(row)
    pre = plan_prefill(plan, dept_id, history, carried)
    pre.targets, pre.agreed = prefill_targets(con, plan, dept_id, period)  # agreed (locked), else last period's
    return pre


def carried_update(update: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a commitment update that roll forward, with its ISO dates (as stored and returned) as dates."""
    from datetime import date as _date

    return {k: (_date.fromisoformat(update[k]) if k.endswith("_date") and update[k] else update[k]) for k in CARRIED}


def write_trackers(cfg: Config, period: Period, out: Path, departments: Sequence[str] | None = None,
                   generated_at: datetime | None = None, store: Path | None = None, teams: int | None = None,
                   prefills: Mapping[str, Prefill] | None = None) -> list[Path]:
    """Write one tracker per department (or per team), rolled forward from `prefills`, else the store, else the plan.

    Each file appears whole or not at all."""
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
            prefills[dept_id] = store_prefill(con, plan, dept_id, period, cfg.organisation.council.area_code) \
                if con is not None else plan_prefill(plan, dept_id)
        wb = build_tracker(cfg, plan, dept_id, period, prefills[dept_id], generated_at, team)
        target = Path(out) / tracker_filename(dept_id, period, team)
        with atomic_path(target) as tmp:
            save_tracker(wb, tmp)
        written.append(target)
    if con is not None:
        con.close()
    return written

