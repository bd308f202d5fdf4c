"""The rules a submission must meet: structure (metadata, sheets, columns, rows), then cells, then cross-field rules.

`check_submission` is pure over the values read at the edge (`batch` reads them in a worker), so it can be tested on
grids directly. Every finding is an `Issue` located by sheet and cell, with a message saying what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from plan_reports.issues import Issue, issue
from plan_reports.periods import Period, PeriodError
from plan_reports.score import rate_indicator
from plan_reports.trackers import (
    COMMITMENT_COLUMNS,
    COMMITMENT_STATUSES,
    DATA_STATUSES,
    FIRST_ROW,
    HEADER_ROW,
    SHEET_COMMITMENTS,
    SHEET_INDICATORS,
    SHEET_META,
    SUPPORTED_TEMPLATE_VERSIONS,
    TEMPLATE_KIND,
    Column,
    indicator_columns,
)
from plan_reports.validate.parsers import Finding, Parsed, parse_date, parse_fraction, parse_number, parse_text, resolve_percent
from plan_reports.validate.returns import CommitmentReturn, FileReport, IndicatorReturn
from plan_reports.xlsx import Package, col_name, formula_text, split_ref

if TYPE_CHECKING:
    from plan_reports.config import Config
    from plan_reports.models import Commitment, Indicator, Plan

JUMP_WARNING_PCT = 50.0


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[Issue] = []

    def add(self, code: str, sheet: str | None, cell: str | None, message: str) -> None:
        self.issues.append(issue(code, self.file, sheet, cell, message))

    def finding(self, f: Finding | None, sheet: str, cell: str, label: str) -> None:
        if f:
            self.add(f.code, sheet, cell, f"{label}: {f.message}")


def _meta(pkg: Package, values: dict[str, list[list[Any]]]) -> dict[str, str]:
    meta = {k[3:]: v for k, v in pkg.custom_props.items() if k.startswith("pr_")}
    if not meta and SHEET_META in values:
        meta = {str(r[0]): str(r[1]) for r in values[SHEET_META] if len(r) >= 2 and r[0]}
    return meta


_OWNED: dict[int, tuple[Plan, dict[str, tuple[dict[str, Indicator], dict[str, Commitment]]]]] = {}


def _expected_items(plan: Plan, dept: str) -> tuple[dict[str, Indicator], dict[str, Commitment]]:
    """A department's indicators and commitments by id, in plan order; indexed once per plan, not once per file."""
    cached = _OWNED.get(id(plan))
    if cached is None or cached[0] is not plan:
        index: dict[str, tuple[dict[str, Indicator], dict[str, Commitment]]] = {}
        for _, _, i in plan.indicators():
            index.setdefault(i.department, ({}, {}))[0][i.id] = i
        for _, _, c in plan.commitments():
            index.setdefault(c.lead, ({}, {}))[1][c.id] = c
        cached = _OWNED[id(plan)] = (plan, index)
    return cached[1].get(dept, ({}, {}))


def _owner_of(plan: Plan, ident: str) -> str | None:
    for _, _, i in plan.indicators():
        if i.id == ident:
            return i.department
    for _, _, c in plan.commitments():
        if c.id == ident:
            return c.lead
    return None


def _locate_columns(grid: list[list[Any]], columns: Sequence[Column], sheet: str, out: _Collector) -> dict[str, int] | None:
    header = grid[HEADER_ROW - 1] if len(grid) >= HEADER_ROW else []
    found = {str(h).strip(): i for i, h in enumerate(header) if h not in (None, "")}
    where: dict[str, int] = {}
    missing = []
    for pos, col in enumerate(columns):
        if col.header in found:
            where[col.key] = found[col.header]
            if found[col.header] != pos:
                out.add("S016", sheet, f"{col_name(found[col.header] + 1)}{HEADER_ROW}",
                        f"Column '{col.header}' has moved (expected in column {col_name(pos + 1)}). Do not insert, delete "
                        "or move columns; start again from the tracker you were sent if needed.")
        else:
            missing.append(col)
    for col in missing:
        pos = columns.index(col)
        out.add("S009", sheet, f"{col_name(pos + 1)}{HEADER_ROW}",
                f"Required column '{col.header}' is missing or renamed. Restore the heading exactly as sent.")
    if len(missing) > len(columns) // 2:
        return None
    return where


