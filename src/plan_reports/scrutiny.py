"""Quarterly Scrutiny performance reports and the Annual Performance Report, on the same data and scores as the decks.

Editable Word documents (python-docx) with real headings, repeating table header rows and alt text on images, a PDF
of each rendered by LibreOffice, and the Scrutiny tables as .xlsx. Members asked for statutory indicators marked,
data that lags flagged with the period it covers, and trend and comparison rather than a RAG alone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.atomic import atomic_path
from plan_reports.charts import target_line, tick_decimals, value_axis_range
from plan_reports.models import UNIT_LABELS, Committee, Plan
from plan_reports.periods import Period
from plan_reports.rollup import rule_text
from plan_reports.score import QUARTILE_LABELS, IndicatorScore, PeriodScores, fmt_value, load_inputs, score_period

if TYPE_CHECKING:
    from plan_reports.config import Config

SCRUTINY_COLUMNS = ("Indicator", "Period covered", "Latest", "Previous", "Target", "RAG", "Direction of travel",
                    "Quartile", "Commentary")
COMPENDIUM_YEARS = 4
ARREARS_NOTE = "(in arrears)"
DIRECTION_WORDS = {"Improving": "Improved", "Worsening": "Declined", "No change": "Unchanged"}


# ---- shared pieces -----------------------------------------------------------------------------------------------

def in_arrears(x: IndicatorScore, reporting: Period) -> bool:
    """The figure covers a period that ended before this reporting period began."""
    if not x.data_period:
        return False
    try:
        return Period.parse(x.data_period).end < reporting.start
    except ValueError:
        return False


def period_covered(x: IndicatorScore, reporting: Period) -> str:
    if not x.data_period:
        return "–"
    return f"{x.data_period} {ARREARS_NOTE}" if in_arrears(x, reporting) else x.data_period


def _v(x: IndicatorScore, v: float | None, decimals: dict[str, int]) -> str:
    return fmt_value(v, x.unit, decimals[x.indicator_id]) if v is not None else "–"


def _target(x: IndicatorScore, decimals: dict[str, int]) -> str:
    band = x.band()
    return f"{_v(x, band[0], decimals)} to {_v(x, band[1], decimals)}" if band else _v(x, x.target, decimals)


def _rated(x: IndicatorScore, decimals: dict[str, int]) -> str:
    """The figure a RAG rates, with the period it covers, so a rating never sits beside a blank or another year."""
    return f"{_v(x, x.value, decimals)} ({x.data_period})" if x.value is not None and x.data_period else "–"


def _quartile(x: IndicatorScore) -> str:
    if not x.position or not x.position.quartile:
        return "–"
    return f"{QUARTILE_LABELS[x.position.quartile]} ({x.position.rank} of {x.position.group_size})"


def scrutiny_row(x: IndicatorScore, reporting: Period, decimals: dict[str, int]) -> list[str]:
    exception = x.rating.status in ("Red", "No data") or x.stale
    commentary = (x.commentary or x.rating.reason.split(": ", 1)[-1]) if exception else ""
    return [f"{x.name}{' *' if x.statutory else ''}", period_covered(x, reporting), _v(x, x.value, decimals),
            _v(x, x.previous_value, decimals), _target(x, decimals), x.rating.status,
            DIRECTION_WORDS.get(x.short_term, "Not comparable"), _quartile(x), commentary]


def direction_counts(items: Sequence[IndicatorScore]) -> dict[str, int]:
    c = Counter(DIRECTION_WORDS.get(x.short_term) for x in items)
    counts = {"improved": c.get("Improved", 0), "declined": c.get("Declined", 0), "unchanged": c.get("Unchanged", 0)}
    return counts | {"not comparable": len(items) - sum(counts.values())}


def rag_counts(items: Sequence[IndicatorScore]) -> dict[str, int]:
    c = Counter(x.rating.status for x in items)
    return {k: c.get(k, 0) for k in ("Green", "Amber", "Red", "No data", "No target", "Data only", "Check value")}


class _Doc:
    """A Word document with the accessibility basics: real headings, header rows that repeat, alt text."""

    def __init__(self, title: str, subtitle: str) -> None:
        from docx import Document
        from docx.shared import Pt

        self.doc = Document()
        style = self.doc.styles["Normal"]
        style.font.name = "Arial"
        style.font.size = Pt(10)
        self.doc.core_properties.title = title
        self.doc.core_properties.author = "plan-reports"
        self.doc.add_heading(title, level=0)
        self.doc.add_paragraph(subtitle)
        section = self.doc.sections[0]
        from docx.enum.section import WD_ORIENT
        from docx.shared import Inches

        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
        section.left_margin = section.right_margin = Inches(0.6)
        section.top_margin = section.bottom_margin = Inches(0.7)

    def heading(self, text: str, level: int) -> None:
        self.doc.add_heading(text, level=level)

    def para(self, text: str, bold: bool = False) -> None:
        p = self.doc.add_paragraph()
        p.add_run(text).bold = bold

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], rag_col: int | None = None,
              widths: Sequence[float] | None = None) -> Any:
        """A table; `widths` are relative column widths across the text width."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Emu, Pt

        t = self.doc.add_table(rows=1, cols=len(header))
        t.style = "Table Grid"
        t.autofit = False
        margins = OxmlElement("w:tblCellMar")  # narrow side margins: "7,858,708" stays on one line in its column
        for side in ("left", "right"):
            m = OxmlElement(f"w:{side}")
            m.set(qn("w:w"), "57")
            m.set(qn("w:type"), "dxa")
            margins.append(m)
        t._tbl.tblPr.append(margins)
        hdr = t.rows[0]
        tr_pr = hdr._tr.get_or_add_trPr()
        repeat = OxmlElement("w:tblHeader")  # the header row repeats on every page and is read as a header
        repeat.set(qn("w:val"), "true")
        tr_pr.append(repeat)
        for i, h in enumerate(header):
            cell = hdr.cells[i]
            cell.text = h
            cell.paragraphs[0].runs[0].bold = True
            cell.paragraphs[0].runs[0].font.size = Pt(9)
        fills = {"Green": "C6EFCE", "Amber": "FFEB9C", "Red": "FFC7CE", "No data": "E7E6E6"}
        for row in rows:
            cells = t.add_row().cells
            for i, v in enumerate(row):
                cells[i].text = str(v)
                for r in cells[i].paragraphs[0].runs:
                    r.font.size = Pt(9)
                if rag_col is not None and i == rag_col and v in fills:
                    shd = OxmlElement("w:shd")
                    shd.set(qn("w:val"), "clear")
                    shd.set(qn("w:fill"), fills[v])
                    cells[i]._tc.get_or_add_tcPr().append(shd)
        sec = self.doc.sections[-1]
        text_width = sec.page_width - sec.left_margin - sec.right_margin
        rel = list(widths or [1.0] * len(header))
        col_w = [Emu(int(text_width * w / sum(rel))) for w in rel]
        for i, w in enumerate(col_w):
            t.columns[i].width = w
            for cell in t.columns[i].cells:
                cell.width = w
        return t

    def picture(self, png: Path, alt: str, width_cm: float = 16) -> None:
        from docx.shared import Cm

        self.doc.add_picture(str(png), width=Cm(width_cm))
        inline = self.doc.inline_shapes[-1]._inline
        inline.docPr.set("descr", alt)
        inline.docPr.set("title", alt[:60])

    def save(self, target: Path) -> Path:
        from plan_reports.stable_zip import stabilise

        with atomic_path(target) as tmp:
            self.doc.save(str(tmp))
            stabilise(tmp)  # the same report gives the same bytes, so its recorded hash identifies it
        return target


