"""The Excel add-in, without Excel: ribbon XML, VBA callbacks, Python targets, and every button on a test double."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from plan_reports import ribbon
from plan_reports.addin import TEMPLATES, build, conf_text, inject_ribbon, install
from plan_reports.config import Config

NS = {"c": "http://schemas.microsoft.com/office/2009/07/customui"}


# ---- a test double of the xlwings subset the buttons use ------------------------------------------------------

class FakeRange:
    def __init__(self, sheet: FakeSheet, address: str) -> None:
        self.sheet, self.address = sheet, address

    @property
    def value(self) -> Any:
        return self.sheet.cells.get(self.address)

    @value.setter
    def value(self, v: Any) -> None:
        self.sheet.writes.append((self.address, v))
        self.sheet.cells[self.address] = v


class FakeSheet:
    def __init__(self, name: str = "Sheet1") -> None:
        self.name, self.cells, self.writes, self.autofitted = name, {}, [], False

    def range(self, address: str) -> FakeRange:
        return FakeRange(self, address)

    def autofit(self) -> None:
        self.autofitted = True


class FakeBook:
    def __init__(self, app: FakeApp, fullname: str = "Book1") -> None:
        self.app, self.fullname, self.name = app, fullname, Path(fullname).name
        self.sheets = [FakeSheet()]

    @classmethod
    def caller(cls) -> FakeBook:
        raise AssertionError("tests pass the book explicitly")


class FakeBooks:
    def __init__(self, app: FakeApp) -> None:
        self.app, self.added, self.opened = app, [], []

    def add(self) -> FakeBook:
        b = FakeBook(self.app)
        self.added.append(b)
        return b

    def open(self, path: str) -> FakeBook:
        self.opened.append(path)
        return FakeBook(self.app, path)


class FakeApp:
    def __init__(self) -> None:
        self.status_bar: Any = None
        self.status_history: list[Any] = []
        self.alerts: list[str] = []
        self.books = FakeBooks(self)
        self.api = None

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "status_bar" and hasattr(self, "status_history"):
            self.status_history.append(value)
        object.__setattr__(self, key, value)

    def alert(self, prompt: str, title: str | None = None, **_: Any) -> None:
        self.alerts.append(prompt)


class FakeUI:
    def __init__(self, text: str | None = None, folder: Path | None = None) -> None:
        self.text, self.folder = text, folder

    def ask_text(self, prompt: str, default: str) -> str | None:
        return self.text if self.text is not None else default

    def ask_folder(self, prompt: str, default: Path) -> Path | None:
        return self.folder


def test_the_double_covers_the_subset_and_the_subset_exists_on_xlwings() -> None:
    import xlwings as xw
    from xlwings import main as xw_main

    real = {"Book": xw.Book, "App": xw.App, "Books": xw_main.Books, "Sheet": xw.Sheet, "Range": xw.Range}
    ours = {"Book": FakeBook(FakeApp()), "App": FakeApp(), "Books": FakeBooks(FakeApp()), "Sheet": FakeSheet(),
            "Range": FakeRange(FakeSheet(), "A1")}
    for cls, attrs in ribbon.XLWINGS_SUBSET.items():
        for a in attrs:
            assert hasattr(real[cls], a), f"xlwings.{cls} has no {a}"
            assert hasattr(ours[cls], a) or (cls, a) == ("Book", "caller"), f"the double's {cls} lacks {a}"


# ---- the add-in's source ---------------------------------------------------------------------------------------

def test_ribbon_xml_is_well_formed_and_every_callback_exists_in_vba() -> None:
    tree = ElementTree.parse(TEMPLATES / "customUI14.xml")
    buttons = tree.getroot().findall(".//c:button", NS)
    assert tree.getroot().find(".//c:tab", NS).get("label") == "Strategic Plan"
    assert len(buttons) == 7
    vba = (TEMPLATES / "PlanReports.bas").read_text()
    subs = set(re.findall(r"(?m)^Sub (\w+)\(control As IRibbonControl\)", vba))
    assert {b.get("onAction") for b in buttons} <= subs
    assert {b.get("id") for b in buttons} == set(ribbon.ACTIONS)


def test_every_python_target_named_by_the_vba_is_importable_and_callable() -> None:
    vba = (TEMPLATES / "PlanReports.bas").read_text()
    calls = re.findall(r'RunPython "import ([\w.]+) as (\w+); \2\.(\w+)\(', vba)
    assert calls
    for module, _alias, func in calls:
        assert callable(getattr(importlib.import_module(module), func))


def test_ribbon_module_imports_nothing_heavy() -> None:
    code = ("import sys, plan_reports.ribbon; "
            "print(sorted(m for m in ('xlwings','pydantic','pandas','openpyxl','pptx','yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---- every button, on the double, against the CLI ---------------------------------------------------------------

@pytest.fixture
def setup(config: Config, samples: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg_dir = tmp_path / "config"
    shutil.copytree(config.root, cfg_dir)
    settings = cfg_dir / "settings.yaml"
    text = settings.read_text()
    for key, value in (("store", tmp_path / "store.sqlite"), ("outputs", tmp_path / "out"), ("inbox", tmp_path / "inbox")):
        text = text.replace(f"\n{key}: ", f"\n{key}: {value}  # was: ", 1)
    settings.write_text(text)
    monkeypatch.setenv("PLAN_REPORTS_CONFIG", str(cfg_dir))
    inbox = tmp_path / "inbox" / "2025-26-Q2"
    inbox.mkdir(parents=True)
    for p in samples.values():
        shutil.copy2(p, inbox / p.name)
    return cfg_dir, inbox


def cli(*args: str, cfg_dir: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "plan_reports", "--config", str(cfg_dir), *args, "--json"],
                          capture_output=True, text=True)
    return json.loads(proc.stdout)


def test_validate_this_matches_the_cli_and_writes_once(setup, tmp_path: Path) -> None:
    cfg_dir, inbox = setup
    import openpyxl

    target = inbox / "Tracker_ET_2025-26-Q2.xlsx"
    wb = openpyxl.load_workbook(target)
    wb["Indicators"]["G5"] = "=cmd|' /C calc'!A0"  # G: this period's value
    wb["Indicators"]["G6"] = "n/a"
    wb.save(target)
    before = target.read_bytes()
    app = FakeApp()
    result = ribbon.dispatch("validate_this", FakeBook(app, str(target)), FakeUI(), date(2025, 10, 20))
    expected = cli("validate", str(target), cfg_dir=cfg_dir)["files"][0]
    assert result["codes"] == sorted({i["code"] for i in expected["issues"]}) and result["valid"] is False
    sheet = app.books.added[0].sheets[0]
    assert len(sheet.writes) == 1 and sheet.writes[0][0] == "A1"  # one bulk write
    rows = sheet.writes[0][1]
    assert [r[1] for r in rows[2:]] == [i["code"] for i in expected["issues"]]
    assert all(not str(r[4]).startswith(("=", "+", "-", "@")) for r in rows[2:])  # messages are text
    assert rows[2][5].startswith('=HYPERLINK("[') and sheet.name == "Validation"
    assert target.read_bytes() == before  # the submission is not modified or saved
    assert app.status_history[-1] is False  # the status bar is handed back


def test_validate_folder_matches_the_cli(setup) -> None:
    cfg_dir, inbox = setup
    app = FakeApp()
    result = ribbon.dispatch("validate_folder", FakeBook(app, "x.xlsx"), FakeUI(folder=inbox))
    expected = cli("validate", str(inbox), cfg_dir=cfg_dir)
    assert result["files"] == len(expected["files"]) == 6
    assert result["by_file"] == {Path(f["path"]).name: sorted({i["code"] for i in f["issues"]}) for f in expected["files"]}
    assert any(str(s).startswith("Strategic Plan: checked") for s in app.status_history)


def test_consolidate_matches_the_cli(setup, tmp_path: Path) -> None:
    cfg_dir, inbox = setup
    app = FakeApp()
    result = ribbon.dispatch("consolidate_period", FakeBook(app, "x.xlsx"), FakeUI(text="2025/26-Q2"), date(2025, 11, 1))
    assert result is not None and Path(result["workbook"]).exists() and app.alerts and "new return(s)" in app.alerts[0]
    expected = cli("consolidate", "--period", "2025/26-Q2", "--submissions", str(inbox), cfg_dir=cfg_dir)
    assert result["statuses"] == {r["department"]: r["status"] for r in expected["returns"]}
    opened = ribbon.dispatch("open_consolidated", FakeBook(app, "x.xlsx"), FakeUI())
    assert app.books.opened == [opened["opened"]]


def test_decks_trackers_and_settings(setup, demo) -> None:
    cfg_dir, _ = setup
    settings = cfg_dir / "settings.yaml"
    settings.write_text(settings.read_text().replace(f"store: {Path(settings.parent.parent / 'store.sqlite')}",
                                                     f"store: {demo.store}"))
    app = FakeApp()
    decks = ribbon.dispatch("build_decks", FakeBook(app, "x.xlsx"), FakeUI(text="2025/26-H1"))
    assert decks is not None and len(decks["decks"]) == 6
    trackers = ribbon.dispatch("make_trackers", FakeBook(app, "x.xlsx"), FakeUI(), date(2025, 10, 2))
    assert trackers["period"] == "2025/26-Q3" and len(trackers["trackers"]) == 6
    info = ribbon.dispatch("settings", FakeBook(app, "x.xlsx"), FakeUI())
    assert info["interpreter"] == sys.executable and info["config"] == str(cfg_dir)


def test_errors_become_a_message_and_a_log_entry(setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "appdata"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = FakeApp()
    assert ribbon.dispatch("no_such_button", FakeBook(app, "x.xlsx"), FakeUI()) is None
    assert "not known" in app.alerts[-1]
    web = FakeBook(app, "https://council.sharepoint.com/sites/perf/Tracker_ET.xlsx")
    ribbon.dispatch("validate_this", web, FakeUI())
    assert "SharePoint or OneDrive" in app.alerts[-1]
    monkeypatch.setenv("PLAN_REPORTS_CONFIG", str(tmp_path / "missing-config"))
    ribbon.dispatch("settings", FakeBook(app, "x.xlsx"), FakeUI())
    assert "configuration has problems" in app.alerts[-1] and "Traceback" not in app.alerts[-1]
    assert "Traceback" in ribbon.log_path().read_text()


def test_excel_text_never_runs_user_text() -> None:
    assert ribbon.excel_text("=SUM(A1)") == "'=SUM(A1)" and ribbon.excel_text("@x") == "'@x"
    assert ribbon.excel_text("fine") == "fine" and ribbon.excel_text(3) == 3


# ---- build and install --------------------------------------------------------------------------------------------

def test_build_writes_the_kit_and_says_excel_is_needed(tmp_path: Path) -> None:
    res = build(tmp_path / "kit", use_excel=False)
    assert res.xlam is None and "Excel is needed" in res.note
    assert {p.name for p in res.files} == {"customUI14.xml", "PlanReports.bas", "build_addin.ps1", "xlwings_custom_addin.bas",
                                           "xlwings.conf"}
    assert "Public Function RunPython(" in (tmp_path / "kit" / "xlwings_custom_addin.bas").read_text(errors="replace")


def test_ribbon_injection_into_an_add_in_package(tmp_path: Path) -> None:
    import xlwings

    xlam = tmp_path / "PlanReports.xlam"
    shutil.copy2(Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam", xlam)
    inject_ribbon(xlam, (TEMPLATES / "customUI14.xml").read_bytes())
    inject_ribbon(xlam, (TEMPLATES / "customUI14.xml").read_bytes())  # idempotent
    with zipfile.ZipFile(xlam) as z:
        names = z.namelist()
        rels = z.read("_rels/.rels").decode()
        assert "customUI/customUI14.xml" in names and "customUI/customUI.xml" not in names
        assert rels.count("ui/extensibility") == 1 and "xl/vbaProject.bin" in names
        ElementTree.fromstring(z.read("customUI/customUI14.xml"))


def test_install_per_user_with_an_interpreter_path_with_spaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    xlam = tmp_path / "PlanReports.xlam"
    xlam.write_bytes(b"PK fake add-in")
    res = install(xlam, target_dir=tmp_path / "XLSTART", config=tmp_path / "cfg",
                  interpreter=r"C:\Program Files\Council Python\python.exe")
    assert res.xlam.read_bytes() == b"PK fake add-in"
    conf = res.xlwings_conf.read_text()
    assert '"INTERPRETER_WIN","C:\\Program Files\\Council Python\\python.exe"' in conf
    assert res.config_record.read_text() == str((tmp_path / "cfg").resolve())
    install(xlam, target_dir=tmp_path / "XLSTART", config=tmp_path / "cfg", interpreter="/usr/bin/python3")
    assert res.xlwings_conf.read_text().count("INTERPRETER_WIN") == 1  # replaced, not appended


def test_conf_text_quotes_values() -> None:
    assert '"INTERPRETER_MAC","/Users/me/My Env/bin/python"' in conf_text("/Users/me/My Env/bin/python")


def test_a_panic_in_an_action_is_a_message_not_a_dead_excel(setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class PanicException(BaseException):  # what pyo3 raises for a Rust panic: not an Exception
        pass

    def panics(book: object, ui: object, today: object) -> None:
        raise PanicException("index out of bounds")

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setitem(ribbon.ACTIONS, "validate_this", panics)
    app = FakeApp()
    assert ribbon.dispatch("validate_this", FakeBook(app, "x.xlsx"), FakeUI()) is None
    assert "Something went wrong: index out of bounds" in app.alerts[-1] and app.status_bar is False
    assert "PanicException" in ribbon.log_path().read_text()