def _rows(grid: list[list[Any]]) -> list[tuple[int, list[Any]]]:
    return [(r + 1, row) for r, row in enumerate(grid[FIRST_ROW - 1:], FIRST_ROW - 1)
            if row.count(None) + row.count("") < len(row)]  # anything typed in the row (counted in C)


def _check_rows(sheet: str, rows: list[tuple[int, list[Any]]], id_col: int, expected: list[str], plan: Plan, dept: str,
                kind: str, out: _Collector) -> dict[str, tuple[int, list[Any]]]:
    """Rows not added, removed, duplicated or reordered; ids belong to this department."""
    seen: dict[str, tuple[int, list[Any]]] = {}
    order: list[str] = []
    expected_set = set(expected)
    letters = col_name(id_col + 1)
    for r, row in rows:
        ident = parse_text(row[id_col] if id_col < len(row) else None)
        cell = f"{letters}{r}"
        if ident is None:
            out.add("S010", sheet, cell, f"Row {r} has entries but no {kind} ID: rows must not be added. "
                                            "Move this information into the commentary of an existing row.")
            continue
        if ident in seen:
            out.add("S014", sheet, cell, f"{kind.title()} {ident} appears twice (rows {seen[ident][0]} and {r}). "
                                            "Delete the copy.")
            continue
        if ident not in expected_set:
            owner = _owner_of(plan, ident)
            if owner and owner != dept:
                out.add("S013", sheet, cell, f"{kind.title()} {ident} belongs to {owner}, not {dept}. Remove the row; "
                                                f"{owner} reports it.")
            else:
                out.add("S010", sheet, cell, f"{ident!r} is not a {kind} of this tracker: rows must not be added.")
            continue
        seen[ident] = (r, row)
        order.append(ident)
    for ident in expected:
        if ident not in seen:
            out.add("S011", sheet, None, f"{kind.title()} {ident} is missing: rows must not be deleted. "
                                            "Restore the row from the tracker you were sent.")
    kept = [i for i in expected if i in seen]
    if order != kept:
        first = next(i for i, (a, b) in enumerate(zip(order, kept, strict=False)) if a != b)
        r = seen[order[first]][0]
        out.add("S012", sheet, f"A{r}", f"Rows have been reordered (expected {kept[first]} at row {r}, found "
                                           f"{order[first]}). Keep the rows in the order sent.")
    return seen


def _merged(pkg: Package, sheet: str, out: _Collector) -> None:
    scan = pkg.sheets.get(sheet)
    for ref in scan.merged if scan else ():
        first = ref.split(":")[0]
        try:
            row, _ = split_ref(first)
        except ValueError:
            continue
        if row >= HEADER_ROW:
            out.add("C011", sheet, ref, f"Cells {ref} are merged. Unmerge them (Home > Merge & Center) so each "
                                           "cell holds its own value.")


_LABELS = {"percent_complete": "% complete", "value_previous": "previous value", "value_last_year": "value a year earlier"}
INDICATOR_KEYS = ("value", "value_previous", "value_last_year", "baseline", "target", "numerator", "denominator",
                  "data_status", "reason", "data_period", "commentary")
COMMITMENT_KEYS = ("lead_officer", "status", "percent_complete", "start_date", "target_date", "completion_date",
                   "milestone", "achievements", "challenges", "priorities")