def _scores(con: Any, cfg: Config, plan: Plan, period: Period) -> PeriodScores:
    return score_period(cfg, plan, period, load_inputs(con, cfg, plan, period))


# ---- quarterly Scrutiny reports ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScrutinyReport:
    committee: str
    docx: Path
    xlsx: Path
    pdf: Path | None
    directions: dict[str, int]
    rags: dict[str, int]


def committee_items(scores: PeriodScores, c: Committee) -> list[IndicatorScore]:
    return [x for x in scores.indicators if c.covers(x.outcome_id, x.sub_outcome_id, x.indicator_id)]


def build_scrutiny(cfg: Config, plan: Plan, scores: PeriodScores, period: Period, c: Committee, out: Path,
                   changes: Sequence[dict[str, Any]] = ()) -> tuple[Path, Path]:
    items = committee_items(scores, c)
    decimals = {i.id: i.decimals for _, _, i in plan.indicators()}
    d, r = direction_counts(items), rag_counts(items)
    doc = _Doc(f"{c.name}: Strategic Plan performance, {period.label}",
               f"{cfg.organisation.council.name}. Data as reported to {cfg.submission_deadline(period):%d %B %Y}.")
    doc.heading("Summary", 1)
    doc.para(f"Of the {len(items)} indicators this committee covers, {d['improved']} improved, {d['declined']} declined, "
             f"{d['unchanged']} were unchanged since the last update and {d['not comparable']} could not be compared "
             f"(no earlier figure, or data only). RAG: {r['Green']} Green, {r['Amber']} Amber, "
             f"{r['Red']} Red, {r['No data'] + r['No target']} without data or target, {r['Data only']} data only.")
    doc.para("* marks a statutory indicator. 'In arrears' marks data that covers an earlier period than this quarter, "
             "as published. Commentary is given for exceptions: Red, no data, or stale values.")
    xl_rows: list[list[str]] = []
    for o in plan.groups():
        rows = [scrutiny_row(x, period, decimals) for x in items if x.outcome_id == o.id]
        if not rows:
            continue
        doc.heading(o.title, 1)
        doc.table(SCRUTINY_COLUMNS, rows, rag_col=5, widths=(2.3, 0.95, 0.8, 0.8, 0.8, 0.7, 0.9, 1.1, 1.7))
        xl_rows += [[o.title, *row] for row in rows]
    mine = [x for x in changes if c.covers(x["outcome_id"], x["sub_outcome_id"], x["indicator_id"])]
    if mine:
        from plan_reports.deck_changes import CHANGES_HEADER, CHANGES_TITLE, change_rows, changes_headline

        doc.heading(CHANGES_TITLE, 1)
        doc.para(changes_headline(mine))
        doc.table(CHANGES_HEADER, change_rows(mine), widths=(0.9, 3.0, 1.6, 1.6, 2.6, 0.9))
    doc.heading("Annex: commitments by status", 1)
    comms = [x for x in scores.commitments if c.covers(x.outcome_id, x.sub_outcome_id, "")]
    doc.table(("Commitment", "Lead", "Status", "% complete", "Check"),
              [[f"{x.commitment_id} {x.text}", x.lead, x.assessment.status or "No update",
                f"{x.percent_complete:.0%}" if x.percent_complete is not None else "–", x.assessment.flag or ""]
               for x in sorted(comms, key=lambda x: (x.assessment.status or "~", x.commitment_id))],
              widths=(5.0, 0.6, 1.3, 0.9, 2.4))
    stem = f"Scrutiny_{c.id}_{str(period).replace('/', '-')}"
    docx = doc.save(out / f"{stem}.docx")
    xlsx = _write_xlsx(out / f"{stem}.xlsx", ("Outcome", *SCRUTINY_COLUMNS), xl_rows, c.name, period)
    return docx, xlsx


