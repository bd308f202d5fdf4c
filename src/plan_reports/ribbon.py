"""The Excel ribbon's Python side: one entry point, `dispatch(control_id)`, called by the add-in's only VBA callback.

Each button is a thin adapter: it reads what it needs from the calling workbook, calls the same core function as
the command line, and writes results back to Excel in one bulk range write. Nothing heavy is imported until a button
needs it, so a click starts fast. Errors reach the user as a plain message box; the traceback goes to a log file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

TITLE = "Strategic Plan"
# The subset of the xlwings object model the buttons use; tests check each exists on xlwings' real classes.
XLWINGS_SUBSET = {
    "Book": ("caller", "fullname", "name", "app", "sheets"),
    "App": ("status_bar", "alert", "books", "api"),
    "Books": ("add", "open"),
    "Sheet": ("name", "range", "autofit"),
    "Range": ("value",),
}


def log_path() -> Path:
    """The ribbon's error log, in the user's log folder (%LOCALAPPDATA%\\plan-reports\\Logs on Windows)."""
    from platformdirs import user_log_path

    return user_log_path("plan-reports", appauthor=False) / "ribbon.log"


def config_dir() -> Path | None:
    """Where the config is: PLAN_REPORTS_CONFIG, else what `plan-reports addin install --config` recorded."""
    env = os.environ.get("PLAN_REPORTS_CONFIG")
    if env:
        return Path(env)
    saved = Path.home() / ".plan-reports" / "config-path.txt"
    if saved.exists():
        return Path(saved.read_text(encoding="utf-8").strip())
    return None


class ExcelUI:
    """Questions asked through Excel itself (Windows COM); defaults are used where Excel cannot ask."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def ask_text(self, prompt: str, default: str) -> str | None:
        try:
            answer = self.app.api.InputBox(prompt, TITLE, default, Type=2)
        except Exception:
            return default
        return None if answer is False else str(answer).strip()

    def ask_folder(self, prompt: str, default: Path) -> Path | None:
        try:
            dialog = self.app.api.FileDialog(4)  # msoFileDialogFolderPicker
            dialog.Title = prompt
            dialog.InitialFileName = str(default)
            if dialog.Show() != -1:
                return None
            return Path(dialog.SelectedItems(1))
        except Exception:
            return default


def excel_text(value: Any) -> Any:
    """Text for a cell, never a formula: Excel would run "=..." or "+..." typed into a range as one."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _link(path: Path, sheet: str | None, cell: str | None) -> str:
    if not sheet or not cell:
        return ""
    target = f"[{path}]'{sheet}'!{cell.split(':')[0]}".replace('"', '""')
    return f'=HYPERLINK("{target}","Go to {sheet}!{cell}")'


def _results_book(book: Any, title: str, rows: list[list[Any]]) -> Any:
    """A new workbook holding `rows`, written in one range write."""
    out = book.app.books.add()
    sheet = out.sheets[0]
    sheet.name = title[:31]
    sheet.range("A1").value = rows
    sheet.autofit()
    return out


def _local_path(book: Any) -> Path:
    full = str(book.fullname)
    if full.startswith(("http://", "https://")):
        raise UserMessage("This workbook is open from SharePoint or OneDrive on the web, so there is no file to check. "
                          "Sync the library to this PC (or use File > Save a Copy to a local folder) and try again.")
    return Path(full)


class UserMessage(Exception):
    """Something the user can fix: shown as it is, without a traceback."""


def _config() -> Any:
    from plan_reports.config import load_config

    return load_config(config_dir())


def current_quarter(today: date) -> Any:
    from plan_reports.periods import Period

    return Period.containing(today)


def reporting_quarter(today: date) -> Any:
    """The quarter whose returns are being collected: the one before today's."""
    return current_quarter(today).previous()


def _progress(book: Any, label: str) -> Callable[[], None]:
    count = {"n": 0}

    def tick() -> None:
        count["n"] += 1
        book.app.status_bar = f"{TITLE}: {label} {count['n']}..."
    return tick


# ---- the buttons -------------------------------------------------------------------------------------------------

def validate_this(book: Any, ui: Any, today: date) -> dict[str, Any]:
    from plan_reports.validate import validate_file

    path = _local_path(book)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise UserMessage("Save this workbook as an Excel workbook (.xlsx) first: only saved returns can be checked.")
    book.app.status_bar = f"{TITLE}: checking {path.name}..."
    rep = validate_file(path, _config())
    rows: list[list[Any]] = [[f"Validation of {path.name}: " + ("VALID" if rep.valid else "NOT VALID"), "", "", "", "", ""],
                             ["Severity", "Code", "Sheet", "Cell", "What to fix", "Link"]]
    for i in rep.issues:
        rows.append([i.severity.value.title(), i.code, i.sheet or "", i.cell or "", excel_text(i.message),
                     _link(path, i.sheet, i.cell)])
    _results_book(book, "Validation", rows)
    return {"valid": rep.valid, "issues": len(rep.issues), "codes": sorted({i.code for i in rep.issues})}


def validate_folder(book: Any, ui: Any, today: date) -> dict[str, Any]:
    from plan_reports.validate import validate_paths

    cfg = _config()
    folder = ui.ask_folder("Folder of returns to check", Path(cfg.settings.inbox))
    if folder is None:
        return {"cancelled": True}
    reports = validate_paths([folder], cfg, progress=_progress(book, "checked"), use_cache=True)
    if not reports:
        raise UserMessage(f"There are no Excel workbooks in {folder}.")
    rows: list[list[Any]] = [["File", "Valid", "Department", "Period", "Errors", "Warnings", "First problem"]]
    for r in reports:
        errors = sum(1 for i in r.issues if i.severity.value == "error")
        first = excel_text(f"[{r.issues[0].code}] {r.issues[0].message}") if r.issues else ""
        rows.append([str(r.path), "Yes" if r.valid else "No", r.department or "", r.period or "", errors,
                     len(r.issues) - errors, first])
    _results_book(book, "Returns checked", rows)
    return {"files": len(reports), "valid": sum(r.valid for r in reports),
            "by_file": {r.path.name: sorted({i.code for i in r.issues}) for r in reports}}