class _Sheet:
    """One data sheet: the cells a row's checks need, by column key, with the formula/error scan applied.

    Columns holding no formula or error cell (nearly all of them) are read straight from the row.
    """

    def __init__(self, pkg: Package, name: str, columns: Sequence[Column], where: dict[str, int], keys: Sequence[str],
                 out: _Collector):
        self.scan = pkg.sheets[name]
        self.name, self.where, self.out = name, where, out
        self.letters = {k: col_name(i + 1) for k, i in where.items()}
        flagged = {c.rstrip("0123456789") for c in (*self.scan.errors, *self.scan.formulas)}
        inputs = {c.key for c in columns if c.input}
        located = [(k, where[k]) for k in keys if k in where]
        self.plain = [(k, i) for k, i in located if self.letters[k] not in flagged]
        self.checked = [(k, i, k in inputs) for k, i in located if self.letters[k] in flagged]
        self.absent = dict.fromkeys(k for k in keys if k not in where)

    def coord(self, key: str, row: int) -> str:
        return f"{self.letters[key]}{row}"

    def cells(self, r: int, row: list[Any], ident: str) -> dict[str, Any]:
        n = len(row)
        got = {k: row[i] if i < n else None for k, i in self.plain}
        got.update(self.absent)
        for k, i, is_input in self.checked:
            got[k] = self._checked(k, r, ident, is_input, row[i] if i < n else None)
        return got

    def _checked(self, key: str, r: int, ident: str, is_input: bool, value: Any) -> Any:
        coord = self.coord(key, r)
        label = f"{ident} {_LABELS.get(key, key.replace('_', ' '))}"
        if coord in self.scan.errors:
            self.out.add("C009", self.name, coord, f"{label}: the cell shows the error {self.scan.errors[coord]}. "
                                                      "Replace it with a value (or leave it blank).")
            return None
        if is_input and coord in self.scan.formulas:
            shown = formula_text(self.scan.formulas[coord])[:60]
            self.out.add("C010", self.name, coord, f"{label}: the cell holds a formula ({shown}); "
                                                      "type the value itself (Paste Special > Values).")
        return value

    def finding(self, p: Parsed, key: str, r: int, label: str) -> None:
        if p.finding and key in self.where:
            self.out.finding(p.finding, self.name, self.coord(key, r), label)


def _check_indicators(pkg: Package, grid: list[list[Any]], cfg: Config, plan: Plan, dept: str, period: Period,
                      out: _Collector) -> list[IndicatorReturn]:
    inds, _ = _expected_items(plan, dept)
    found = _data_rows(pkg, grid, SHEET_INDICATORS, indicator_columns(period), INDICATOR_KEYS, list(inds), plan, dept,
                       "indicator", out)
    if found is None:
        return []
    sh, seen = found
    return [_check_indicator_row(sh, inds[ident], r, sh.cells(r, row, ident), cfg, out) for ident, (r, row) in seen.items()]


def _data_rows(pkg: Package, grid: list[list[Any]], sheet: str, columns: Sequence[Column], keys: Sequence[str],
               expected: list[str], plan: Plan, dept: str, kind: str,
               out: _Collector) -> tuple[_Sheet, dict[str, tuple[int, list[Any]]]] | None:
    """A data sheet's columns located and its rows checked (none added, removed or moved); None if unusable."""
    where = _locate_columns(grid, columns, sheet, out)
    if where is None or "id" not in where:
        return None
    seen = _check_rows(sheet, _rows(grid), where["id"], expected, plan, dept, kind, out)
    return _Sheet(pkg, sheet, columns, where, keys, out), seen


