"""Load published comparator and history figures into the store, refusing anything it would otherwise have to guess.

Two layouts are read as they are downloaded: a tidy table (`area_code, area_name, period, indicator, value`, with any
breakdown columns such as `measure` or `sex`) and the OHID Fingertips "all data" CSV export. Each row is matched to
plan indicators by the published title or Fingertips id, and the breakdown, in the indicator's `source_names` and
`series`. A file is refused whole (nothing stored, a message saying how to fix it) when:

- rows map to the same area, period and indicator with different values (the columns that tell them apart are
  named, with a ready `--where`);
- a value is outside what its indicator can plausibly be, or a period or value cannot be read;
- nothing at all matches a plan indicator.

An import is identified by the file's content *and* its options and mapping: importing the same file with other
options, or after the mapping changed, replaces what that file contributed (the earlier import stays in history).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.periods import PeriodError, Span, parse_span, span_or_none
from plan_reports.store import now_iso, transaction

if TYPE_CHECKING:
    from plan_reports.config import Config
    from plan_reports.models import Indicator, Series

TIDY = ("area_code", "area_name", "period", "indicator", "value")
# The Fingertips export's own header names (as in OHID's "all data" CSV) -> ours.
FINGERTIPS = {"Indicator ID": "indicator_id", "Indicator Name": "indicator", "Area Code": "area_code",
              "Area Name": "area_name", "Time period": "period", "Value": "value"}
MISSING_VALUES = {"", "na", "n/a", "-", "..", ":", "x", "null", "none", "nan", "*", "c", "z", "[x]", "[c]", "[z]"}
AGGREGATE_PREFIXES = ("E92", "E12", "E13", "E15", "K02", "K03", "K04", "W92", "S92", "N92")  # countries and regions
MAX_FILE_BYTES = 200 * 1024 * 1024
SHOWN = 5  # rows named in a refusal


class HistoryImportError(ValueError):
    """The file cannot be imported as it is; the message says why and what to do."""


@dataclass
class ImportResult:
    file: str
    sha256: str
    status: str = "imported"  # imported | replaced | already imported | refused
    stored: int = 0
    rows: int = 0
    filtered_out: int = 0  # by --where, or Fingertips breakdown rows (deprivation deciles...)
    not_members: int = 0  # areas outside the --group
    duplicates: int = 0  # identical repeated rows, kept once
    unmatched: Counter[str] = field(default_factory=Counter)
    indicators: Counter[str] = field(default_factory=Counter)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "refused"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["unmatched"], d["indicators"] = dict(self.unmatched), dict(self.indicators)
        return d


@dataclass(frozen=True, slots=True)
class _Row:
    line: int  # as a spreadsheet shows it: the header is line 1
    cells: dict[str, str]


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _xlsx_rows(path: Path) -> list[list[Any]] | str:
    """The first sheet of a downloaded workbook, read in a worker like any untrusted file; or why it cannot be."""
    from plan_reports.xlsx import ReadProblem, open_package, read_values

    try:
        pkg = open_package(path)
        first = next(iter(pkg.sheets), None)
        return read_values(pkg, [first])[first] if first else []
    except ReadProblem as e:
        return f"{e.message} ({e.code})"


def read_table(path: Path, data: bytes) -> tuple[list[str], list[_Row]]:
    """Header and rows of a CSV or a workbook's first sheet (the workbook is parsed in an isolated worker)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from plan_reports.workers import Failed, isolated_map

        got = next(isolated_map(_xlsx_rows, [path], workers=1))[1]
        if isinstance(got, Failed):
            raise HistoryImportError(f"{path.name} could not be read safely ({got.why}). Download it again, or save it "
                                     "as CSV.")
        if isinstance(got, str):
            raise HistoryImportError(f"{path.name}: {got}")
        grid = got
    else:
        text = data.decode("utf-8-sig", errors="replace")
        grid = list(csv.reader(io.StringIO(text)))
    if not grid:
        return [], []
    header = [_text(h) for h in grid[0]]
    rows = [_Row(n, {h: _text(v) for h, v in zip(header, r, strict=False) if h})
            for n, r in enumerate(grid[1:], 2) if any(_text(v) for v in r)]
    return header, rows


def _layout(header: list[str], name: str) -> str:
    if all(c in header for c in FINGERTIPS):
        return "fingertips"
    if all(c in header for c in TIDY):
        return "tidy"
    raise HistoryImportError(
        f"{name} is neither a tidy table nor a Fingertips export. A tidy table has the columns {', '.join(TIDY)} "
        f"(it has {', '.join(header[:12]) or 'none'}); a Fingertips 'all data' CSV has {', '.join(FINGERTIPS)}.")


