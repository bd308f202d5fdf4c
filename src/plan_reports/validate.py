"""The validate stage: every problem in a submission, located and explained in plain English, in one pass.

`validate_file` never changes the submitted file. Parsing of cell text (`parse_number`, `parse_date`,
`parse_fraction`) is pure and property-tested; `check_submission` is pure over the values read at the edge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from plan_reports.issues import Issue, Severity, has_errors
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
from plan_reports.xlsx import Package, ReadProblem, col_name, formula_text, open_package, read_values, split_ref

if TYPE_CHECKING:
    from plan_reports.config import Config
    from plan_reports.models import Commitment, Indicator, Plan

E, W = Severity.ERROR, Severity.WARNING
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".xltx", ".xltm"}
PLACEHOLDERS = {"n/a", "na", "n.a.", "n.a", "-", "--", "–", "—", "tbc", "tba", "tbd", "tbc.", "unknown", "not known",
                "not available", "nil", "none", "?", "x", "null", "#n/a", "awaiting", "pending"}
UK_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\s*$")
ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
NUMBER_TEXT = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$")
JUMP_WARNING_PCT = 50.0


class Finding(NamedTuple):
    """A problem with a raw cell value, before it is given a location."""

    code: str
    severity: Severity
    message: str


class Parsed(NamedTuple):
    value: Any
    finding: Finding | None = None
    missing: bool = False  # blank or a placeholder such as n/a


def _describe(raw: Any) -> str:
    s = str(raw)
    return repr(s if len(s) <= 40 else s[:37] + "...")


def parse_number(raw: Any) -> Parsed:
    """A number from whatever a lead typed: 45, '45', '1,234', '45%', '£1,200'; or a finding saying what is wrong."""
    if type(raw) is float or type(raw) is int:  # the usual case, first (bool is neither)
        return Parsed(float(raw)) if raw - raw == 0 else Parsed(None, Finding("C001", E, "The cell does not hold a valid number."))
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return Parsed(None, missing=True)
    if isinstance(raw, bool):
        return Parsed(None, Finding("C001", E, f"{raw} (TRUE/FALSE) is not a number."))
    if isinstance(raw, (int, float)):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return Parsed(None, Finding("C001", E, "The cell does not hold a valid number."))
        return Parsed(float(raw))
    if isinstance(raw, (date, datetime)):
        return Parsed(None, Finding("C001", E, f"A date ({raw:%d/%m/%Y}) was entered where a number is expected."))
    s = str(raw).strip().replace("\u00a0", " ")
    if s.lower() in PLACEHOLDERS:
        return Parsed(None, Finding("C004", E, f"{_describe(s)} is not a value. Leave the cell blank, choose a Data status "
                                               "and give the reason there is no value."), missing=True)
    if UK_DATE.match(s) or ISO_DATE.match(s):
        return Parsed(None, Finding("C005", E, f"{_describe(s)} looks like a date, but a number is expected here."))
    core = s
    percent = core.endswith("%")
    core = core.rstrip("%").strip()
    core = core.lstrip("£$€").strip()
    had_currency = core != s.rstrip("%").strip()
    if NUMBER_TEXT.match(core.replace(" ", "")):
        compact = core.replace(" ", "")
        value = float(compact.replace(",", ""))
        if "," in compact:
            return Parsed(value, Finding("C003", W, f"{_describe(s)} has thousands separators typed as text; read as "
                                                    f"{value:g}. Type numbers without commas."))
        what = "a percentage typed as text" if percent else "a currency amount typed as text" if had_currency else \
            "a number stored as text"
        return Parsed(value, Finding("C002", W, f"{_describe(s)} is {what}; read as {value:g}{'%' if percent else ''}. "
                                                "Type the number only."))
    return Parsed(None, Finding("C001", E, f"{_describe(s)} is not a number. Type a number only (no words or units)."))


def resolve_percent(value: float, typed_as_percent_text: bool, reference: float | None) -> tuple[float, Finding | None]:
    """Percent indicators are typed as 0-100. A fraction such as 0.45 is ambiguous: resolve it by the history."""
    if typed_as_percent_text or not 0 < abs(value) < 1:
        return value, None
    if reference is not None and abs(reference) >= 1.5 and 0.5 <= abs(value * 100) / abs(reference) <= 2:
        return value * 100, Finding("C008", W, f"{value:g} read as {value * 100:g}% (it looks like a fraction; recent "
                                               f"values are around {reference:g}%). Type percentages as 0-100, e.g. 45.2.")
    return value, Finding("C008", W, f"{value:g} is ambiguous: it could mean {value:g}% or {value * 100:g}%. "
                                     "Percentages are typed as 0-100 (45.2 for 45.2%); please confirm.")


def parse_date(raw: Any) -> Parsed:
    """A date from a date cell, or from UK text such as 31/03/2026 (read day first, with a warning)."""
    if type(raw) is datetime:
        return Parsed(raw.date())
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return Parsed(None, missing=True)
    if isinstance(raw, datetime):
        return Parsed(raw.date())
    if isinstance(raw, date):
        return Parsed(raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Parsed(None, Finding("C014", E, f"{raw:g} is a number, not a date. Type the date as dd/mm/yyyy."))
    s = str(raw).strip()
    m = UK_DATE.match(s)
    iso = ISO_DATE.match(s)
    try:
        if m:
            d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            parsed = date(y + 2000 if y < 100 else y, mo, d)
        elif iso:
            parsed = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        else:
            raise ValueError
    except ValueError:
        return Parsed(None, Finding("C014", E, f"{_describe(s)} is not a date Excel understands. Type it as dd/mm/yyyy, "
                                               "e.g. 31/03/2026."))
    return Parsed(parsed, Finding("C005", W, f"{_describe(s)} is a date typed as text; read as {parsed:%d %B %Y}. "
                                             "Type dates so Excel recognises them (dd/mm/yyyy)."))


def parse_fraction(raw: Any) -> Parsed:
    """% complete as a fraction 0-1: accepts 0.45, 45% and 45 (read as 45%)."""
    p = parse_number(raw)
    if p.value is None:
        return p
    text_pct = isinstance(raw, str) and raw.strip().endswith("%")
    v = p.value / 100 if text_pct else p.value
    if 1 < v <= 100 and not text_pct:
        return Parsed(v / 100, Finding("C008", W, f"{v:g} read as {v:g}%. Type % complete as a percentage, e.g. 45%."))
    if not 0 <= v <= 1:
        return Parsed(None, Finding("C013", E, f"{_describe(raw)} is not a % complete between 0% and 100%."))
    return Parsed(v, p.finding)


def parse_text(raw: Any) -> str | None:
    if type(raw) is str:
        return raw.strip() or None
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, (date, datetime)):
        return f"{raw:%d/%m/%Y}"
    s = str(raw).strip()
    return s or None


class IndicatorReturn(NamedTuple):
    indicator_id: str
    row: int
    value: float | None
    numerator: float | None
    denominator: float | None
    target: float | None
    data_status: str | None
    reason: str | None
    data_period: str | None
    commentary: str | None


class CommitmentReturn(NamedTuple):
    commitment_id: str
    row: int
    lead_officer: str | None
    status: str | None
    percent_complete: float | None
    start_date: str | None  # ISO dates, as the store keeps them (and cheaper to pass between processes)
    target_date: str | None
    completion_date: str | None
    milestone: str | None
    achievements: str | None
    challenges: str | None
    priorities: str | None


@dataclass
class FileReport:
    path: Path
    sha256: str | None = None
    department: str | None = None
    team: str = ""
    period: str | None = None
    plan_id: str | None = None
    template_version: str | None = None
    generated_at: str | None = None
    saved_at: str | None = None
    macro_enabled: bool = False
    issues: list[Issue] = field(default_factory=list)
    indicators: list[IndicatorReturn] = field(default_factory=list)
    commitments: list[CommitmentReturn] = field(default_factory=list)
    readable: bool = True

    @property
    def valid(self) -> bool:
        return self.readable and not has_errors(self.issues)

    # Pickled (to leave a worker, or in the cache) with the values packed as one nested blob, unpacked on first use:
    # `validate` reads only the issues, so the values of hundreds of returns are never unpacked.
    _VALUES = ("indicators", "commitments")

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in self._VALUES}
        if "_values" not in state:
            import pickle

            state["_values"] = pickle.dumps((self.indicators, self.commitments), protocol=pickle.HIGHEST_PROTOCOL)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:
        packed = self.__dict__.get("_values")
        if name not in self._VALUES or packed is None:
            raise AttributeError(name)
        import pickle

        self.indicators, self.commitments = pickle.loads(packed)
        del self.__dict__["_values"]
        return self.__dict__[name]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "valid": self.valid, "department": self.department, "team": self.team,
                "period": self.period,
                "plan": self.plan_id, "template_version": self.template_version, "sha256": self.sha256,
                "issues": [{k: v for k, v in i.to_dict().items() if k != "file"} for i in self.issues]}


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[Issue] = []

    def add(self, code: str, severity: Severity, sheet: str | None, cell: str | None, message: str) -> None:
        self.issues.append(Issue(code, severity, self.file, sheet, cell, message))

    def finding(self, f: Finding | None, sheet: str, cell: str, label: str) -> None:
        if f:
            self.add(f.code, f.severity, sheet, cell, f"{label}: {f.message}")


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
                out.add("S016", E, sheet, f"{col_name(found[col.header] + 1)}{HEADER_ROW}",
                        f"Column '{col.header}' has moved (expected in column {col_name(pos + 1)}). Do not insert, delete "
                        "or move columns; start again from the tracker you were sent if needed.")
        else:
            missing.append(col)
    for col in missing:
        pos = columns.index(col)
        out.add("S009", E, sheet, f"{col_name(pos + 1)}{HEADER_ROW}",
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
            out.add("S010", E, sheet, cell, f"Row {r} has entries but no {kind} ID: rows must not be added. "
                                            "Move this information into the commentary of an existing row.")
            continue
        if ident in seen:
            out.add("S014", E, sheet, cell, f"{kind.title()} {ident} appears twice (rows {seen[ident][0]} and {r}). "
                                            "Delete the copy.")
            continue
        if ident not in expected_set:
            owner = _owner_of(plan, ident)
            if owner and owner != dept:
                out.add("S013", E, sheet, cell, f"{kind.title()} {ident} belongs to {owner}, not {dept}. Remove the row; "
                                                f"{owner} reports it.")
            else:
                out.add("S010", E, sheet, cell, f"{ident!r} is not a {kind} of this tracker: rows must not be added.")
            continue
        seen[ident] = (r, row)
        order.append(ident)
    for ident in expected:
        if ident not in seen:
            out.add("S011", E, sheet, None, f"{kind.title()} {ident} is missing: rows must not be deleted. "
                                            "Restore the row from the tracker you were sent.")
    kept = [i for i in expected if i in seen]
    if order != kept:
        first = next(i for i, (a, b) in enumerate(zip(order, kept, strict=False)) if a != b)
        r = seen[order[first]][0]
        out.add("S012", E, sheet, f"A{r}", f"Rows have been reordered (expected {kept[first]} at row {r}, found "
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
            out.add("C011", E, sheet, ref, f"Cells {ref} are merged. Unmerge them (Home > Merge & Center) so each "
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
            self.out.add("C009", E, self.name, coord, f"{label}: the cell shows the error {self.scan.errors[coord]}. "
                                                      "Replace it with a value (or leave it blank).")
            return None
        if is_input and coord in self.scan.formulas:
            shown = formula_text(self.scan.formulas[coord])[:60]
            self.out.add("C010", E, self.name, coord, f"{label}: the cell holds a formula ({shown}); "
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
        if ind.unit == "count" and value < 0:
            out.add("C006", E, sh.name, cell, f"{name}: {value:g} is negative, but this is a count. Check the figure.")
        elif ind.unit == "count" and not float(value).is_integer():
            out.add("C007", W, sh.name, cell, f"{name}: {value:g} is not a whole number, but this is a count.")
        if ind.unit == "percent" and not 0 <= value <= 100:
            out.add("C007", E, sh.name, cell, f"{name}: {value:g}% is outside 0-100%.")
        elif ind.unit != "percent" and ind.unit not in ("percentage_points", "gbp", "gbp_millions", "score", "ratio") \
                and value < 0:
            out.add("C007", E, sh.name, cell, f"{name}: {value:g} is negative, which this measure cannot be.")
    numerator = denominator = None
    if ind.rate:
        n, d = parse_number(v["numerator"]), parse_number(v["denominator"])
        sh.finding(n, "numerator", r, f"{ind.id} numerator")
        sh.finding(d, "denominator", r, f"{ind.id} denominator")
        numerator, denominator = n.value, d.value
        if (numerator is None) != (denominator is None):
            out.add("X008", E, sh.name, sh.coord("numerator" if numerator is None else "denominator", r),
                    f"{ind.id}: give both the numerator and the denominator, or neither.")
        elif numerator is not None and denominator is not None:
            if denominator == 0:
                out.add("X008", E, sh.name, sh.coord("denominator", r), f"{ind.id}: the denominator is 0.")
            elif value is not None:
                implied = numerator / denominator * ind.rate.multiplier
                if abs(implied - value) > max(0.5 * 10 ** -ind.decimals, 0.005 * abs(value)):
                    out.add("X007", E, sh.name, cell, f"{ind.id}: the value {value:g} does not match numerator/denominator "
                                                      f"({numerator:g}/{denominator:g} = {implied:.{ind.decimals + 1}f}). "
                                                      "Correct whichever is wrong.")
    status_raw = parse_text(v["data_status"])
    status = _choice(status_raw, DATA_STATUSES)
    if status_raw and not status:
        out.add("C012", E, sh.name, sh.coord("data_status", r),
                f"{ind.id} data status: {status_raw!r} is not one of {', '.join(DATA_STATUSES)}.")
    reason = parse_text(v["reason"])
    data_period = parse_text(v["data_period"])
    if data_period and not _is_period(data_period):
        out.add("C016", W, sh.name, sh.coord("data_period", r),
                f"{ind.id}: 'period the data covers' {data_period!r} is not a period such as 2024/25 or 2025/26-Q1.")
    commentary = parse_text(v["commentary"])
    if value is None and val.missing and val.finding is None:
        if status != "Not yet available" or not reason:
            out.add("X001", E, sh.name, cell,
                    f"{ind.id} has no value: choose 'Not yet available' as the Data status and give the reason "
                    f"(and when it is expected).")
    elif value is not None and status == "Not yet available":
        out.add("X009", W, sh.name, sh.coord("data_status", r),
                f"{ind.id} has a value but its Data status says 'Not yet available'. Choose Final or Provisional.")
    elif value is not None and status is None and "data_status" in sh.where:
        out.add("X010", W, sh.name, sh.coord("data_status", r), f"{ind.id}: choose a Data status (Final or Provisional).")
    if value is not None:
        rating = None if commentary else rate_indicator(ind, cfg.scoring.rag.rule_for(ind.id), value, target,
                                                        last_year=last_year)
        if rating and rating.status == "Red":
            out.add("X002", E, sh.name, sh.coord("commentary", r) if "commentary" in sh.where else cell,
                    f"{ind.id} is Red ({rating.reason.removeprefix('Red: ')}): add commentary saying why and what is "
                    "being done.")
        if prev is not None and abs(prev) > 0 and abs(value - prev) / abs(prev) * 100 > JUMP_WARNING_PCT:
            out.add("X006", W, sh.name, cell, f"{ind.id}: {value:g} is a change of {(value - prev) / abs(prev):+.0%} on the "
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
            out.add("C012", E, sh.name, sh.coord("status", r),
                    f"{ident} status: {status_raw!r} is not one of {', '.join(COMMITMENT_STATUSES)}.")
        elif not status_raw and "status" in sh.where:
            out.add("X012", E, sh.name, sh.coord("status", r), f"{ident}: choose a status.")
        pct = parse_fraction(v["percent_complete"])
        sh.finding(pct, "percent_complete", r, f"{ident} % complete")
        start, target, completed = (x if type(x := v[k]) is date or x is None else _date(sh, x, k, r, ident)
                                    for k in ("start_date", "target_date", "completion_date"))
        challenges = parse_text(v["challenges"])
        if status == "Major disruption" and not challenges:
            out.add("X003", E, sh.name, sh.coord("challenges", r),
                    f"{ident} is in Major disruption: explain the disruption and the plan to recover under Challenges.")
        if status == "Completed" and (completed is None or pct.value is None or pct.value < 1):
            out.add("X004", E, sh.name, sh.coord("completion_date" if completed is None else "percent_complete", r),
                    f"{ident} is Completed: give the completion date and 100% complete.")
        if status not in ("Completed", "Deferred") and target and target < today:
            out.add("X005", W, sh.name, sh.coord("target_date", r),
                    f"{ident}: the target date {target:%d/%m/%Y} has passed but it is not completed. Update the "
                    "target date or explain the delay.")
        if start and completed and completed < start:
            out.add("X011", E, sh.name, sh.coord("completion_date", r), f"{ident}: the completion date is before the start date.")
        if start and target and target < start:
            out.add("X011", E, sh.name, sh.coord("target_date", r), f"{ident}: the target date is before the start date.")
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
        out.add("F012", W, None, None, "The workbook is macro-enabled (.xlsm). Its values were read; its macros were not "
                                       "run. Please return trackers as .xlsx.")
    meta = _meta(pkg, values)
    if meta.get("template_kind") != TEMPLATE_KIND and "template_version" not in meta:
        out.add("S001", E, None, None, "This is not a Strategic Plan tracker (it has no tracker metadata). Fill in the "
                                       "tracker workbook you were sent rather than a copy or another file.")
        return rep
    rep.template_version, rep.plan_id = meta.get("template_version"), meta.get("plan_id")
    rep.department, rep.period, rep.generated_at = meta.get("department"), meta.get("period"), meta.get("generated_at")
    rep.team = meta.get("team") or ""
    if rep.template_version not in SUPPORTED_TEMPLATE_VERSIONS:
        out.add("S002", E, None, None, f"Tracker template version {rep.template_version!r} is not supported (supported: "
                                       f"{', '.join(SUPPORTED_TEMPLATE_VERSIONS)}). Use this quarter's tracker.")
        return rep
    plan = cfg.plans.get(rep.plan_id or "")
    if plan is None:
        out.add("S003", E, None, None, f"The tracker is for plan {rep.plan_id!r}, which is not in the config "
                                       f"(known: {', '.join(sorted(cfg.plans))}).")
        return rep
    depts = {d.id for d in cfg.organisation.departments}
    if rep.department not in depts:
        out.add("S004", E, None, None, f"The tracker is for department {rep.department!r}, which is not in the config.")
        return rep
    try:
        period = Period.parse(rep.period or "")
    except PeriodError as e:
        out.add("S005", E, None, None, f"The tracker's period is not valid: {e}")
        return rep
    if not Period.parse(plan.starts).start <= period.start <= Period.parse(plan.ends).end:
        out.add("S006", E, None, None, f"The tracker's period {period} is outside plan {plan.id} ({plan.starts} to "
                                       f"{plan.ends}).")
        return rep
    if expected_period is not None and period != expected_period:
        out.add("S007", E, None, None, f"This tracker is for {period}, not {expected_period}. Send the {expected_period} "
                                       "tracker.")
    name_dept = re.match(r"Tracker_([A-Za-z]+)_", pkg.path.name)
    if name_dept and name_dept.group(1) != rep.department:
        out.add("S015", W, None, None, f"The file name says {name_dept.group(1)} but the tracker is {rep.department}'s.")
    for sheet in (SHEET_INDICATORS, SHEET_COMMITMENTS):
        if sheet not in pkg.sheets:
            out.add("S008", E, sheet, None, f"The '{sheet}' sheet is missing or renamed. Restore it from the tracker you were sent.")
    if SHEET_INDICATORS in values:
        _merged(pkg, SHEET_INDICATORS, out)
        rep.indicators = _check_indicators(pkg, values[SHEET_INDICATORS], cfg, plan, rep.department, period, out)
    if SHEET_COMMITMENTS in values:
        _merged(pkg, SHEET_COMMITMENTS, out)
        as_of = min(today, cfg.submission_deadline(period))  # judge "overdue" as at the return, not years later
        rep.commitments = _check_commitments(pkg, values[SHEET_COMMITMENTS], plan, rep.department, as_of, out)
    return rep


def validate_file(path: Path, cfg: Config, *, expected_period: Period | None = None, today: date | None = None,
                  cache: ValidationCache | None = None) -> FileReport:
    """Read (never modify) one submission and check it. Unreadable files give one F-code issue.

    With a cache, a file whose bytes, name and checking context were seen before is not checked again.
    """
    rep, key = _lookup(Path(path), cfg, expected_period, today, cache)
    if cache is not None and key:
        cache.put([(key, _blob(rep))])
    return rep


def _lookup(path: Path, cfg: Config, expected_period: Period | None, today: date | None,
            cache: ValidationCache | None) -> tuple[FileReport, str | None]:
    """The report, and its cache key when it was checked just now (for the caller to store, in one batch)."""
    if cache is None:
        return _validate(path, cfg, expected_period, today), None
    key = cache.key(path, cfg, expected_period, today or date.today())
    hit = cache.get(key, path)
    if hit is not None:
        return hit, None
    return _validate(path, cfg, expected_period, today), key


def _validate(path: Path, cfg: Config, expected_period: Period | None, today: date | None) -> FileReport:
    try:
        pkg = open_package(path, detail={SHEET_INDICATORS, SHEET_COMMITMENTS})
        wanted = [s for s in (SHEET_INDICATORS, SHEET_COMMITMENTS) if s in pkg.sheets]
        if not any(k.startswith("pr_") for k in pkg.custom_props) and SHEET_META in pkg.sheets:
            wanted.append(SHEET_META)
        values = read_values(pkg, wanted)
    except ReadProblem as e:
        return FileReport(path, readable=False, issues=[Issue(e.code, E, str(path), None, None, e.message)])
    return check_submission(pkg, values, cfg, expected_period=expected_period, today=today or date.today())


def find_submissions(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Files to validate (explicit files always; folders searched recursively) and the ones not found."""
    found: list[Path] = []
    missing: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SPREADSHEET_SUFFIXES
                                and not f.name.startswith(("~$", ".~lock", "."))))
        elif p.is_file():
            if not p.name.startswith("~$"):
                found.append(p)
        else:
            missing.append(p)
    return found, missing