def _check_indicator_row(sh: _Sheet, ind: Indicator, r: int, v: dict[str, Any], cfg: Config,
                         out: _Collector) -> IndicatorReturn:
    name = f"{ind.id} value"
    raw_val = v["value"]
    val = parse_number(raw_val)
    sh.finding(val, "value", r, name)
    value = val.value
    prev = parse_number(v["value_previous"]).value
    last_year = parse_number(v["value_last_year"]).value
    reference = prev if prev is not None else last_year if last_year is not None else parse_number(v["baseline"]).value
    tgt = parse_number(v["target"])
    sh.finding(tgt, "target", r, f"{ind.id} target")
    target = tgt.value
    cell = sh.coord("value", r)
    if value is not None and ind.unit == "percent":
        typed_pct = isinstance(raw_val, str) and raw_val.strip().endswith("%")
        value, f = resolve_percent(value, typed_pct, reference)
        out.finding(f, sh.name, cell, name)
    if value is not None:
        low, high = ind.limits()
        why = ind.plausibility(value)
        if why and not low <= value <= high:
            out.add("C006", sh.name, cell, f"{name}: {why}. Correct the figure.")
        elif why:
            out.add("C018", sh.name, cell, f"{name}: {why}. It will not be rated until it is confirmed or corrected.")
        if ind.unit == "count" and not float(value).is_integer():
            out.add("C007", sh.name, cell, f"{name}: {value:g} is not a whole number, but this is a count.")
    numerator = denominator = None
    if ind.rate:
        n, d = parse_number(v["numerator"]), parse_number(v["denominator"])
        sh.finding(n, "numerator", r, f"{ind.id} numerator")
        sh.finding(d, "denominator", r, f"{ind.id} denominator")
        numerator, denominator = n.value, d.value
        if (numerator is None) != (denominator is None):
            out.add("X008", sh.name, sh.coord("numerator" if numerator is None else "denominator", r),
                    f"{ind.id}: give both the numerator and the denominator, or neither.")
        elif numerator is not None and denominator is not None:
            if denominator == 0:
                out.add("X008", sh.name, sh.coord("denominator", r), f"{ind.id}: the denominator is 0.")
            elif value is not None:
                implied = numerator / denominator * ind.rate.multiplier
                if abs(implied - value) > max(0.5 * 10 ** -ind.decimals, 0.005 * abs(value)):
                    out.add("X007", sh.name, cell, f"{ind.id}: the value {value:g} does not match numerator/denominator "
                                                      f"({numerator:g}/{denominator:g} = {implied:.{ind.decimals + 1}f}). "
                                                      "Correct whichever is wrong.")
    status_raw = parse_text(v["data_status"])
    status = _choice(status_raw, DATA_STATUSES)
    if status_raw and not status:
        out.add("C012", sh.name, sh.coord("data_status", r),
                f"{ind.id} data status: {status_raw!r} is not one of {', '.join(DATA_STATUSES)}.")
    reason = parse_text(v["reason"])
    data_period = parse_text(v["data_period"])
    if data_period and not _is_period(data_period):
        out.add("C016", sh.name, sh.coord("data_period", r),
                f"{ind.id}: 'period the data covers' {data_period!r} is not a period such as 2024/25 or 2025/26-Q1.")
    commentary = parse_text(v["commentary"])
    if value is None and val.missing and val.finding is None:
        if status != "Not yet available" or not reason:
            out.add("X001", sh.name, cell,
                    f"{ind.id} has no value: choose 'Not yet available' as the Data status and give the reason "
                    f"(and when it is expected).")
    elif value is not None and status == "Not yet available":
        out.add("X009", sh.name, sh.coord("data_status", r),
                f"{ind.id} has a value but its Data status says 'Not yet available'. Choose Final or Provisional.")
    elif value is not None and status is None and "data_status" in sh.where:
        out.add("X010", sh.name, sh.coord("data_status", r), f"{ind.id}: choose a Data status (Final or Provisional).")
    if value is not None:
        rating = None if commentary else rate_indicator(ind, cfg.scoring.rag.rule_for(ind.id), value, target,
                                                        last_year=last_year)
        if rating and rating.status == "Red":
            out.add("X002", sh.name, sh.coord("commentary", r) if "commentary" in sh.where else cell,
                    f"{ind.id} is Red ({rating.reason.removeprefix('Red: ')}): add commentary saying why and what is "
                    "being done.")
        if prev is not None and abs(prev) > 0 and abs(value - prev) / abs(prev) * 100 > JUMP_WARNING_PCT:
            out.add("X006", sh.name, cell, f"{ind.id}: {value:g} is a change of {(value - prev) / abs(prev):+.0%} on the "
                                              f"previous period ({prev:g}). Please confirm it is right.")
    return IndicatorReturn(ind.id, r, value, numerator, denominator, target, status, reason, data_period, commentary)


@cache
def _is_period(text: str) -> bool:
    """A reporting period or a calendar year (a few distinct texts per run, so remembered)."""
    try:
        return bool(re.fullmatch(r"\d{4}", text)) or bool(Period.parse(text))
    except PeriodError:
        return False