def consolidate_period(book: Any, ui: Any, today: date) -> dict[str, Any]:
    from plan_reports.consolidate import consolidate
    from plan_reports.periods import Period, PeriodError
    from plan_reports.scheduler import inbox_for

    cfg = _config()
    answer = ui.ask_text("Which period? (e.g. 2025/26-Q2)", str(reporting_quarter(today)))
    if not answer:
        return {"cancelled": True}
    try:
        period = Period.parse(answer)
    except PeriodError as e:
        raise UserMessage(str(e)) from None
    folder = inbox_for(cfg, str(period))
    if not folder.is_dir():
        raise UserMessage(f"There is no folder of returns for {period} at {folder}.")
    res = consolidate(cfg, period, folder, Path(cfg.settings.store), Path(cfg.settings.outputs),
                      progress=_progress(book, "returns checked"), notify=lambda m: setattr(book.app, "status_bar", m),
                      use_cache=True)
    lines = [f"{s.department}{' ' + s.team if s.team else ''}: {s.status}" for s in res.statuses]
    book.app.alert(f"{period}: {res.new_submissions} new return(s) recorded.\n\n" + "\n".join(lines)
                   + f"\n\nConsolidated workbook: {res.workbook}", title=TITLE)
    return {"period": str(period), "workbook": res.workbook, "statuses": {s.department: s.status for s in res.statuses}}


def build_decks(book: Any, ui: Any, today: date) -> dict[str, Any]:
    from plan_reports.decks import write_decks

    cfg = _config()
    half = reporting_quarter(today).half()
    answer = ui.ask_text("Decks for which half-year? (e.g. 2025/26-H1)", str(half))
    if not answer:
        return {"cancelled": True}
    from plan_reports.periods import Period

    half = Period.parse(answer)
    out = Path(cfg.settings.outputs) / "decks"
    book.app.status_bar = f"{TITLE}: building decks for {half}..."
    written = write_decks(cfg, half, Path(cfg.settings.store), out)
    _open_folder(out)
    return {"decks": [str(p) for p in written]}


def make_trackers(book: Any, ui: Any, today: date) -> dict[str, Any]:
    from plan_reports.trackers import write_trackers

    cfg = _config()
    period = current_quarter(today)
    out = Path(cfg.settings.outputs) / "trackers" / str(period).replace("/", "-")
    store = Path(cfg.settings.store)
    written = write_trackers(cfg, period, out, store=store if store.exists() else None)
    book.app.alert(f"{len(written)} tracker(s) for {period} written to {out}.", title=TITLE)
    return {"period": str(period), "trackers": [str(p) for p in written]}


def open_consolidated(book: Any, ui: Any, today: date) -> dict[str, Any]:
    cfg = _config()
    found = sorted(Path(cfg.settings.outputs).glob("Consolidated_*.xlsx"))
    if not found:
        raise UserMessage(f"No consolidated workbook yet in {cfg.settings.outputs}: run Consolidate period first.")
    book.app.books.open(str(found[-1]))
    return {"opened": str(found[-1])}


def settings(book: Any, ui: Any, today: date) -> dict[str, Any]:
    from plan_reports import __version__

    cfg = _config()
    info = {"version": __version__, "config": str(cfg.root), "store": str(Path(cfg.settings.store).resolve()),
            "outputs": str(Path(cfg.settings.outputs).resolve()), "interpreter": sys.executable, "log": str(log_path())}
    book.app.alert("\n".join(f"{k}: {v}" for k, v in info.items()), title=f"{TITLE} settings")
    return info


def _open_folder(folder: Path) -> None:
    if sys.platform.startswith("win"):
        os.startfile(str(folder))  # type: ignore[attr-defined]
    elif sys.platform == "darwin":
        import subprocess

        subprocess.run(["open", str(folder)], check=False)


ACTIONS: dict[str, Callable[[Any, Any, date], dict[str, Any]]] = {
    "validate_this": validate_this, "validate_folder": validate_folder, "consolidate_period": consolidate_period,
    "build_decks": build_decks, "make_trackers": make_trackers, "open_consolidated": open_consolidated,
    "settings": settings,
}


def dispatch(control_id: str, book: Any = None, ui: Any = None, today: date | None = None) -> dict[str, Any] | None:
    """Run the button `control_id` for the calling workbook. Never raises into Excel."""
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    ui = ui or ExcelUI(book.app)
    try:
        action = ACTIONS.get(control_id)
        if action is None:
            raise UserMessage(f"The button '{control_id}' is not known to this version of plan-reports.")
        return action(book, ui, today or date.today())
    except UserMessage as e:
        book.app.alert(str(e), title=TITLE)
    except PermissionError as e:  # e.g. the consolidated workbook is open: a message, not an error report
        book.app.alert(str(e), title=TITLE)
    except BaseException as e:  # a reader's Rust panic is not an Exception: Excel must still get a message
        import traceback

        log = log_path()
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as f:
            f.write(f"--- {date.today()} {control_id}\n{traceback.format_exc()}\n")
        from plan_reports.config import ConfigError

        what = "The configuration has problems:\n" + "\n".join(map(str, e.problems[:5])) if isinstance(e, ConfigError) \
            else f"Something went wrong: {e}"
        book.app.alert(f"{what}\n\nDetails were written to {log}.", title=TITLE)
    finally:
        book.app.status_bar = False
    return None