def _write_xlsx(target: Path, header: Sequence[str], rows: Sequence[Sequence[str]], title: str, period: Period) -> Path:
    import xlsxwriter

    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False,
                                            "strings_to_urls": False})
        from datetime import datetime

        wb.set_properties({"created": datetime(period.end.year, period.end.month, period.end.day)})  # byte-stable
        ws = wb.add_worksheet("Performance")
        bold = wb.add_format({"bold": True, "bg_color": "#1F4E79", "font_color": "#FFFFFF", "text_wrap": True})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        ws.write_string(0, 0, f"{title}: {period.label}", wb.add_format({"bold": True, "font_size": 13}))
        for i, h in enumerate(header):
            ws.write_string(2, i, h, bold)
            ws.set_column(i, i, 40 if h in ("Indicator", "Commentary") else 16)
        for r, row in enumerate(rows, 3):
            for i, v in enumerate(row):
                ws.write_string(r, i, str(v), wrap)
        ws.freeze_panes(3, 1)
        ws.autofilter(2, 0, max(2, len(rows) + 2), len(header) - 1)
        wb.close()
    return target


def write_scrutiny(cfg: Config, period: Period, store: Path, out: Path, committee: str | None = None,
                   pdf: bool = True) -> list[ScrutinyReport]:
    from plan_reports.store import connect

    if cfg.committees is None:
        raise ValueError("No committees are configured (config/committees.yaml).")
    chosen = [c for c in cfg.committees.committees if committee in (None, c.id)]
    if not chosen:
        known = ", ".join(c.id for c in cfg.committees.committees)
        raise ValueError(f"No committee '{committee}' (known: {known})")
    plan = cfg.plans[cfg.committees.plan]
    from plan_reports.publish import ensure_published, record_outputs

    ctx = ensure_published(cfg, period, store, "scrutiny")  # members see the published figures
    if ctx.scores is not None and ctx.scores.plan_id == plan.id:
        scores = ctx.scores
    else:
        con = connect(store)
        try:
            scores = _scores(con, cfg, plan, period)
        finally:
            con.close()
    out.mkdir(parents=True, exist_ok=True)
    made = [(c, *build_scrutiny(cfg, plan, scores, period, c, out, ctx.changes)) for c in chosen]
    record_outputs(store, ctx, [(kind, f) for _, d, x in made for kind, f in (("scrutiny report", d), ("scrutiny table", x))])
    pdfs = _pdfs([d for _, d, _ in made], out) if pdf else [None] * len(made)
    return [ScrutinyReport(c.id, d, x, p, direction_counts(committee_items(scores, c)), rag_counts(committee_items(scores, c)))
            for (c, d, x), p in zip(made, pdfs, strict=True)]


