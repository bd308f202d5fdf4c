"""The consolidated workbook: one period's returns, indicators with their history, commitments, issues and scores.

Formatted for people (filters, frozen headers, number formats, RAG as words with colour) and written atomically.
Every user-supplied string goes through `put`, so it is stored as text and never run as a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.atomic import atomic_path
from plan_reports.models import POLARITY_LABELS, UNIT_LABELS, Plan
from plan_reports.periods import Period
from plan_reports.score import QUARTILE_LABELS
from plan_reports.store import indicator_values, submissions_for

if TYPE_CHECKING:
    import sqlite3

    from plan_reports.config import Config
    from plan_reports.score import PeriodScores
    from plan_reports.store import ReturnStatus

RAG_FILL = {"Green": "#C6EFCE", "Amber": "#FFEB9C", "Red": "#FFC7CE", "No data": "#D9D9D9", "No target": "#EDEDED",
            "Data only": "#FFFFFF", "Check value": "#FFFFFF", "Insufficient data": "#D9D9D9", "Not rated": "#FFFFFF"}
HEADER_FILL = "#1F4E79"


def history_periods(period: Period) -> list[Period]:
    """The same quarter last year, then the four quarters before this one."""
    prev = [period.shift(-k) for k in range(4, 0, -1)]
    ly = period.year_earlier()
    return [ly] + [p for p in prev if p != ly]


class _Sheet:
    """One sheet written with XlsxWriter: formats are made once, strings are always written as strings."""

    def __init__(self, book: _Book, title: str, heading: str, columns: list[tuple[str, float]]) -> None:
        self.book, self.columns = book, columns
        self.ws = book.wb.add_worksheet(title)
        self.ws.write_string(0, 0, heading, book.fmt("heading"))
        for ci, (name, width) in enumerate(columns):
            self.ws.write_string(2, ci, name, book.fmt("header"))
            self.ws.set_column(ci, ci, width)
        self.ws.set_row(2, 30)
        self.row = 3

    def add(self, values: list[Any], formats: dict[int, str] | None = None, rag_col: int | None = None) -> None:
        lines = 1
        for ci, v in enumerate(values, 1):
            num = (formats or {}).get(ci)
            rag = str(v) if rag_col == ci and str(v) in RAG_FILL else None
            fmt = self.book.fmt("cell", num, rag)
            if v is None or v == "":
                self.ws.write_blank(self.row, ci - 1, None, fmt)
            elif isinstance(v, str):
                self.ws.write_string(self.row, ci - 1, v, fmt)  # never a formula, whatever it starts with
                per_line = max(int(self.columns[ci - 1][1] * 1.05), 1)
                if len(v) > per_line or "\n" in v:  # most cells fit on one line
                    lines = max(lines, sum(-(-max(len(p), 1) // per_line) for p in v.split("\n")))
            elif isinstance(v, bool):
                self.ws.write_boolean(self.row, ci - 1, v, fmt)
            else:
                self.ws.write_number(self.row, ci - 1, v, fmt)
        self.ws.set_row(self.row, 13.5 * lines + 3)
        self.row += 1

    def finish(self) -> None:
        self.ws.freeze_panes(3, 2)
        self.ws.autofilter(2, 0, max(self.row - 1, 2), len(self.columns) - 1)
        self.ws.set_landscape()
        self.ws.fit_to_pages(1, 0)
        self.ws.repeat_rows(2)


class _Book:
    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                                  "strings_to_numbers": False})
        self._formats: dict[tuple[str, str | None, str | None], Any] = {}

    def fmt(self, kind: str, num: str | None = None, rag: str | None = None) -> Any:
        key = (kind, num, rag)
        if key not in self._formats:
            spec: dict[str, Any] = {"font_name": "Arial", "font_size": 10, "valign": "top"}
            if kind == "heading":
                spec.update(bold=True, font_size=13, font_color=HEADER_FILL)
            elif kind == "header":
                spec.update(bold=True, font_color="#FFFFFF", bg_color=HEADER_FILL, text_wrap=True)
            else:
                spec.update(text_wrap=True)
                if num:
                    spec["num_format"] = num
                if rag:
                    spec.update(bg_color=RAG_FILL[rag], bold=True)
            self._formats[key] = self.wb.add_format(spec)
        return self._formats[key]


def consolidated_path(out_dir: Path, period: Period) -> Path:
    return Path(out_dir) / f"Consolidated_{str(period).replace('/', '-')}.xlsx"


def _fmt(decimals: int) -> str:
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


def write_consolidated(con: sqlite3.Connection, cfg: Config, plan: Plan, period: Period, statuses: list[ReturnStatus],
                       scores: PeriodScores, out_dir: Path) -> Path:
    target = consolidated_path(out_dir, period)
    with atomic_path(target) as tmp:
        book = _Book(tmp)
        _write(book, con, cfg, plan, period, statuses, scores)
        book.wb.set_properties({"title": f"Strategic Plan consolidated returns {period}", "author": "plan-reports"})
        book.wb.close()
    return target


def _write(book: _Book, con: sqlite3.Connection, cfg: Config, plan: Plan, period: Period, statuses: list[ReturnStatus],
           scores: PeriodScores) -> None:
    wb = book
    label = period.label

    ret = _Sheet(wb, "Returns", f"Returns for {label}: deadline {cfg.submission_deadline(period):%d %B %Y}", [
        ("Department", 11), ("Team", 8), ("Name", 28), ("Status", 20), ("Received", 9), ("File", 34),
        ("Submitted at (UTC)", 20), ("Valid", 7), ("Accepted", 9), ("Errors", 7), ("Warnings", 9), ("Late", 6),
        ("Files received", 9)])
    for s in statuses:
        ret.add([s.department, s.team, s.name, s.status, "Yes" if s.received else "No", s.file_name or "", s.submitted_at or "",
                 "Yes" if s.valid else "No", "Yes" if s.accepted else "No", s.n_errors, s.n_warnings,
                 "Yes" if s.late else "No", s.submissions])
    ret.finish()

    summ = _Sheet(wb, "Summary", f"Judgements for {label} ({plan.title})", [
        ("Level", 12), ("ID", 9), ("Title", 50), ("Judgement", 14), ("Green", 7), ("Amber", 7), ("Red", 7),
        ("No data", 8), ("Coverage %", 10), ("Improving", 10), ("Worsening", 10), ("Why", 70)])
    for lv in scores.levels:
        if lv.level == "aim":
            continue
        r = lv.overall
        summ.add([lv.level.replace("_", "-").title(), lv.id, lv.title, r.judgement, r.counts["Green"], r.counts["Amber"],
                  r.counts["Red"], r.no_data, r.coverage_pct, r.improving, r.worsening, r.reason], {9: "0.0"}, rag_col=4)
    summ.finish()

    hp = history_periods(period)
    hist = indicator_values(con, [str(p) for p in hp])
    titles = {s.id: s.title for _, s in plan.sub_outcomes()}
    otitles = {o.id: o.title for o in plan.groups()}
    decimals = {i.id: i.decimals for _, _, i in plan.indicators()}
    cols = [("ID", 9), ("Indicator", 44), ("Outcome", 18), ("Sub-outcome", 28), ("Department", 10), ("Unit", 10),
            ("Polarity", 14), ("Statutory", 8)] + [(str(p), 10) for p in hp] + [
        (f"Value {period}", 11), ("Target", 10), ("RAG", 10), ("Why", 46), ("Short-term (vs previous)", 13),
        ("Long-term (vs a year earlier)", 13), ("Comparator quartile", 14), ("Rank", 9), ("Comparator period", 11),
        ("Period the data covers", 11), ("Stale", 6), ("Commentary", 46), ("Source return", 34),
        ("Source (file and cell)", 44)]
    ind_sheet = _Sheet(wb, "Indicators", f"Indicators for {label}", cols)
    from plan_reports.publish import lineage

    ind_src, com_src = lineage(con, str(period), scores)
    first_hist = 9
    rag_col = first_hist + len(hp) + 2
    for x in scores.indicators:
        fmt = _fmt(decimals[x.indicator_id])
        hist_vals = [hist[(x.indicator_id, str(p))]["value"] if (x.indicator_id, str(p)) in hist else None for p in hp]
        pos = x.position
        row = [x.indicator_id, x.name, otitles[x.outcome_id], titles[x.sub_outcome_id], x.department, UNIT_LABELS[x.unit],
               POLARITY_LABELS[x.polarity], "Yes" if x.statutory else "No", *hist_vals, x.value, x.target,
               x.rating.status, x.rating.reason, x.short_term, x.long_term,
               QUARTILE_LABELS[pos.quartile] if pos and pos.quartile else "", f"{pos.rank} of {pos.group_size}" if pos else "",
               x.comparator_period or "", x.data_period or "", "Yes" if x.stale else "No", x.commentary or "", x.source,
               ind_src[x.indicator_id]["where"] if x.indicator_id in ind_src else ""]
        formats = {first_hist + k: fmt for k in range(len(hp) + 2)}
        ind_sheet.add(row, formats, rag_col=rag_col)
    ind_sheet.finish()

    com = _Sheet(wb, "Commitments", f"Commitments for {label}", [
        ("ID", 10), ("Commitment", 60), ("Outcome", 18), ("Sub-outcome", 28), ("Lead", 7), ("Role", 8), ("Lead officer", 16),
        ("Status", 16), ("RAG", 9), ("% complete", 10), ("Expected %", 10), ("Check", 40), ("Target date", 11),
        ("Milestone", 40), ("Achievements", 40), ("Challenges", 40), ("Priorities for the next six months", 40),
        ("Source (file and cell)", 44)])
    for c in scores.commitments:
        a = c.assessment
        com.add([c.commitment_id, c.text, otitles[c.outcome_id], titles[c.sub_outcome_id], c.lead, c.role.title(),
                 c.lead_officer or "", a.status or "No return", a.rag, c.percent_complete, a.expected_pct, a.flag or "",
                 c.target_date or "", c.milestone or "", c.achievements or "", c.challenges or "", c.priorities or "",
                 com_src[c.commitment_id]["where"] if c.commitment_id in com_src else ""],
                {10: "0%", 11: "0%"}, rag_col=9)
    com.finish()

    iss = _Sheet(wb, "Issues", f"Validation issues in returns for {label}", [
        ("File", 34), ("Department", 10), ("Accepted", 9), ("Severity", 9), ("Code", 7), ("Sheet", 12), ("Cell", 9),
        ("What to fix", 90)])
    for s in submissions_for(con, str(period)):
        for i in s.issues:
            iss.add([s.file_name, s.department or "", "Yes" if s.accepted else "No", i["severity"], i["code"], i["sheet"] or "",
                     i["cell"] or "", i["message"]])
    iss.finish()



def read_indicator_sheet(path: Path) -> list[dict[str, Any]]:
    """The Indicators sheet as records, for tests and for tools checking the workbook against the store."""
    from python_calamine import CalamineWorkbook

    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Indicators").to_python(skip_empty_area=False)
    header = [str(h) for h in grid[2]]
    return [dict(zip(header, row, strict=False)) for row in grid[3:] if row and row[0]]