def _choice(text: str | None, allowed: Sequence[str]) -> str | None:
    """The allowed option a lead typed, in any case."""
    if text is None or text in allowed:
        return text
    low = text.lower()
    return next((s for s in allowed if s.lower() == low), None)


def _check_commitments(pkg: Package, grid: list[list[Any]], plan: Plan, dept: str, today: date,
                       out: _Collector) -> list[CommitmentReturn]:
    _, comms = _expected_items(plan, dept)
    found = _data_rows(pkg, grid, SHEET_COMMITMENTS, COMMITMENT_COLUMNS, COMMITMENT_KEYS, list(comms), plan, dept,
                       "commitment", out)
    if found is None:
        return []
    sh, seen = found
    returns = []
    for ident, (r, row) in seen.items():
        v = sh.cells(r, row, ident)
        status_raw = parse_text(v["status"])
        status = _choice(status_raw, COMMITMENT_STATUSES)
        if status_raw and not status:
            out.add("C012", sh.name, sh.coord("status", r),
                    f"{ident} status: {status_raw!r} is not one of {', '.join(COMMITMENT_STATUSES)}.")
        elif not status_raw and "status" in sh.where:
            out.add("X012", sh.name, sh.coord("status", r), f"{ident}: choose a status.")
        pct = parse_fraction(v["percent_complete"])
        sh.finding(pct, "percent_complete", r, f"{ident} % complete")
        start, target, completed = (x if type(x := v[k]) is date or x is None else _date(sh, x, k, r, ident)
                                    for k in ("start_date", "target_date", "completion_date"))
        challenges = parse_text(v["challenges"])
        if status == "Major disruption" and not challenges:
            out.add("X003", sh.name, sh.coord("challenges", r),
                    f"{ident} is in Major disruption: explain the disruption and the plan to recover under Challenges.")
        if status == "Completed" and (completed is None or pct.value is None or pct.value < 1):
            out.add("X004", sh.name, sh.coord("completion_date" if completed is None else "percent_complete", r),
                    f"{ident} is Completed: give the completion date and 100% complete.")
        if status not in ("Completed", "Deferred") and target and target < today:
            out.add("X005", sh.name, sh.coord("target_date", r),
                    f"{ident}: the target date {target:%d/%m/%Y} has passed but it is not completed. Update the "
                    "target date or explain the delay.")
        if start and completed and completed < start:
            out.add("X011", sh.name, sh.coord("completion_date", r), f"{ident}: the completion date is before the start date.")
        if start and target and target < start:
            out.add("X011", sh.name, sh.coord("target_date", r), f"{ident}: the target date is before the start date.")
        returns.append(CommitmentReturn(ident, r, parse_text(v["lead_officer"]), status, pct.value,
                                        *(d.isoformat() if d else None for d in (start, target, completed)),
                                        parse_text(v["milestone"]), parse_text(v["achievements"]), challenges,
                                        parse_text(v["priorities"])))
    return returns


def _date(sh: _Sheet, raw: Any, key: str, r: int, ident: str) -> date | None:
    p = parse_date(raw)
    sh.finding(p, key, r, f"{ident} {key.replace('_', ' ')}")
    return p.value  # type: ignore[no-any-return]