def _pdfs(docs: list[Path], out: Path) -> list[Path | None]:
    from plan_reports.office import OfficeError, convert_many

    try:
        return list(convert_many(docs, out, "pdf"))
    except OfficeError:
        return [None] * len(docs)  # the .docx is the deliverable; the PDF needs LibreOffice


# ---- the Annual Performance Report -------------------------------------------------------------------------------

def _year_value(points: list[tuple[str, float | None]], year: Period) -> float | None:
    """The figure for a financial year: its annual value, else the latest in-year value reported."""
    annual = latest = None
    for p, v in points:
        try:
            pp = Period.parse(p)
        except ValueError:
            continue
        if v is None or not year.start <= pp.start <= year.end:
            continue
        if pp.kind == "Y":
            annual = v
        else:
            latest = v
    return annual if annual is not None else latest


def _chart(x: IndicatorScore, decimals: int, folder: Path, year: str, council: str) -> tuple[Path, str] | None:
    known = [k for k, (_, v) in enumerate(x.history) if v is not None]
    if len(known) < 2:
        return None
    series = x.history[known[0]:known[-1] + 1]  # a missing quarter stays a gap on its own tick, not a joined line
    points = [(p, v) for p, v in series if v is not None]
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    labels = [p for p, _ in series]
    fig, ax = plt.subplots(figsize=(7, 3.0), dpi=110)
    ax.plot(labels, [math.nan if v is None else v for _, v in series], marker="o", color="#1F4E79", label=council)
    line = target_line(labels, x.target, year) if x.target is not None else None
    if line:
        ax.plot(labels, line, color="#C00000", linestyle="--", marker="_", markersize=14, label=f"Target {year}")
    ax.set_ylabel(UNIT_LABELS[x.unit], fontsize=8)
    scale = value_axis_range([v for _, v in points] + (line or []), x.unit)
    if scale:  # an axis that does not magnify noise, with round ticks
        ax.set_ylim(scale[0], scale[1])
        ax.yaxis.set_major_locator(MultipleLocator(scale[2]))
        shown = max(decimals, tick_decimals(scale[2]))  # no tick shown twice
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.{shown}f}"))
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # beside, never over the line
    ax.grid(alpha=0.3)
    fig.tight_layout()
    png = folder / f"chart_{x.indicator_id}.png"
    fig.savefig(png)
    plt.close(fig)
    alt = (f"Line chart of {x.name} from {points[0][0]} to {points[-1][0]}; latest {fmt_value(points[-1][1], x.unit, decimals)}"
           + (f" against a target of {fmt_value(x.target, x.unit, decimals)}" if x.target is not None else "")
           + f"; rated {x.rating.status}.")
    return png, alt