def _normalise(layout: str, cells: dict[str, str]) -> dict[str, str]:
    if layout == "tidy":
        return cells
    out = dict(cells)
    for theirs, ours in FINGERTIPS.items():
        out[ours] = cells.get(theirs, "")
    return out


def parse_value(raw: str) -> float | None:
    """A published figure: None for the usual missing markers; ValueError for anything else that is not a number."""
    s = raw.strip().replace(",", "")
    if s.lower() in MISSING_VALUES:
        return None
    return float(s)


def is_aggregate(area_code: str) -> bool:
    return area_code.startswith(AGGREGATE_PREFIXES)


def _series_of(ind: Indicator) -> list[Series]:
    from plan_reports.models import Series

    return [*(Series(title=t) for t in ind.source_names), *ind.series]


def indicator_index(cfg: Config) -> list[tuple[str, Series]]:
    """Every plan indicator's published series: (indicator id, series), across all plans."""
    from plan_reports.models import Series

    out: list[tuple[str, Series]] = []
    for plan in cfg.plans.values():
        for _, _, ind in plan.indicators():
            out.append((ind.id, Series(title=ind.id)))
            out.extend((ind.id, s) for s in _series_of(ind))
    return out


def _matches(s: Series, row: Mapping[str, str], layout: str) -> bool:
    if s.fingertips_id is not None:
        if row.get("indicator_id", "") != str(s.fingertips_id):
            return False
    elif (s.title or "").casefold() != row.get("indicator", "").casefold():
        return False
    if layout == "fingertips" and not {"Category Type", "Category"} & set(s.where) and row.get("Category Type"):
        return False  # a deprivation decile or other breakdown re-partitions the same area: not the headline series
    return all(row.get(k, "").casefold() == v.casefold() for k, v in s.where.items())