_worker: dict[str, Any] = {}


def _code_digest() -> str:
    """The checks' own source: a changed validator never serves a report made by an older one."""
    import hashlib

    if "code" not in _worker:
        here = Path(__file__).parent
        h = hashlib.sha256()
        for name in ("validate.py", "xlsx.py", "trackers.py", "score.py", "models.py", "periods.py", "__init__.py"):
            h.update((here / name).read_bytes())
        _worker["code"] = h.hexdigest()
    return str(_worker["code"])


class ValidationCache:
    """Reports of files already checked, keyed by content hash, file name and everything the checks depend on.

    Re-validating a folder where only a few returns changed then costs little more than hashing the rest.
    Stored in SQLite in the user's cache folder; a damaged cache is ignored.
    """

    def __init__(self, path: Path | None = None) -> None:
        import os
        import sqlite3

        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "plan-reports"
        self.path = path or base / "validation.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last writes on power loss costs only time
        self.con.execute("CREATE TABLE IF NOT EXISTS reports (key TEXT PRIMARY KEY, report BLOB NOT NULL)")

    @classmethod
    def open(cls) -> ValidationCache | None:
        """The cache, or None when it cannot be opened (read-only home, a locked file): then nothing is cached."""
        import sqlite3

        try:
            return cls()
        except (OSError, sqlite3.Error):
            return None

    @staticmethod
    def key(path: Path, cfg: Config, expected: Period | None, today: date) -> str:
        import hashlib

        digest = getattr(cfg, "__dict__", {}).get("_digest") or cfg.config_hash
        parts = [hashlib.sha256(path.read_bytes()).hexdigest(), path.name, digest, _code_digest(), str(expected or ""),
                 today.isoformat()]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def get(self, key: str, path: Path) -> FileReport | None:
        import pickle

        try:
            row = self.con.execute("SELECT report FROM reports WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            rep = pickle.loads(row[0])
        except Exception:
            return None
        rep.path = path
        rep.issues = [Issue(i.code, i.severity, str(path), i.sheet, i.cell, i.message) for i in rep.issues]
        return rep

    def put(self, entries: Sequence[tuple[str, bytes]]) -> None:
        """Store new reports (pickled, see `_blob`) in one transaction."""
        import contextlib
        import sqlite3

        if not entries:
            return
        with contextlib.suppress(sqlite3.Error):  # a cache that cannot be written only costs time
            self.con.execute("BEGIN")
            try:
                self.con.executemany("INSERT OR REPLACE INTO reports (key, report) VALUES (?, ?)", entries)
            finally:
                self.con.execute("COMMIT")


WORKER_MEMORY_BYTES = 1024 * 1024 * 1024  # a worker that needs more than this is stopped, not the machine
PARALLEL_FROM = 12  # below this many files a pool costs more than it saves


def _init_worker(cfg: Config, expected_period: Period | None, today: date | None, use_cache: bool) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass  # not on Windows; the byte-level defences still bound what is read
    _worker.update(cfg=cfg, expected_period=expected_period, today=today, cache=ValidationCache.open() if use_cache else None)


def _blob(rep: FileReport) -> bytes:
    import pickle

    return pickle.dumps(rep, protocol=pickle.HIGHEST_PROTOCOL)


def _validate_in_worker(path: Path) -> tuple[bytes, str | None]:
    """The report pickled once, here in the worker: it travels to the parent and goes into the cache as is."""
    rep, key = _lookup(Path(path), _worker["cfg"], _worker["expected_period"], _worker["today"], _worker["cache"])
    return _blob(rep), key


def validate_files(files: Sequence[Path], cfg: Config, *, expected_period: Period | None = None,
                   today: date | None = None, progress: Any = None, workers: int | None = None,
                   use_cache: bool = False) -> list[FileReport]:
    """Validate many files, on every core when there are enough of them. Results keep the order of `files`.

    Each worker has a memory limit; a file that kills its worker is reported as unreadable (F013), and the rest are
    still validated.
    """
    import os

    tick = progress or (lambda: None)
    n = len(files)
    workers = workers if workers is not None else (min(os.cpu_count() or 1, 4) if n >= PARALLEL_FROM else 1)
    cache = ValidationCache.open() if use_cache else None  # created here, before any worker opens it
    fresh: list[tuple[str, bytes]] = []
    if workers <= 1:
        out = []
        for f in files:
            rep, key = _lookup(Path(f), cfg, expected_period, today, cache)
            out.append(rep)
            if key:
                fresh.append((key, _blob(rep)))
            tick()
        if cache is not None:
            cache.put(fresh)
        return out
    import pickle
    from functools import partial

    import python_calamine  # noqa: F401  loaded once here, so the forked workers share it

    from plan_reports.workers import parallel_map

    results: dict[int, FileReport] = {}
    init = partial(_init_worker, cfg, expected_period, today, use_cache)
    for i, got in parallel_map(_validate_in_worker, files, workers, init):
        if got is None:
            results[i] = FileReport(files[i], readable=False, issues=[Issue(
                "F013", E, str(files[i]), None, None, "The file stopped the workbook reader and cannot be read safely. "
                                                      "Open it in Excel, save it as a new .xlsx and resend it.")])
        else:
            blob, key = got
            results[i] = pickle.loads(blob)
            if key:
                fresh.append((key, blob))
        tick()
    if cache is not None:
        cache.put(fresh)
    return [results[i] for i in range(n)]


def validate_paths(paths: Iterable[Path], cfg: Config, *, expected_period: Period | None = None,
                   today: date | None = None, progress: Any = None, workers: int | None = None,
                   use_cache: bool = False) -> list[FileReport]:
    files, _ = find_submissions(paths)
    return validate_files(files, cfg, expected_period=expected_period, today=today, progress=progress, workers=workers,
                          use_cache=use_cache)


def annotate(report: FileReport, out_dir: Path) -> Path | None:
    """A copy of the submission with problem cells highlighted, comments, and a Validation sheet. Never the original."""
    if not report.readable:
        return None
    import io

    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    from plan_reports.atomic import atomic_path
    from plan_reports.xlsxout import put

    data = Path(report.path).read_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=False)
    fills = {Severity.ERROR: PatternFill("solid", fgColor="FF9999"), Severity.WARNING: PatternFill("solid", fgColor="FFE699")}
    by_cell: dict[tuple[str, str], list[Issue]] = {}
    for i in report.issues:
        if i.sheet in wb.sheetnames and i.cell:
            by_cell.setdefault((i.sheet, i.cell.split(":")[0]), []).append(i)
    for (sheet, coord), items in by_cell.items():
        c = wb[sheet][coord]
        worst = Severity.ERROR if any(i.severity is Severity.ERROR for i in items) else Severity.WARNING
        c.fill = fills[worst]
        c.comment = Comment("\n".join(f"[{i.code}] {i.message}" for i in items)[:30000], "Validation")
        c.comment.width, c.comment.height = 420, 160
    ws = wb.create_sheet("Validation", 0)
    status = "VALID (warnings only)" if report.valid else "NOT VALID: please fix the errors below and resend"
    put(ws["A1"], f"Validation of {Path(report.path).name}: {status}").font = Font(bold=True, size=13)
    headers = ["Severity", "Code", "Sheet", "Cell", "What to fix"]
    for ci, h in enumerate(headers, 1):
        put(ws.cell(3, ci), h).font = Font(bold=True)
    for r, i in enumerate(sorted(report.issues, key=lambda x: (x.severity != Severity.ERROR, x.sheet or "", x.cell or "")), 4):
        for ci, v in enumerate([i.severity.value.title(), i.code, i.sheet or "", i.cell or "", i.message], 1):
            put(ws.cell(r, ci), v)
        if i.sheet in wb.sheetnames and i.cell:
            ws.cell(r, 4).hyperlink = f"#'{i.sheet}'!{i.cell.split(':')[0]}"
            ws.cell(r, 4).font = Font(color="0563C1", underline="single")
        ws.cell(r, 1).fill = fills[i.severity]
    for col, w in zip("ABCDE", (10, 7, 14, 10, 110), strict=True):
        ws.column_dimensions[col].width = w
    ws.freeze_panes = "A4"
    wb.active = 0
    target = Path(out_dir) / f"{Path(report.path).stem}_checked.xlsx"
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return target


def previous_returns_prefill(cfg: Config, period: Period, folder: Path) -> dict[str, Any]:
    """Roll-forward from last period's returns when there is no history store: their values and commitment updates."""
    from plan_reports.trackers import carried_update, plan_prefill

    plan = cfg.plan_for_period(period)
    previous = period.previous()
    out = {}
    for rep in sorted(validate_paths([folder], cfg, expected_period=previous), key=lambda r: r.saved_at or ""):
        if not rep.valid or rep.department is None:
            continue
        history = {(v.indicator_id, str(previous)): v.value for v in rep.indicators if v.value is not None}
        carried = {c.commitment_id: carried_update(c._asdict()) for c in rep.commitments}
        out[rep.department] = plan_prefill(plan, rep.department, history, carried)
    return out
