"""Load years of history and comparator groups' published values into the store.

Input is tidy: `area_code, area_name, period, indicator, value` (other columns are ignored unless used in `where`).
`indicator` may be a plan indicator id or one of an indicator's `source_names` as published (e.g. the OHID title).
Re-importing the same file is a no-op; a newer import of the same area, period and indicator wins in queries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.store import now_iso, transaction

if TYPE_CHECKING:
    from plan_reports.config import Config

REQUIRED = ("area_code", "area_name", "period", "indicator", "value")
MISSING_VALUES = {"", "na", "n/a", "-", "..", ":", "x", "null", "none", "nan", "*", "c", "z"}
AGGREGATE_PREFIXES = ("E92", "E12", "E13", "E15", "K02", "K03", "K04", "W92", "S92", "N92")  # countries and regions


class HistoryImportError(ValueError):
    """The file is not a tidy table we can import; the message says why."""


@dataclass
class ImportResult:
    file: str
    sha256: str
    rows: int = 0
    skipped: int = 0
    already_imported: bool = False
    unknown_indicators: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    filtered_out: int = 0
    indicators: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "rows": self.rows, "skipped": self.skipped,
                "already_imported": self.already_imported, "duplicates": self.duplicates, "filtered_out": self.filtered_out,
                "unknown_indicators": dict(self.unknown_indicators), "indicators": dict(self.indicators)}


def indicator_index(cfg: Config) -> dict[str, str]:
    """Every id and published name (case-folded) -> indicator id, across all plans."""
    idx: dict[str, str] = {}
    for plan in cfg.plans.values():
        for _, _, ind in plan.indicators():
            idx[ind.id.casefold()] = ind.id
            for name in ind.source_names:
                idx[name.casefold()] = ind.id
    return idx


def read_table(path: Path, data: bytes) -> list[dict[str, Any]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from plan_reports.xlsx import open_package, read_values

        pkg = open_package(path)
        first = next(iter(pkg.sheets), None)
        grid = read_values(pkg, [first])[first] if first else []
        if not grid:
            return []
        header = [str(h).strip() for h in grid[0]]
        return [dict(zip(header, row, strict=False)) for row in grid[1:]]
    text = data.decode("utf-8-sig", errors="replace")
    return list(csv.DictReader(io.StringIO(text)))


def parse_value(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    s = str(raw).strip().replace(",", "")
    if s.lower() in MISSING_VALUES:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def tidy_records(rows: Iterable[Mapping[str, Any]], index: Mapping[str, str], where: Mapping[str, str],
                 result: ImportResult) -> list[tuple[str, str, str, str, float | None]]:
    """Pure: keep rows for known indicators that pass `where`; first of any duplicate (area, period, indicator) wins."""
    out: dict[tuple[str, str, str], tuple[str, str, str, str, float | None]] = {}
    for row in rows:
        if any(str(row.get(k, "")).strip() != v for k, v in where.items()):
            result.filtered_out += 1
            continue
        name = str(row.get("indicator", "")).strip()
        ind = index.get(name.casefold())
        if ind is None:
            result.unknown_indicators[name] += 1
            result.skipped += 1
            continue
        key = (str(row["area_code"]).strip(), str(row["period"]).strip(), ind)
        if key in out:
            result.duplicates += 1
            continue
        out[key] = (key[0], str(row.get("area_name", "")).strip(), key[1], ind, parse_value(row.get("value")))
        result.indicators[ind] += 1
    return list(out.values())


def import_history(con: sqlite3.Connection, path: Path, cfg: Config, *, group: str | None = None,
                   where: Mapping[str, str] | None = None) -> ImportResult:
    path = Path(path)
    data = path.read_bytes()
    result = ImportResult(path.name, hashlib.sha256(data).hexdigest())
    if con.execute("SELECT 1 FROM imports WHERE sha256 = ?", (result.sha256,)).fetchone():
        result.already_imported = True
        return result
    rows = read_table(path, data)
    if not rows:
        raise HistoryImportError(f"{path.name} has no rows.")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise HistoryImportError(f"{path.name} lacks the column(s) {', '.join(missing)}; expected the tidy columns "
                           f"{', '.join(REQUIRED)}.")
    if where:
        unknown = [k for k in where if k not in rows[0]]
        if unknown:
            raise HistoryImportError(f"--where names column(s) {', '.join(unknown)} that {path.name} does not have.")
    if group and group not in {g.id for g in cfg.organisation.comparator_groups}:
        raise HistoryImportError(f"Unknown comparator group '{group}' (known: "
                           f"{', '.join(g.id for g in cfg.organisation.comparator_groups)}).")
    records = tidy_records(rows, indicator_index(cfg), where or {}, result)
    result.rows = len(records)
    with transaction(con):
        cur = con.execute("INSERT INTO imports (sha256, file_name, rows, skipped, imported_at) VALUES (?, ?, ?, ?, ?)",
                          (result.sha256, path.name, result.rows, result.skipped, now_iso()))
        con.executemany("INSERT INTO area_values (import_id, area_code, area_name, period, indicator_id, value, grp) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", [(cur.lastrowid, *r, group) for r in records])
    return result


def is_aggregate(area_code: str) -> bool:
    return area_code.startswith(AGGREGATE_PREFIXES)


def query(con: sqlite3.Connection, indicator_id: str, period: str | None = None) -> list[dict[str, Any]]:
    rows = con.execute("SELECT area_code, area_name, period, value, grp FROM current_area_values WHERE indicator_id = ? "
                       + ("AND period = ? " if period else "") + "ORDER BY period, area_code",
                       (indicator_id, period) if period else (indicator_id,))
    return [dict(r) for r in rows]