def _import_key(sha: str, group: str | None, where: Mapping[str, str], index: list[tuple[str, Series]]) -> str:
    mapping = sorted((i, s.title or "", s.fingertips_id or 0, sorted(s.where.items())) for i, s in index)
    blob = json.dumps([sha, group or "", sorted(where.items()), mapping], default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _where_hint(column: str, value: str) -> str:
    return f'--where "{column}={value}"' if " " in column or " " in value else f"--where {column}={value}"


def _conflict_message(name: str, key: tuple[str, str, str], rows: list[tuple[float | None, _Row]], used: set[str],
                      believable: Callable[[float], bool]) -> str:
    area, period, ind = key
    values = ", ".join(f"{v:g}" if v is not None else "blank" for v, _ in rows[:4])
    lines = [str(r.line) for _, r in rows[:4]]
    which = f"rows {lines[0]} and {lines[1]} both give" if len(lines) == 2 else f"rows {', '.join(lines)} all give"
    columns = sorted({c for _, r in rows for c in r.cells} - used)
    differ = [c for c in columns if len({r.cells.get(c, "") for _, r in rows}) > 1]
    head = (f"{name} was not imported: {which} {ind} for {area} in {period}, with different values ({values}). "
            "Nothing was stored.")
    if not differ:
        return head + " No column tells them apart: check the file for repeated rows with different figures."
    said = "; ".join(f"'{c}' ({' / '.join(sorted({r.cells.get(c, '') for _, r in rows}))})" for c in differ[:4])
    first = differ[0]
    fits = [r for v, r in rows if v is not None and believable(v)] or [r for _, r in rows]
    return (f"{head} They differ in {said}. Choose the rows for {ind} with "
            f"{_where_hint(first, fits[0].cells.get(first, ''))}"
            + (" (the only rows whose values are plausible for it)" if len(fits) < len(rows) else "")
            + f", or record the breakdown on the indicator in the plan config (series: where: {{{first}: ...}}).")


def _refuse(result: ImportResult, message: str) -> ImportResult:
    result.status, result.message, result.stored = "refused", message, 0
    return result


def import_history(con: sqlite3.Connection, path: Path, cfg: Config, *, group: str | None = None,
                   where: Mapping[str, str] | None = None) -> ImportResult:
    """Import one file in one transaction; a refused file stores nothing and says why in `message`."""
    path, where = Path(path), dict(where or {})
    if path.stat().st_size > MAX_FILE_BYTES:
        raise HistoryImportError(f"{path.name} is over {MAX_FILE_BYTES // 2**20} MB; a published series is far smaller.")
    data = path.read_bytes()
    result = ImportResult(path.name, hashlib.sha256(data).hexdigest())
    groups = {g.id: g for g in cfg.organisation.comparator_groups}
    if group is not None and group not in groups:
        raise HistoryImportError(f"Unknown comparator group '{group}' (known: {', '.join(groups)}).")
    if group is not None and not groups[group].ranks():
        g = groups[group]
        why = "is for local measures with no comparator" if g.id == "none" else \
            f"has no member list in config/organisation.yaml. {g.members_note}".strip()
        raise HistoryImportError(f"The group '{group}' {why}")
    index = indicator_index(cfg)
    key = _import_key(result.sha256, group, where, index)
    if con.execute("SELECT 1 FROM imports WHERE import_key = ?", (key,)).fetchone():
        result.status = "already imported"
        result.message = "the same file with the same options and mapping is already in the store"
        return result
    header, rows = read_table(path, data)
    if not rows:
        raise HistoryImportError(f"{path.name} has no rows.")
    layout = _layout(header, path.name)
    unknown = [k for k in where if k not in header]
    if unknown:
        raise HistoryImportError(f"--where names column(s) {', '.join(unknown)} that {path.name} does not have "
                                 f"(it has {', '.join(header)}).")
    records, problem = _records(rows, layout, where, index, cfg, group, groups, result)
    if problem:
        return _refuse(result, f"{path.name} was not imported: {problem} Nothing was stored.")
    conflicts = _conflicts(records)
    if conflicts:
        k, rs = conflicts[0]
        used = {"value", "Value", *where, "area_name", "Area Name", "Indicator ID", "indicator_id"}
        ind = next(i for p in cfg.plans.values() for _, _, i in p.indicators() if i.id == k[2])
        msg = _conflict_message(path.name, k, rs, used, lambda v: ind.plausibility(v) is None)
        if len(conflicts) > 1:
            msg += f" ({len(conflicts)} area, period and indicator combinations are affected.)"
        return _refuse(result, msg)
    implausible = _implausible(records, cfg)
    if implausible:
        return _refuse(result, f"{path.name} was not imported: {implausible} Nothing was stored.")
    unique = _grouped(records)
    result.duplicates = len(records) - len(unique)
    if not unique:
        titles = "; ".join(f"'{t}' ({n} rows)" for t, n in result.unmatched.most_common(8)) or "none"
        return _refuse(result, f"{path.name} was not imported: no row matched a plan indicator. Its indicator titles: "
                               f"{titles}. Add the published title (or the Fingertips id) to the indicator's source_names "
                               "or series in config/plans, or choose the rows with --where. Nothing was stored.")
    options = {"group": group, "where": where, "layout": layout}
    with transaction(con):
        old = [r[0] for r in con.execute("SELECT id FROM imports WHERE sha256 = ? AND superseded_by IS NULL",
                                         (result.sha256,))]
        cur = con.execute("INSERT INTO imports (sha256, import_key, file_name, rows, skipped, imported_at, options_json) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)", (result.sha256, key, path.name, len(unique),
                                                           sum(result.unmatched.values()), now_iso(), json.dumps(options)))
        new_id = cur.lastrowid
        con.executemany("UPDATE imports SET superseded_by = ? WHERE id = ?", [(new_id, i) for i in old])
        con.executemany(
            "INSERT INTO area_values (import_id, area_code, area_name, period, indicator_id, value, grp, period_start, "
            "period_end, source_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(new_id, area, r.area_name, r.span.text, ind, r.value, group, r.span.start.isoformat(),
              r.span.end.isoformat(), r.line) for (area, _, ind), r in unique.items()])
    result.status = "replaced" if old else "imported"
    result.stored = len(unique)
    for (_, _, ind) in unique:
        result.indicators[ind] += 1
    return result


@dataclass(frozen=True, slots=True)
class _Record:
    area: str
    area_name: str
    span: Span
    indicator: str
    value: float | None
    line: int
    cells: dict[str, str]


