"""No upload can take a run down: every crafted form is refused by the real parsers before calamine sees it, and a
reader that crashes anyway (real or simulated) costs its own file an F013, under spawn, at every batch size."""

from __future__ import annotations

import io
import json
import resource
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from plan_reports.config import Config
from plan_reports.periods import Period
from plan_reports.validate import validate_files
from plan_reports.workers import Failed, isolated_map
from plan_reports.xlsx import ReadProblem, open_package

P = Period.parse("2025/26-Q2")
TODAY = date(2025, 10, 20)
ADDRESS_SPACE = 3 * 1024**3  # the acceptance's cap for a whole run


def rezip(valid: bytes, edit: Callable[[str, bytes], bytes] = lambda n, d: d,
          extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """A copy of a package with parts changed by `edit` and `extra` parts appended (zipfile writes duplicates)."""
    src = zipfile.ZipFile(io.BytesIO(valid))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            z.writestr(item, edit(item.filename, src.read(item)))
        for name, data in extra:
            z.writestr(name, data)
    return buf.getvalue()


def sheet_part(valid: bytes, sheet: str) -> str:
    """The part name of a sheet, from the workbook and its relationships (as a reader would resolve it)."""
    z = zipfile.ZipFile(io.BytesIO(valid))
    import xml.etree.ElementTree as ET

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rid = next(s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
               for s in ET.fromstring(z.read("xl/workbook.xml")).find("m:sheets", ns) if s.get("name") == sheet)
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def in_sheet(valid: bytes, sheet: str, before: bytes, insert: bytes) -> bytes:
    part = sheet_part(valid, sheet)
    return rezip(valid, lambda n, d: d.replace(before, insert + before, 1) if n == part else d)


FAR_ROW = b'<row r="200"><c r=\'XFD1048576\'><v>1</v></c></row>'


def crafted(valid: bytes) -> dict[str, tuple[bytes, str, str]]:
    """name -> (file bytes, expected code, words the message must contain)."""
    late_doctype = b"<!-- " + b"x" * 5000 + b' --><!DOCTYPE w [<!ENTITY a "b">]>'
    return {
        "single_quoted_r": (in_sheet(valid, "Indicators", b"</sheetData>", FAR_ROW), "F010", "XFD1048576"),
        "spaced_r": (in_sheet(valid, "Indicators", b"</sheetData>",
                              b'<row r="200"><c r = "XFD1048576"><v>1</v></c></row>'), "F010", "XFD1048576"),
        "row_without_r_far_down": (in_sheet(valid, "Indicators", b"</sheetData>",
                                            b'<row r="99999"><c><v>1</v></c></row><row><c><v>2</v></c></row>'),
                                   "F010", "A100000"),
        "cells_without_r_far_right": (in_sheet(valid, "Indicators", b"</sheetData>",
                                               b'<row r="500">' + b"<c><v>1</v></c>" * 800 + b"</row>"), "F010", "AAA500"),
        "late_doctype": (rezip(valid, lambda n, d: _after_declaration(d, late_doctype) if n == "xl/styles.xml" else d),
                         "F009", "xl/styles.xml"),
        "doctype_in_shared_strings": (_with_shared_strings(valid, b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM '
                                                                  b'"file:///etc/passwd">]><sst xmlns="http://schemas.'
                                                                  b'openxmlformats.org/spreadsheetml/2006/main" count="1">'
                                                                  b'<si><t>&x;</t></si></sst>'), "F009", "sharedStrings"),
        "duplicate_entries": (rezip(valid, extra=(("xl/workbook.xml", zipfile.ZipFile(io.BytesIO(valid)).read(
            "xl/workbook.xml")),)), "F003", "two parts named xl/workbook.xml"),
        "local_and_central_names_differ": (_rename_local(valid, sheet_part(valid, "Commitments")), "F003", "differ"),
        "far_corner_in_second_sheet": (in_sheet(valid, "Commitments", b"</sheetData>", FAR_ROW), "F010", "Commitments"),
        "far_corner_in_hidden_sheet": (in_sheet(valid, "_meta", b"</sheetData>", FAR_ROW), "F010", "_meta"),
        # found by the red team: each passed an earlier version of the checks
        "grid_too_large_from_a1": (in_sheet(valid, "Indicators", b"</sheetData>",
                                            b'<row r="99999"><c r="JZ99999"><v>1</v></c></row>'), "F010", "cells"),
        "leading_zeros_in_r": (in_sheet(valid, "Indicators", b"</sheetData>", b'<row r="60"><c r="G060"><f>1+1</f>'
                                        b'<v>2</v></c></row>'), "F003", "'G060'"),
        "unusual_sheet_path": (_retarget(valid, "Commitments", "/xl//worksheets/x.xml"), "F003", "unusual path"),
        "two_relationship_ids": (rezip(valid, lambda n, d: d.replace(b' name="Indicators"',
                                                                     b' id="rId999" name="Indicators"', 1)
                                       if n == "xl/workbook.xml" else d), "F003", "2 relationship ids"),
        "huge_string_table": (_with_shared_strings(valid, b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                                                          b'2006/main" count="4000000000" uniqueCount="4000000000">'
                                                          b'<si><t>x</t></si></sst>'), "F010", "4000000000"),
        "thousands_of_sheets": (rezip(valid, lambda n, d: d.replace(b"</sheets>", b"".join(
            b'<sheet name="S%d" sheetId="%d" r:id="rId1"/>' % (i, i + 100) for i in range(3000)) + b"</sheets>", 1)
            if n == "xl/workbook.xml" else d), "F010", "sheets; a tracker has five"),
    }


def _retarget(valid: bytes, sheet: str, target: str) -> bytes:
    """Point a sheet's relationship at `target`, a path that needs tidying, and put a far corner at that path."""
    part = sheet_part(valid, sheet)
    z = zipfile.ZipFile(io.BytesIO(valid))
    extra = z.read(part).replace(b"</sheetData>", FAR_ROW + b"</sheetData>", 1)
    rels = z.read("xl/_rels/workbook.xml.rels")
    old = ("/" + part).encode() if ("/" + part).encode() in rels else part.removeprefix("xl/").encode()
    return rezip(valid, lambda n, d: d.replace(b'"' + old + b'"', b'"' + target.encode() + b'"')
                 if n == "xl/_rels/workbook.xml.rels" else d, extra=((target.lstrip("/"), extra),))


def _after_declaration(xml: bytes, insert: bytes) -> bytes:
    if xml.startswith(b"<?xml"):
        end = xml.index(b"?>") + 2
        return xml[:end] + insert + xml[end:]
    return insert + xml


def _with_shared_strings(valid: bytes, xml: bytes) -> bytes:
    """The package with `xml` as its shared strings (replacing them, or added where the writer used inline ones)."""
    if "xl/sharedStrings.xml" in zipfile.ZipFile(io.BytesIO(valid)).namelist():
        return rezip(valid, lambda n, d: xml if n == "xl/sharedStrings.xml" else d)
    return rezip(valid, extra=(("xl/sharedStrings.xml", xml),))


def _rename_local(valid: bytes, part: str) -> bytes:
    """The local header of `part` names another part of the same length: the central directory and it disagree."""
    data = bytearray(valid)
    at = data.find(b"PK\x03\x04")
    name = part.encode()
    while at != -1:
        n = int.from_bytes(data[at + 26:at + 28], "little")
        if data[at + 30:at + 30 + n] == name:
            data[at + 30 + n - 5] = ord("9")  # sheet2.xml -> sheet9.xml
            return bytes(data)
        at = data.find(b"PK\x03\x04", at + 4)
    raise AssertionError(f"no local header for {part}")


@pytest.fixture(scope="module")
def valid(samples: dict[str, Path]) -> bytes:
    return samples["PH"].read_bytes()


def test_the_parts_the_crafted_forms_edit_exist(valid: bytes) -> None:
    """The crafted forms above edit these parts; if a generator change dropped one, those tests would test nothing."""
    names = zipfile.ZipFile(io.BytesIO(valid)).namelist()
    assert {"xl/styles.xml", sheet_part(valid, "Commitments"), sheet_part(valid, "_meta")} <= set(names)


@pytest.mark.parametrize("form", [
    "single_quoted_r", "spaced_r", "row_without_r_far_down", "cells_without_r_far_right", "late_doctype",
    "doctype_in_shared_strings", "duplicate_entries", "local_and_central_names_differ", "far_corner_in_second_sheet",
    "far_corner_in_hidden_sheet", "grid_too_large_from_a1", "leading_zeros_in_r", "unusual_sheet_path",
    "two_relationship_ids", "huge_string_table", "thousands_of_sheets"])
def test_each_crafted_form_is_refused_by_the_parsers(valid: bytes, tmp_path: Path, form: str) -> None:
    data, code, words = crafted(valid)[form]
    assert data != valid
    path = tmp_path / "Tracker_PH_2025-26-Q2.xlsx"
    path.write_bytes(data)
    with pytest.raises(ReadProblem) as e:
        open_package(path)
    assert e.value.code == code and words in e.value.message, e.value.message


def test_a_genuine_workbook_passes_and_its_extent_is_the_parsed_one(samples: dict[str, Path]) -> None:
    import openpyxl

    pkg = open_package(samples["PH"])
    wb = openpyxl.load_workbook(samples["PH"])
    for name, scan in pkg.sheets.items():
        ws = wb[name]
        cells = [c for row in ws.iter_rows() for c in row if c.value is not None or c.has_style]
        assert scan.rows >= max((c.row for c in cells), default=0)
        assert scan.cols >= max((c.column for c in cells), default=0)


# --- reader crashes, real and simulated, in spawned workers ------------------------------------------------------


def _read_unchecked(path: str) -> int:
    """Hand calamine a file without the package checks, as the old sheet scan did for a single-quoted far cell."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    return len(wb.get_sheet_by_name("Indicators").to_python())


def _raise_base_exception(x: int) -> int:
    class PanicException(BaseException):  # what pyo3 raises for a Rust panic: not an Exception
        pass

    if x == 3:
        raise PanicException("index out of bounds")
    return x * 2


def test_a_real_calamine_abort_costs_only_its_own_item(valid: bytes, tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    good.write_bytes(valid)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(crafted(valid)["single_quoted_r"][0])
    items = [str(good), str(bad), str(good)]
    got = dict(isolated_map(_read_unchecked, items, workers=2))
    assert isinstance(got[1], Failed) and "stopped abruptly" in got[1].why
    assert got[0] == got[2] and got[0] > 0


def test_base_exceptions_and_errors_are_failures_of_their_item_only() -> None:
    got = dict(isolated_map(_raise_base_exception, list(range(6)), workers=2))
    assert isinstance(got[3], Failed) and "PanicException" in got[3].why
    assert {i: v for i, v in got.items() if i != 3} == {i: i * 2 for i in range(6) if i != 3}


def _sleep_if_two(x: int) -> int:
    import time

    if x == 2:
        time.sleep(60)
    return x


def test_a_hung_reader_is_stopped_and_reported() -> None:
    got = dict(isolated_map(_sleep_if_two, [0, 1, 2, 3], workers=2, timeout=3))
    assert isinstance(got[2], Failed) and "no result after 3 seconds" in got[2].why
    assert {i: got[i] for i in (0, 1, 3)} == {0: 0, 1: 1, 3: 3}


def _allocate(x: int) -> int:
    if x == 1:
        blob = bytearray(2 * 1024**3)  # beyond the worker's cap
        return len(blob)
    return x


def test_the_memory_cap_stops_a_greedy_read() -> None:
    got = dict(isolated_map(_allocate, [0, 1, 2], workers=2, memory_bytes=1024**3))
    assert isinstance(got[1], Failed) and "MemoryError" in got[1].why
    assert got[0] == 0 and got[2] == 2


@pytest.mark.parametrize("how", ["abort", "panic"])
@pytest.mark.parametrize("batch", [1, 7])
def test_a_reader_crash_in_validate_is_f013_for_that_file_alone(config: Config, samples: dict[str, Path], tmp_path: Path,
                                                                crash_hook: Callable[[str, str], None], how: str,
                                                                batch: int) -> None:
    good = [Path(shutil.copy2(p, tmp_path / p.name)) for p in list(samples.values())[:batch - 1]]
    victim = Path(shutil.copy2(samples["PH"], tmp_path / "crash_me.xlsx"))
    files = [*good[:3], victim, *good[3:]]
    crash_hook(how, victim.name)
    reports = validate_files(files, config, expected_period=P, today=TODAY, workers=2)
    assert [r.path for r in reports] == files
    by_name = {r.path.name: r for r in reports}
    crashed = by_name.pop(victim.name)
    assert [i.code for i in crashed.issues] == ["F013"] and not crashed.readable
    assert ("stopped abruptly" if how == "abort" else "PanicException") in crashed.issues[0].message
    assert len(by_name) == batch - 1 and all(r.valid for r in by_name.values())


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _consolidate(inbox: Path, store: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plan_reports", "consolidate", "--period", str(P), "--submissions",
                           str(inbox), "--store", str(store), "--out", str(out), "--json"],
                          capture_output=True, text=True, preexec_fn=_capped, timeout=600)


@pytest.mark.parametrize("good", [0, 6])
def test_consolidate_with_a_crafted_file_records_every_good_return(samples: dict[str, Path], tmp_path: Path,
                                                                   valid: bytes, good: int) -> None:
    """The acceptance: a crafted file among good returns; exit 1, every good one accepted, no traceback, 3 GB cap."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    depts = [d for d in samples if d != "PH"][:good]
    for d in depts:
        shutil.copy2(samples[d], inbox / samples[d].name)
    (inbox / "Tracker_PH_2025-26-Q2.xlsx").write_bytes(crafted(valid)["single_quoted_r"][0])
    proc = _consolidate(inbox, tmp_path / "h.sqlite", tmp_path / "out")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    status = {s["department"]: s for s in data["returns"]}
    assert all(status[d]["status"].startswith("Accepted") for d in depts)
    assert not status["PH"]["status"].startswith("Accepted")
    files = {Path(f["path"]).name: f for f in data["files"]}
    codes = [i["code"] for i in files["Tracker_PH_2025-26-Q2.xlsx"]["issues"]]
    assert codes == ["F010"]


def test_consolidate_200_returns_with_one_crafted_file(config: Config, tmp_path: Path, valid: bytes) -> None:
    """The acceptance at batch 200: 199 team returns and one crafted file, under a 3 GB address-space cap."""
    from plan_reports.samples import write_samples

    inbox = tmp_path / "inbox"
    good = write_samples(config, P, inbox, seed=5, count=199)
    crafted_file = inbox / "Tracker_PH_2025-26-Q2.xlsx"
    crafted_file.write_bytes(crafted(valid)["spaced_r"][0])
    proc = _consolidate(inbox, tmp_path / "h.sqlite", tmp_path / "out")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    files = {Path(f["path"]).name: f for f in data["files"]}
    assert len(files) == 200
    assert [i["code"] for i in files[crafted_file.name]["issues"]] == ["F010"]
    assert all(files[p.name]["valid"] for p in good)
    shown = {s["file_name"]: s for s in data["returns"] if s["file_name"]}
    assert all(shown[p.name]["status"].startswith("Accepted") for p in good if p.name in shown)
    assert data["new_submissions"] == 200
