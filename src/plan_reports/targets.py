"""Agreed targets, set once a year: the register in the history store, the proposal workbooks and their import.

Each spring the performance team sends every department a workbook of its indicators for next year (last year's
value, trend, comparator quartile, the plan's target) with one input column, the proposed target. The agreed
workbooks come back and are imported into the register (`agreed_targets`, append-only like the rest of the store;
the latest agreement per indicator and period is current). Trackers then pre-fill the agreed target in a locked
cell, scoring rates against it (`score.agreed_targets_for`), and validation flags a return that gives another (X013).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.models import POLARITY_LABELS, UNIT_LABELS, Indicator, Plan
from plan_reports.periods import Period, PeriodError
from plan_reports.score import QUARTILE_LABELS, agreed_targets_for
from plan_reports.tracker_format import Column

if TYPE_CHECKING:
    import sqlite3

    from openpyxl.worksheet.worksheet import Worksheet

    from plan_reports.config import Config

TARGETS_KIND = "plan-reports targets"
SHEET_TARGETS = "Targets"
AGREED_BY_ROW, AGREED_AT_ROW, HEADER_ROW = 4, 5, 7
FIRST_ROW = HEADER_ROW + 1
RATED = ("higher_better", "lower_better")  # a range or data-only measure has no target to agree




COLUMNS = [
    Column("id", "ID", 9),
    Column("name", "Indicator", 42),
    Column("unit", "Unit", 10),
    Column("polarity", "Polarity", 13),
    Column("last_period", "Period last year's value covers", 12),
    Column("last_value", "Last year's value", 11),
    Column("trend", "Trend", 12),
    Column("quartile", "Comparator quartile", 13),
    Column("plan_target", "Plan target", 10),
    Column("current", "Last year's target (agreed, or as reported)", 13),
    Column("proposed", "Proposed target", 12, True),
    Column("notes", "Notes", 40, True),
]
HEADERS = {c.key: c.header for c in COLUMNS}


def plan_target(ind: Indicator, period: Period) -> float | None:
    """The plan's target for a period that covers this one; a 2030 end-state is not this quarter's target."""
    for t in ind.targets:
        tp = Period.parse(t.period)
        if tp.start <= period.start and period.end <= tp.end:
            return t.value
    return None


def targets_filename(department: str, year: Period) -> str:
    return f"Targets_{department}_{str(year).replace('/', '-')}.xlsx"


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# ---- the register ------------------------------------------------------------------------------------------------


def agreed_for(con: sqlite3.Connection, period: str) -> dict[str, sqlite3.Row]:
    """indicator -> the current agreement recorded for exactly this period (a year such as 2026/27, or a quarter)."""
    return {r["indicator_id"]: r for r in con.execute("SELECT * FROM current_agreed_targets WHERE period = ?", (period,))}


def record_target(con: sqlite3.Connection, indicator_id: str, period: str, value: float, *, agreed_by: str | None,
                  agreed_at: str, file_name: str | None = None, sha256: str | None = None) -> None:
    from plan_reports.store import now_iso

    con.execute("INSERT INTO agreed_targets (indicator_id, period, value, agreed_by, agreed_at, file_name, sha256, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (indicator_id, period, value, agreed_by, agreed_at, file_name, sha256, now_iso()))


def prefill_targets(con: sqlite3.Connection, plan: Plan, dept_id: str, period: Period) -> tuple[dict[str, float], dict[str, str]]:
    """What a rolled-forward tracker pre-fills as each indicator's target, and which of those are agreed (locked).

    The agreed target for the period (or its year); else last period's target (agreed, or as reported), unless a new
    financial year starts and the plan sets one for it; else the plan's (left to `trackers.target_for`).
    """
    previous = period.previous()
    agreed = agreed_targets_for(con, period)
    before = agreed_targets_for(con, previous)
    q = ("SELECT v.indicator_id, v.target FROM indicator_values v JOIN current_submissions s ON s.id = v.submission_id "
         "WHERE v.period = ? AND s.department = ? AND v.target IS NOT NULL ORDER BY s.team DESC, s.id")
    reported = {r[0]: r[1] for r in con.execute(q, (str(previous), dept_id))}  # the department's own return wins
    targets: dict[str, float] = {}
    locked: dict[str, str] = {}
    for _, _, ind in plan.indicators():
        if ind.department != dept_id:
            continue
        if ind.id in agreed:
            a = agreed[ind.id]
            targets[ind.id] = a["value"]
            locked[ind.id] = f"agreed for {a['period']}" + (f" by {a['agreed_by']}" if a["agreed_by"] else "")
            continue
        planned = plan_target(ind, period)
        if planned is not None and previous.fy != period.fy:
            targets[ind.id] = planned
            continue
        last = before[ind.id]["value"] if ind.id in before else reported.get(ind.id)
        if last is not None:
            targets[ind.id] = last
    return targets, locked


# ---- export: one proposal workbook per department ------------------------------------------------------------------


def proposal_context(con: sqlite3.Connection | None, cfg: Config, plan: Plan, year: Period) -> dict[str, dict[str, Any]]:
    """Per indicator: the latest value up to the end of last year, its trend and comparator quartile, the target now."""
    from plan_reports.score import load_inputs, score_period

    ctx: dict[str, dict[str, Any]] = {}
    for _, _, ind in plan.indicators():
        base = ind.baselines[-1] if ind.baselines else None
        ctx[ind.id] = {"last_value": base.value if base else None, "last_period": base.period if base else None}
    if con is None:
        return ctx
    last_q = Period(year.fy - 1, "Q", 4)
    got = con.execute("SELECT MAX(period) FROM current_submissions WHERE period <= ?", (str(last_q),)).fetchone()[0]
    try:
        at = Period.parse(got) if got else last_q
    except PeriodError:
        at = last_q
    scores = score_period(cfg, plan, at, load_inputs(con, cfg, plan, at))
    for s in scores.indicators:
        c = ctx[s.indicator_id]
        known = [(p, v) for p, v in s.history if v is not None]
        if s.value is not None:
            c.update(last_value=s.value, last_period=s.data_period)
        elif known:
            c.update(last_value=known[-1][1], last_period=known[-1][0])
        c["trend"] = s.trend if s.trend and s.trend != "Not comparable" else s.long_term
        c["quartile"] = QUARTILE_LABELS.get(s.position.quartile) if s.position and s.position.quartile else None
        c["current"] = s.target
    return ctx


def _number_format(ind: Indicator) -> str:
    return "#,##0" if ind.decimals == 0 else "#,##0." + "0" * ind.decimals


def _sheet(ws: Worksheet, cfg: Config, plan: Plan, dept_id: str, year: Period, ctx: Mapping[str, dict[str, Any]],
           agreed: Mapping[str, Any]) -> None:
    from openpyxl.styles import Font

    from plan_reports.tracker_format import Styles, add_validation, protect, sheet_banner

    styles = Styles(ws.parent)
    dept = cfg.organisation.department(dept_id)
    sheet_banner(ws, f"{plan.title}: proposed targets for {year}", f"{dept.name} - {year.label}",
                 "Type a proposed target (a number, in the indicator's unit) in the white column for each indicator "
                 "you set a target for; leave it blank for none. Grey cells are locked context.", len(COLUMNS))
    for r, label in ((AGREED_BY_ROW, "Agreed by"), (AGREED_AT_ROW, "Date agreed")):
        ws.cell(r, 1, label).font = Font(name="Arial", size=10, bold=True)
        ws.cell(r, 2).style = styles.input
    ws.cell(AGREED_AT_ROW, 2).number_format = "dd/mm/yyyy"
    add_validation(ws, [f"B{AGREED_BY_ROW}"], "textLength", operator="lessThanOrEqual", formula1="200", title="Agreed by",
                   prompt="Who agreed these targets (a board or a name).", error="Keep this under 200 characters.")
    add_validation(ws, [f"B{AGREED_AT_ROW}"], "date", operator="between", formula1="DATE(2015,1,1)",
                   formula2="DATE(2040,12,31)", title="Date agreed", prompt="A date as dd/mm/yyyy.",
                   error="Type a real date as dd/mm/yyyy.")
    for ci, col in enumerate(COLUMNS, 1):
        cell = ws.cell(HEADER_ROW, ci, col.header)
        cell.style = styles.header
        ws.column_dimensions[cell.column_letter].width = col.width
    ws.row_dimensions[HEADER_ROW].height = 42
    inds = [i for _, _, i in plan.indicators() if i.department == dept_id]
    letters = {c.key: ws.cell(HEADER_ROW, ci).column_letter for ci, c in enumerate(COLUMNS, 1)}
    for r, ind in enumerate(inds, FIRST_ROW):
        c = ctx.get(ind.id, {})
        rated = ind.polarity in RATED
        values = {"id": ind.id, "name": ind.name, "unit": UNIT_LABELS[ind.unit], "polarity": POLARITY_LABELS[ind.polarity],
                  "last_period": c.get("last_period"), "last_value": c.get("last_value"), "trend": c.get("trend"),
                  "quartile": c.get("quartile"), "plan_target": plan_target(ind, year), "current": c.get("current"),
                  "proposed": agreed[ind.id]["value"] if ind.id in agreed else None,
                  "notes": None if rated else "Not rated against a target (a range or data only)."}
        for ci, col in enumerate(COLUMNS, 1):
            cell = ws.cell(r, ci, values[col.key])
            cell.style = styles.input if col.input and rated else styles.na if col.input else styles.locked
            if col.key in ("last_value", "plan_target", "current", "proposed"):
                cell.number_format = _number_format(ind)
        if rated:
            low, high = ind.limits()
            add_validation(ws, [f"{letters['proposed']}{r}"], "decimal", operator="between",
                           formula1=f"{max(low, -1e9):g}", formula2=f"{min(high, 1e9):g}", title="Proposed target",
                           prompt=f"A number ({UNIT_LABELS[ind.unit]}), without commas or units.",
                           error=f"The target must be a number from {max(low, -1e9):g} to {min(high, 1e9):g}.")
    last = FIRST_ROW + max(len(inds), 1) - 1
    add_validation(ws, [f"{letters['notes']}{FIRST_ROW}:{letters['notes']}{last}"], "textLength",
                   operator="lessThanOrEqual", formula1="1000", title="Notes", prompt="Why this target (optional).",
                   error="Keep this under 1000 characters.")
    ws.freeze_panes = f"C{FIRST_ROW}"
    protect(ws, cfg.settings.tracker.protection_password)


def build_targets_workbook(cfg: Config, plan: Plan, dept_id: str, year: Period, ctx: Mapping[str, dict[str, Any]],
                           agreed: Mapping[str, Any], generated_at: datetime | None = None) -> Any:
    from openpyxl import Workbook
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.workbook.protection import WorkbookProtection

    from plan_reports.tracker_format import a4_fit_to_width, set_footer

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TARGETS
    _sheet(ws, cfg, plan, dept_id, year, ctx, agreed)
    a4_fit_to_width(ws, "landscape")
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    set_footer(ws, f"{cfg.organisation.department(dept_id).name} - targets {year}")
    stamp = (generated_at or datetime.now(UTC)).replace(microsecond=0).isoformat()
    for k, v in (("template_kind", TARGETS_KIND), ("plan_id", plan.id), ("department", dept_id), ("year", str(year)),
                 ("generated_at", stamp)):
        wb.custom_doc_props.append(StringProperty(name=f"pr_{k}", value=v))
    wb.properties.title = f"Strategic Plan targets {dept_id} {year}"
    wb.properties.subject = TARGETS_KIND
    wb.security = WorkbookProtection(lockStructure=True)
    if cfg.settings.tracker.protection_password:
        wb.security.workbookPassword = cfg.settings.tracker.protection_password
    return wb


def export_targets(cfg: Config, year: Period, out: Path, store: Path | None = None,
                   departments: Sequence[str] | None = None, generated_at: datetime | None = None) -> list[Path]:
    """One proposal workbook per department for `year`, with context from the store where there is one."""
    from plan_reports.atomic import atomic_path
    from plan_reports.store import connect

    if year.kind != "Y":
        raise ValueError(f"targets are agreed for a financial year: give {year.year_label}, not {year}")
    plan = cfg.plan_for_period(year)
    dept_ids = list(departments) if departments else [d.id for d in cfg.organisation.departments]
    con = connect(Path(store)) if store is not None and Path(store).exists() else None
    try:
        ctx = proposal_context(con, cfg, plan, year)
        agreed = agreed_for(con, str(year)) if con is not None else {}
    finally:
        if con is not None:
            con.close()
    written = []
    Path(out).mkdir(parents=True, exist_ok=True)
    for dept_id in dept_ids:
        wb = build_targets_workbook(cfg, plan, dept_id, year, ctx, agreed, generated_at)
        path = Path(out) / targets_filename(dept_id, year)
        with atomic_path(path) as tmp:
            wb.save(tmp)
        written.append(path)
    return written


# ---- import: the agreed workbooks ----------------------------------------------------------------------------------


@dataclass
class TargetChange:
    indicator_id: str
    status: str  # new | changed | unchanged | refused
    value: float | None = None
    previous: float | None = None
    row: int | None = None
    message: str = ""

    def text(self) -> str:
        if self.status == "changed":
            return f"changed from {self.previous:g} to {self.value:g}"
        if self.status == "refused":
            return f"refused: {self.message}"
        return f"{self.status} {self.value:g}"


@dataclass
class TargetImport:
    file: str
    department: str | None = None
    year: str | None = None
    status: str = "imported"  # imported | refused (nothing read from the file)
    message: str = ""
    agreed_by: str | None = None
    agreed_at: str | None = None
    changes: list[TargetChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "refused" and not any(c.status == "refused" for c in self.changes)

    def counts(self) -> dict[str, int]:
        return {k: sum(c.status == k for c in self.changes) for k in ("new", "changed", "unchanged", "refused")}

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "changes"}, "ok": self.ok, "counts": self.counts(),
                "changes": [asdict(c) for c in self.changes]}


def _read_book(path: Path) -> dict[str, Any] | str:
    """The targets sheet and properties of a returned workbook, read in a worker like any untrusted file."""
    from plan_reports.xlsx import ReadProblem, open_package, read_values

    try:
        pkg = open_package(path, detail={SHEET_TARGETS})
        if SHEET_TARGETS not in pkg.sheets:
            return f"it has no '{SHEET_TARGETS}' sheet: import the targets workbook as exported"
        return {"props": dict(pkg.custom_props), "grid": read_values(pkg, [SHEET_TARGETS])[SHEET_TARGETS],
                "sha256": pkg.sha256}
    except ReadProblem as e:
        return f"{e.message} ({e.code})"


def read_books(paths: Sequence[Path]) -> list[dict[str, Any] | str]:
    """Each workbook read in an isolated worker: a file that crashes or hangs the reader costs only itself."""
    from plan_reports.workers import Failed, isolated_map

    got: list[dict[str, Any] | str] = ["not read"] * len(paths)
    for i, res in isolated_map(_read_book, [Path(p) for p in paths], workers=min(2, max(len(paths), 1))):
        got[i] = f"it could not be read safely ({res.why})" if isinstance(res, Failed) else res
    return got


def _cell(grid: list[list[Any]], row: int, col: int) -> Any:
    v = grid[row - 1][col - 1] if row - 1 < len(grid) and col - 1 < len(grid[row - 1]) else None
    return None if v == "" else v


def _agreed_at(raw: Any) -> str:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, str):
        for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                return datetime.strptime(raw.strip(), fmt).date().isoformat()
            except ValueError:
                pass
    return datetime.now(UTC).date().isoformat()


def import_book(con: sqlite3.Connection, name: str, book: dict[str, Any] | str, cfg: Config,
                agreed_by: str | None = None) -> TargetImport:
    """Check one returned workbook's proposals and record the valid ones (one transaction). Refused rows are named."""
    from plan_reports.store import transaction

    res = TargetImport(name)
    if isinstance(book, str):
        res.status, res.message = "refused", f"{name}: {book}"
        return res
    props = {k[3:]: v for k, v in book["props"].items() if k.startswith("pr_")}
    res.department, res.year = props.get("department"), props.get("year")
    depts = {d.id for d in cfg.organisation.departments}
    try:
        year = Period.parse(res.year or "")
    except PeriodError:
        year = None
    if props.get("template_kind") != TARGETS_KIND or res.department not in depts or year is None or year.kind != "Y":
        res.status = "refused"
        res.message = (f"{name} is not a targets workbook made by `plan-reports targets export` (its department or "
                       "year is missing or unknown). Fill in the exported workbook rather than a copy.")
        return res
    grid = book["grid"]
    header = [str(h).strip() if h is not None else "" for h in (grid[HEADER_ROW - 1] if len(grid) >= HEADER_ROW else [])]
    where = {k: header.index(h) + 1 for k, h in HEADERS.items() if h in header}
    if "id" not in where or "proposed" not in where:
        res.status = "refused"
        res.message = f"{name}: the columns '{HEADERS['id']}' and '{HEADERS['proposed']}' are missing or renamed."
        return res
    res.agreed_by = agreed_by or (str(_cell(grid, AGREED_BY_ROW, 2)).strip() if _cell(grid, AGREED_BY_ROW, 2) else None)
    res.agreed_at = _agreed_at(_cell(grid, AGREED_AT_ROW, 2))
    plan = cfg.plan_for_period(year)
    mine = {i.id: i for _, _, i in plan.indicators() if i.department == res.department}
    owner = {i.id: i.department for _, _, i in plan.indicators()}
    current = agreed_for(con, str(year))
    seen: set[str] = set()
    for r in range(FIRST_ROW, len(grid) + 1):
        ident, raw = _cell(grid, r, where["id"]), _cell(grid, r, where["proposed"])
        if ident is None and raw is None:
            continue
        ident = str(ident).strip() if ident is not None else ""
        refuse = lambda msg, ident=ident, r=r: res.changes.append(  # noqa: E731
            TargetChange(ident or f"row {r}", "refused", row=r, message=f"row {r}: {msg}"))
        if ident not in mine:
            refuse(f"{ident!r} belongs to {owner[ident]}, not {res.department}" if ident in owner else
                   f"{ident or 'a row without an ID'} is not an indicator of {res.department} in plan {plan.id}")
            continue
        if ident in seen:
            refuse(f"{ident} appears twice")
            continue
        seen.add(ident)
        if raw is None:
            continue  # no target proposed
        ind = mine[ident]
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            refuse(f"{raw!r} is not a number: type the target as a number only (no %, commas, units or words)")
            continue
        value = float(raw)
        if ind.polarity not in RATED:
            refuse(f"{ident} is {POLARITY_LABELS[ind.polarity].lower()}: it is not rated against a target")
            continue
        why = ind.plausibility(value)
        if why:
            refuse(f"{ident}: {why}")
            continue
        old = current[ident]["value"] if ident in current else None
        status = "new" if old is None else "unchanged" if _same(old, value) else "changed"
        res.changes.append(TargetChange(ident, status, value, old, r))
    with transaction(con):
        for c in res.changes:
            if c.status in ("new", "changed"):
                record_target(con, c.indicator_id, str(year), c.value, agreed_by=res.agreed_by,  # type: ignore[arg-type]
                              agreed_at=res.agreed_at, file_name=name, sha256=book.get("sha256"))
    return res


def import_targets(con: sqlite3.Connection, paths: Iterable[Path], cfg: Config,
                   agreed_by: str | None = None) -> list[TargetImport]:
    """Import agreed targets workbooks: each read in an isolated worker, checked, and recorded in its own transaction."""
    paths = [Path(p) for p in paths]
    return [import_book(con, p.name, book, cfg, agreed_by) for p, book in zip(paths, read_books(paths), strict=True)]


def print_target_imports(results: Sequence[TargetImport]) -> None:
    for res in results:
        if res.status == "refused":
            print(f"REFUSED  {res.message}")
            continue
        n = res.counts()
        print(f"{res.file} ({res.department}, {res.year}, agreed by {res.agreed_by or 'not stated'} on {res.agreed_at}): "
              f"{n['new']} new, {n['changed']} changed, {n['unchanged']} unchanged, {n['refused']} refused")
        for c in res.changes:
            print(f"  {c.indicator_id:<10} {c.text()}")