def _records(rows: list[_Row], layout: str, where: Mapping[str, str], index: list[tuple[str, Series]], cfg: Config,
             group: str | None, groups: Mapping[str, Any], result: ImportResult) -> tuple[list[_Record], str]:
    """Rows kept and mapped to indicators, with dated periods and read values; or a problem that refuses the file."""
    members = groups[group].members if group else None
    keep = None if members is None else {*members, cfg.organisation.council.area_code}
    monthly = _periods_are_months(r.cells.get("period" if layout == "tidy" else "Time period", "") for r in rows)
    spans: dict[str, Span | PeriodError] = {}  # each distinct period text parsed once, its error kept for the message
    bad_periods: list[tuple[_Row, str]] = []
    bad_values: list[_Row] = []
    out: list[_Record] = []
    for row in rows:
        cells = _normalise(layout, row.cells)
        result.rows += 1
        if any(cells.get(k, "").casefold() != v.casefold() for k, v in where.items()):
            result.filtered_out += 1
            continue
        inds = [i for i, s in index if _matches(s, cells, layout)]
        if not inds:
            if layout == "fingertips" and cells.get("Category Type"):
                result.filtered_out += 1
            else:
                result.unmatched[cells.get("indicator", "")] += 1
            continue
        area = cells.get("area_code", "")
        if keep is not None and area not in keep:
            result.not_members += 1
            continue
        text = cells.get("period", "")
        if text not in spans:
            try:
                spans[text] = parse_span(text, months_first=monthly)
            except PeriodError as e:
                spans[text] = e
        span = spans[text]
        if isinstance(span, PeriodError):
            bad_periods.append((row, text))
            continue
        try:
            value = parse_value(cells.get("value", ""))
        except ValueError:
            bad_values.append(row)
            continue
        out.extend(_Record(area, cells.get("area_name", ""), span, i, value, row.line, row.cells) for i in dict.fromkeys(inds))
    if bad_periods:
        first = bad_periods[0][1]
        return out, (f"the period on row{'s' if len(bad_periods) > 1 else ''} "
                     f"{', '.join(str(r.line) for r, _ in bad_periods[:SHOWN])} ('{first}') cannot be dated. "
                     f"{spans[first]}")
    if bad_values:
        r = bad_values[0]
        return out, (f"the value on row{'s' if len(bad_values) > 1 else ''} "
                     f"{', '.join(str(x.line) for x in bad_values[:SHOWN])} ('{_normalise(layout, r.cells).get('value')}') "
                     "is not a number or a recognised missing-value marker (such as blank, '..', 'x' or ':').")
    return out, ""


def _periods_are_months(texts: Iterable[str]) -> bool:
    """Does the file date by month (2021-07)? Then 2021-12 is December 2021, not the financial year 2021/22."""
    import re

    for t in texts:
        m = re.fullmatch(r"\s*(\d{4})-(\d{2})\s*", t)
        if m and 1 <= int(m.group(2)) <= 12 and int(m.group(2)) != (int(m.group(1)) + 1) % 100:
            return True
    return False


def _grouped(records: list[_Record]) -> dict[tuple[str, str, str], _Record]:
    seen: dict[tuple[str, str, str], _Record] = {}
    for r in records:
        seen.setdefault((r.area, f"{r.span.start}:{r.span.end}", r.indicator), r)
    return seen


def _conflicts(records: list[_Record]) -> list[tuple[tuple[str, str, str], list[tuple[float | None, _Row]]]]:
    """Area, period and indicator combinations given different values by different rows."""
    by: dict[tuple[str, str, str], list[_Record]] = defaultdict(list)
    for r in records:
        by[(r.area, f"{r.span.start}:{r.span.end}", r.indicator)].append(r)
    out = []
    for rs in by.values():
        if len({r.value for r in rs}) > 1:
            first = rs[0]
            out.append(((f"{first.area_name} ({first.area})", first.span.text, first.indicator),
                        [(r.value, _Row(r.line, r.cells)) for r in rs]))
    return out


def _implausible(records: list[_Record], cfg: Config) -> str:
    inds = {i.id: i for p in cfg.plans.values() for _, _, i in p.indicators()}
    bad = [(r, why) for r in records if r.value is not None and (why := inds[r.indicator].plausibility(r.value))]
    if not bad:
        return ""
    r, why = bad[0]
    rows = ", ".join(str(b.line) for b, _ in bad[:SHOWN]) + (f" and {len(bad) - SHOWN} more" if len(bad) > SHOWN else "")
    return (f"{len(bad)} value(s) are not plausible for their indicator (rows {rows}). Row {r.line}, {r.area_name} "
            f"{r.span.text}, {r.indicator}: {why}. If the file holds several measures (a count and a percentage), "
            "choose one with --where; if the range is wrong, correct `plausible` in the plan config.")


def query(con: sqlite3.Connection, indicator_id: str, period: str | None = None) -> list[dict[str, Any]]:
    """Stored values of an indicator, in date order of their periods, with where each came from."""
    sql = ("SELECT a.area_code, a.area_name, a.period, a.period_start, a.period_end, a.value, a.grp, a.source_row, "
           "i.file_name, i.sha256, i.options_json, i.imported_at FROM current_area_values a JOIN imports i "
           "ON i.id = a.import_id WHERE a.indicator_id = ?" + (" AND a.period = ?" if period else ""))
    rows = [dict(r) for r in con.execute(sql, (indicator_id, period) if period else (indicator_id,))]
    for r in rows:
        span = span_or_none(r["period"])
        r["period_label"] = span.label if span else r["period"]
    return sorted(rows, key=lambda r: (r["period_end"] or "", r["period_start"] or "", r["area_code"]))