def check_submission(pkg: Package, values: dict[str, list[list[Any]]], cfg: Config, *, expected_period: Period | None,
                     today: date) -> FileReport:
    """Pure check of a read package: structure, then cells, then cross-field rules."""
    rep = FileReport(pkg.path, sha256=pkg.sha256, macro_enabled=pkg.macro_enabled, saved_at=pkg.saved_at)
    out = _Collector(str(pkg.path))
    rep.issues = out.issues
    if pkg.macro_enabled:
        out.add("F012", None, None, "The workbook is macro-enabled (.xlsm). Its values were read; its macros were not "
                                       "run. Please return trackers as .xlsx.")
    meta = _meta(pkg, values)
    if meta.get("template_kind") != TEMPLATE_KIND and "template_version" not in meta:
        out.add("S001", None, None, "This is not a Strategic Plan tracker (it has no tracker metadata). Fill in the "
                                       "tracker workbook you were sent rather than a copy or another file.")
        return rep
    rep.template_version, rep.plan_id = meta.get("template_version"), meta.get("plan_id")
    rep.department, rep.period, rep.generated_at = meta.get("department"), meta.get("period"), meta.get("generated_at")
    rep.team = meta.get("team") or ""
    if rep.template_version not in SUPPORTED_TEMPLATE_VERSIONS:
        out.add("S002", None, None, f"Tracker template version {rep.template_version!r} is not supported (supported: "
                                       f"{', '.join(SUPPORTED_TEMPLATE_VERSIONS)}). Use this quarter's tracker.")
        return rep
    plan = cfg.plans.get(rep.plan_id or "")
    if plan is None:
        out.add("S003", None, None, f"The tracker is for plan {rep.plan_id!r}, which is not in the config "
                                       f"(known: {', '.join(sorted(cfg.plans))}).")
        return rep
    depts = {d.id for d in cfg.organisation.departments}
    if rep.department not in depts:
        out.add("S004", None, None, f"The tracker is for department {rep.department!r}, which is not in the config.")
        return rep
    try:
        period = Period.parse(rep.period or "")
    except PeriodError as e:
        out.add("S005", None, None, f"The tracker's period is not valid: {e}")
        return rep
    if not plan.covers(period):
        out.add("S006", None, None, f"The tracker's period {period} is outside plan {plan.id} ({plan.starts} to "
                                    f"{plan.last_period()}). Use the tracker for the current plan, or ask the "
                                    "performance team to extend the plan (extended_until in its file).")
        return rep
    if expected_period is not None and period != expected_period:
        out.add("S007", None, None, f"This tracker is for {period}, not {expected_period}. Send the {expected_period} "
                                       "tracker.")
    name_dept = re.match(r"Tracker_([A-Za-z]+)_", pkg.path.name)
    if name_dept and name_dept.group(1) != rep.department:
        out.add("S015", None, None, f"The file name says {name_dept.group(1)} but the tracker is {rep.department}'s.")
    for sheet in (SHEET_INDICATORS, SHEET_COMMITMENTS):
        if sheet not in pkg.sheets:
            out.add("S008", sheet, None, f"The '{sheet}' sheet is missing or renamed. Restore it from the tracker you were sent.")
    if SHEET_INDICATORS in values:
        _merged(pkg, SHEET_INDICATORS, out)
        rep.indicators = _check_indicators(pkg, values[SHEET_INDICATORS], cfg, plan, rep.department, period, out)
    if SHEET_COMMITMENTS in values:
        _merged(pkg, SHEET_COMMITMENTS, out)
        as_of = min(today, cfg.submission_deadline(period))  # judge "overdue" as at the return, not years later
        rep.commitments = _check_commitments(pkg, values[SHEET_COMMITMENTS], plan, rep.department, as_of, out)
    return rep


def check_agreed_targets(rep: FileReport, agreed: dict[str, dict[str, Any]]) -> None:
    """X013 (a warning): a return's target that differs from the agreed one (`score.agreed_targets_for`), both shown.

    Run where the target register is at hand (consolidation); scoring uses the agreed target either way."""
    try:
        period = Period.parse(rep.period or "")
    except PeriodError:
        return
    letter = col_name([c.key for c in indicator_columns(period)].index("target") + 1)
    out = _Collector(str(rep.path))
    done = {i.cell for i in rep.issues if i.code == "X013"}
    for v in rep.indicators:
        a = agreed.get(v.indicator_id)
        if a is None or v.target is None or abs(v.target - a["value"]) <= 1e-9 * max(1.0, abs(a["value"])):
            continue
        if f"{letter}{v.row}" in done:
            continue
        who = ", ".join(str(x)[:10] if k == "agreed_at" else str(x) for k in ("agreed_by", "agreed_at") if (x := a.get(k)))
        out.add("X013", SHEET_INDICATORS, f"{letter}{v.row}",
                f"{v.indicator_id} target: the return gives {v.target:g} but the agreed target for {a['period']} is "
                f"{a['value']:g}{f' ({who})' if who else ''}. Scoring uses the agreed target; correct the return's "
                "target or ask the performance team to change the agreed one.")
    rep.issues.extend(out.issues)