def write_annual_report(cfg: Config, year: Period, store: Path, out: Path, pdf: bool = True) -> tuple[Path, Path | None]:
    """Progress by outcome and sub-outcome over the year, charts of key indicators, and the compendium."""
    import tempfile

    from plan_reports.decks import key_indicator
    from plan_reports.store import connect

    if year.kind != "Y":
        raise ValueError(f"The annual report is for a financial year such as {year.year_label}, not {year}")
    last_q = year.quarters()[-1]
    plan = cfg.plan_for_period(last_q)
    from plan_reports.publish import ensure_published, record_outputs

    ctx = ensure_published(cfg, last_q, store, "annual-report")  # the year's figures as published
    con = connect(store)
    try:
        scores = ctx.scores if ctx.scores is not None else _scores(con, cfg, plan, last_q)
        updates: dict[str, list[dict[str, Any]]] = {}
        from plan_reports.store import commitment_updates

        for q in year.quarters():
            for cid, row in commitment_updates(con, str(q)).items():
                updates.setdefault(cid, []).append(dict(row))
    finally:
        con.close()
    decimals = {i.id: i.decimals for _, _, i in plan.indicators()}
    doc = _Doc(f"Annual Performance Report {year.year_label}",
               f"{cfg.organisation.council.name}: progress in delivering the {plan.title}, April {year.fy} to March "
               f"{year.fy + 1}. For the Scrutiny Commission.")
    doc.heading("Summary", 1)
    for o in plan.outcomes:
        r = scores.level("outcome", o.id).overall
        doc.para(f"{o.title}: {r.reason}")
    doc.para(rule_text(cfg.scoring.rollup))
    council = cfg.organisation.council.name
    with tempfile.TemporaryDirectory() as tmp:
        for o in plan.outcomes:
            doc.heading(o.title, 1)
            doc.para(scores.level("outcome", o.id).overall.reason)
            for so in o.sub_outcomes:
                doc.heading(f"{so.id} {so.title}", 2)
                judged = doc.doc.add_paragraph(f"Judgement: {scores.level('sub_outcome', so.id).overall.reason}")
                key = key_indicator([x for x in scores.indicators if x.sub_outcome_id == so.id])
                target_year = (key.rating.inputs.get("target_year") or year.year_label) if key else ""
                chart = _chart(key, decimals[key.indicator_id], Path(tmp), target_year, council) if key else None
                if key and chart:  # under its own heading, captioned; heading, judgement and chart kept on one page
                    judged.paragraph_format.keep_with_next = True
                    cap = doc.doc.add_paragraph()
                    cap.add_run(f"Key indicator for {so.id}: {key.name}, rated {key.rating.status}").italic = True
                    cap.paragraph_format.keep_with_next = True
                    doc.picture(*chart)
                comms = [c for c in scores.commitments if c.sub_outcome_id == so.id]
                ach = [f"{c.commitment_id}: {u['achievements']}" for c in comms
                       for u in updates.get(c.commitment_id, [])[-1:] if u.get("achievements")]
                cha = [f"{c.commitment_id} ({c.assessment.status}): {c.challenges}" for c in comms if c.challenges]
                if ach:
                    doc.para("Key achievements", bold=True)
                    for a in ach[:5]:
                        doc.doc.add_paragraph(a, style="List Bullet")
                if cha:
                    doc.para("Challenges", bold=True)
                    for c in cha[:5]:
                        doc.doc.add_paragraph(c, style="List Bullet")
        doc.heading("Appendix: performance compendium", 1)
        doc.para(f"Every indicator, with four years of values by the year each figure covers, then the figure rated at "
                 f"the end of {year.year_label} and the period it covers (published data often lags a year or more), "
                 "its target, RAG, direction of travel against the same period a year earlier and position among "
                 "comparators. * marks a statutory indicator.")
        years = [Period(year.fy - k, "Y", 1) for k in range(COMPENDIUM_YEARS - 1, -1, -1)]
        header = ("Indicator", *[y.year_label for y in years], "Rated figure (period)", "Target", "RAG",
                  "Change on a year earlier", "Quartile")
        rows = [[f"{x.indicator_id} {x.name}{' *' if x.statutory else ''}",
                 *[_v(x, _year_value(x.history, y), decimals) for y in years], _rated(x, decimals),
                 _target(x, decimals), x.rating.status, DIRECTION_WORDS.get(x.long_term, "Not comparable"),
                 _quartile(x)] for x in scores.indicators]
        doc.table(header, rows, rag_col=len(years) + 3, widths=(2.5, *[0.95] * len(years), 1.25, 0.9, 0.8, 0.95, 1.0))
        out.mkdir(parents=True, exist_ok=True)
        docx = doc.save(out / f"Annual_Performance_Report_{year.year_label.replace('/', '-')}.docx")
    record_outputs(store, ctx, [("annual report", docx)])  # PDFs carry LibreOffice's render time: not recorded
    made_pdf = _pdfs([docx], out)[0] if pdf else None
    return docx, made_pdf

