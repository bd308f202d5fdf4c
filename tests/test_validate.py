from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from plan_reports.config import Config
from plan_reports.issues import Issue
from plan_reports.periods import Period
from plan_reports.trackers import COMMITMENT_COLUMNS, FIRST_ROW, SHEET_COMMITMENTS, SHEET_INDICATORS, col_letter, indicator_columns
from plan_reports.validate import FileReport, annotate, find_submissions, validate_file

P = Period.parse("2025/26-Q2")
ICOLS = indicator_columns(P)
TODAY = date(2025, 10, 20)


def icell(key: str, row: int) -> str:
    return f"{col_letter(ICOLS, key)}{row}"


def ccell(key: str, row: int) -> str:
    return f"{col_letter(COMMITMENT_COLUMNS, key)}{row}"


def row_of(ws: Any, ident: str) -> int:
    r = FIRST_ROW
    while ws.cell(r, 1).value != ident:
        r += 1
    return r


def edited(src: Path, tmp: Path, fn: Any, name: str | None = None) -> Path:
    wb = openpyxl.load_workbook(src)
    fn(wb)
    out = tmp / (name or src.name)
    wb.save(out)
    return out


def check(cfg: Config, path: Path, **kw: Any) -> FileReport:
    return validate_file(path, cfg, today=kw.pop("today", TODAY), **kw)


def codes_at(rep: FileReport) -> set[tuple[str, str | None, str | None]]:
    return {(i.code, i.sheet, i.cell) for i in rep.issues}


def test_sample_submissions_are_valid(config: Config, samples: dict[str, Path]) -> None:
    for dept, path in samples.items():
        rep = check(config, path)
        assert rep.valid, [i for i in rep.issues if i.severity.value == "error"]
        assert rep.department == dept and rep.period == "2025/26-Q2"
        assert len(rep.indicators) == sum(1 for _, _, i in config.plans["2022-26"].indicators() if i.department == dept)


def set_ind(ident: str, key: str, value: Any) -> Any:
    def fn(wb: Any) -> None:
        ws = wb[SHEET_INDICATORS]
        ws[icell(key, row_of(ws, ident))] = value
    return fn


def set_many(*fns: Any) -> Any:
    def fn(wb: Any) -> None:
        for f in fns:
            f(wb)
    return fn


def set_com(ident: str, **values: Any) -> Any:
    def fn(wb: Any) -> None:
        ws = wb[SHEET_COMMITMENTS]
        r = row_of(ws, ident)
        for k, v in values.items():
            ws[ccell(k, r)] = v
    return fn


# ET indicators: CG1-01 percent (baseline 45), SW1-03 count (KSI), CG3-01 percent rate (numerator/denominator)
@pytest.mark.parametrize(
    ("edit", "code", "severity", "key", "ident"),
    [
        (set_ind("SW1-03", "value", "about 40"), "C001", "error", "value", "SW1-03"),
        (set_ind("SW1-03", "value", "9" * 400), "C001", "error", "value", "SW1-03"),  # not infinity (red team)
        (set_ind("SW1-03", "value", "120"), "C002", "warning", "value", "SW1-03"),
        (set_ind("SW1-03", "value", "1,234"), "C003", "warning", "value", "SW1-03"),
        (set_ind("SW1-03", "value", "n/a"), "C004", "error", "value", "SW1-03"),
        (set_ind("SW1-03", "value", "-"), "C004", "error", "value", "SW1-03"),
        (set_ind("SW1-03", "value", "tbc"), "C004", "error", "value", "SW1-03"),
        (set_ind("SW1-03", "value", "31/03/2026"), "C001", "error", "value", "SW1-03"),  # a date, not a number
        (set_ind("SW1-03", "value", -5), "C006", "error", "value", "SW1-03"),
        (set_ind("CG1-01", "value", 140), "C006", "error", "value", "CG1-01"),
        (set_ind("SW1-03", "value", 12.5), "C007", "warning", "value", "SW1-03"),
        (set_ind("CG1-03", "value", 780), "C018", "warning", "value", "CG1-03"),  # per 100,000: plausible 0-300
        (set_ind("CG1-01", "value", 0.46), "C008", "warning", "value", "CG1-01"),
        (set_ind("SW1-03", "value", "#DIV/0!"), "C009", "error", "value", "SW1-03"),
        (set_ind("SW1-03", "value", "=2+2"), "C010", "error", "value", "SW1-03"),
        (set_ind("SW1-03", "data_status", "Nearly final"), "C012", "error", "data_status", "SW1-03"),
        (set_many(set_ind("SW1-03", "value", None), set_ind("SW1-03", "data_status", None)), "X001", "error", "value", "SW1-03"),
        (set_many(set_ind("CG1-01", "value", 10), set_ind("CG1-01", "target", 50), set_ind("CG1-01", "commentary", None)),
         "X002", "error", "commentary", "CG1-01"),
        (set_many(set_ind("CG1-01", "value", 95), set_ind("CG1-01", "target", None)), "X006", "warning", "value", "CG1-01"),
        (set_many(set_ind("CG3-01", "value", 50.0), set_ind("CG3-01", "numerator", 100), set_ind("CG3-01", "denominator", 400)),
         "X007", "error", "value", "CG3-01"),
        (set_many(set_ind("CG3-01", "numerator", 100), set_ind("CG3-01", "denominator", None)), "X008", "error", "denominator",
         "CG3-01"),
    ],
)
def test_indicator_cell_checks(config: Config, samples: dict[str, Path], tmp_path: Path, edit: Any, code: str,
                               severity: str, key: str, ident: str) -> None:
    path = edited(samples["ET"], tmp_path, edit)
    rep = check(config, path)
    ws = openpyxl.load_workbook(path)[SHEET_INDICATORS]
    hits = [i for i in rep.issues if i.code == code]
    assert hits, rep.issues
    assert (hits[0].sheet, hits[0].cell, hits[0].severity.value) == (SHEET_INDICATORS, icell(key, row_of(ws, ident)), severity)
    assert rep.valid == (severity == "warning" and all(i.severity.value == "warning" for i in rep.issues))


def test_values_are_resolved_not_just_flagged(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    path = edited(samples["ET"], tmp_path, set_many(set_ind("SW1-03", "value", "1,234"), set_ind("CG1-01", "value", 0.46),
                                                    set_ind("CG1-01", "target", None)))
    got = {r.indicator_id: r.value for r in check(config, path).indicators}
    assert got["SW1-03"] == 1234 and got["CG1-01"] == pytest.approx(46)


def test_percent_typed_as_text_and_ambiguous_fraction(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    path = edited(samples["ET"], tmp_path, set_many(set_ind("CG1-01", "value", "45%"), set_ind("CG2-01", "value", 0.3)))
    rep = check(config, path)
    got = {r.indicator_id: r.value for r in rep.indicators}
    assert got["CG1-01"] == 45
    c08 = [i for i in rep.issues if i.code == "C008"]
    assert (c08 and "ambiguous" in c08[0].message.lower()) or got["CG2-01"] == pytest.approx(30)


@pytest.mark.parametrize(
    ("values", "code", "severity", "key"),
    [
        ({"status": "Sort of fine"}, "C012", "error", "status"),
        ({"percent_complete": 1.5, "status": "On track"}, "C008", "warning", "percent_complete"),
        ({"percent_complete": "150%"}, "C013", "error", "percent_complete"),
        ({"start_date": "31/02/2026"}, "C014", "error", "start_date"),
        ({"start_date": "01/04/2025"}, "C005", "warning", "start_date"),
        ({"status": "Major disruption", "challenges": None}, "X003", "error", "challenges"),
        ({"status": "Completed", "completion_date": None, "percent_complete": 1}, "X004", "error", "completion_date"),
        ({"status": "Completed", "completion_date": date(2025, 9, 1), "percent_complete": 0.8}, "X004", "error",
         "percent_complete"),
        ({"status": "On track", "target_date": date(2025, 5, 1), "start_date": date(2024, 5, 1)}, "X005", "warning",
         "target_date"),
        ({"start_date": date(2025, 6, 1), "completion_date": date(2025, 5, 1), "status": "Completed", "percent_complete": 1},
         "X011", "error", "completion_date"),
        ({"status": None}, "X012", "error", "status"),
    ],
)
def test_commitment_checks(config: Config, samples: dict[str, Path], tmp_path: Path, values: dict[str, Any], code: str,
                           severity: str, key: str) -> None:
    path = edited(samples["ET"], tmp_path, set_com("CG2.C01", **values))
    rep = check(config, path)
    r = row_of(openpyxl.load_workbook(path)[SHEET_COMMITMENTS], "CG2.C01")
    assert (code, SHEET_COMMITMENTS, ccell(key, r)) in codes_at(rep), rep.issues
    assert next(i for i in rep.issues if i.code == code).severity.value == severity


def test_merged_cells(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    path = edited(samples["ET"], tmp_path, lambda wb: wb[SHEET_INDICATORS].merge_cells("S6:T7"))
    assert ("C011", SHEET_INDICATORS, "S6:T7") in codes_at(check(config, path))


def _rows_fn(fn: Any) -> Any:
    return lambda wb: fn(wb[SHEET_INDICATORS])


def _swap(ws: Any) -> None:
    a, b = FIRST_ROW, FIRST_ROW + 1
    for c in range(1, len(ICOLS) + 1):
        ws.cell(a, c).value, ws.cell(b, c).value = ws.cell(b, c).value, ws.cell(a, c).value


def _add(ws: Any) -> None:
    last = FIRST_ROW
    while ws.cell(last + 1, 1).value:
        last += 1
    ws.cell(last + 1, 1, "MY-01")
    ws.cell(last + 1, 2, "An extra indicator")
    ws.cell(last + 2, 2, "notes without an id")


@pytest.mark.parametrize(
    ("fn", "code", "cell"),
    [
        (_add, "S010", None),
        (lambda ws: ws.delete_rows(FIRST_ROW + 2), "S011", None),
        (_swap, "S012", f"A{FIRST_ROW}"),
        (lambda ws: ws.cell(FIRST_ROW, 1, "SW4-01"), "S013", f"A{FIRST_ROW}"),
        (lambda ws: ws.cell(FIRST_ROW + 1, 1, ws.cell(FIRST_ROW, 1).value), "S014", f"A{FIRST_ROW + 1}"),
        (lambda ws: ws.cell(4, ICOLS.index(next(c for c in ICOLS if c.key == "target")) + 1, "Goal"), "S009", None),
        (lambda ws: ws.insert_cols(3), "S016", None),
    ],
)
def test_row_and_column_structure(config: Config, samples: dict[str, Path], tmp_path: Path, fn: Any, code: str,
                                  cell: str | None) -> None:
    rep = check(config, edited(samples["ET"], tmp_path, _rows_fn(fn)))
    hits = [i for i in rep.issues if i.code == code]
    assert hits and not rep.valid, rep.issues
    if cell:
        assert hits[0].cell == cell and hits[0].sheet == SHEET_INDICATORS
    if code == "S013":
        assert "AC" in hits[0].message  # names the department that owns it


def _set_meta(key: str, value: str) -> Any:
    def fn(wb: Any) -> None:
        for p in wb.custom_doc_props.props:
            if p.name == f"pr_{key}":
                p.value = value
    return fn


@pytest.mark.parametrize(
    ("fn", "code", "kw"),
    [
        (_set_meta("template_version", "0.3"), "S002", {}),
        (_set_meta("plan_id", "2030-34"), "S003", {}),
        (_set_meta("department", "HR"), "S004", {}),
        (_set_meta("period", "Q2 2025"), "S005", {}),
        (_set_meta("period", "2019/20-Q2"), "S006", {}),
        (lambda wb: None, "S007", {"expected_period": Period.parse("2025/26-Q3")}),
        (lambda wb: wb.remove(wb[SHEET_COMMITMENTS]), "S008", {}),
    ],
)
def test_metadata_and_sheets(config: Config, samples: dict[str, Path], tmp_path: Path, fn: Any, code: str, kw: dict) -> None:
    rep = check(config, edited(samples["ET"], tmp_path, fn), **kw)
    assert code in {i.code for i in rep.issues} and not rep.valid


def test_not_a_tracker(config: Config, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "My own summary"
    wb.save(tmp_path / "mine.xlsx")
    rep = check(config, tmp_path / "mine.xlsx")
    assert [i.code for i in rep.issues] == ["S001"]


def test_metadata_is_read_from_document_properties(samples: dict[str, Path]) -> None:
    from plan_reports.xlsx import open_package

    props = open_package(samples["ET"]).custom_props
    assert props["pr_department"] == "ET" and props["pr_period"] == "2025/26-Q2"


def test_metadata_falls_back_to_the_hidden_sheet(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    def strip(wb: Any) -> None:
        wb.custom_doc_props.props.clear()
    rep = check(config, edited(samples["ET"], tmp_path, strip))
    assert rep.valid and rep.department == "ET"


# ---- hostile and broken files -------------------------------------------------------------------------------------

def _minimal_xlsx(sheet_xml: bytes, workbook_xml: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
        z.writestr("xl/workbook.xml", workbook_xml or b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                   b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                   b'<sheet name="Indicators" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buf.getvalue()


def _bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * 30_000_000)
    return buf.getvalue()


def _xlsm(valid: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(valid))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
            z.writestr(item, data)
        z.writestr("xl/vbaProject.bin", b"Attribute VB_Name = \"Module1\"\nSub AutoOpen(): Shell \"calc\": End Sub")
    return buf.getvalue()


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
          b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><worksheet xmlns="http://schemas.openxmlformats.org/'
          b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row>'
          b'</sheetData></worksheet>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]><workbook xmlns="http://schemas.'
       b'openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="&x;" sheetId="1"/></sheets></workbook>')
FAR_CELL = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1048576">'
            b'<c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
HUGE_DIM = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/>'
            b'<sheetData/></worksheet>')


def hostile_files(folder: Path, valid: bytes) -> dict[str, tuple[Path, str]]:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    cases = {
        "empty.xlsx": (b"", "F001"),
        "random.xlsx": (os.urandom(4096) .replace(b"PK", b"QK").replace(b"\xd0\xcf", b"\xd1\xcf"), "F002"),
        "truncated.xlsx": (valid[: len(valid) // 2], "F003"),
        "renamed_csv.xlsx": (b"id,value\nCG1-01,45\nSW1-03,1200\n", "F004"),
        "renamed_html.xlsx": (b"<html><body><table><tr><td>45</td></tr></table></body></html>", "F005"),
        "legacy.xls": (ole + b"Workbook\0" * 100, "F006"),
        "encrypted.xlsx": (ole + "EncryptionInfo".encode("utf-16-le") + b"\0" * 1000, "F007"),
        "bomb.xlsx": (_bomb(), "F008"),
        "laughs.xlsx": (_minimal_xlsx(LAUGHS), "F009"),
        "xxe.xlsx": (_minimal_xlsx(b"<worksheet/>", XXE), "F009"),
        "far_cell.xlsx": (_minimal_xlsx(FAR_CELL), "F010"),
        "huge_dimension.xlsx": (_minimal_xlsx(HUGE_DIM), "F010"),
        "word.xlsx": (_docx(), "F011"),
    }
    out = {}
    for name, (data, code) in cases.items():
        (folder / name).write_bytes(data)
        out[name] = (folder / name, code)
    return out


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.fixture
def hostile(tmp_path: Path, samples: dict[str, Path]) -> dict[str, tuple[Path, str]]:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return hostile_files(folder, samples["PH"].read_bytes())


def _digests(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_hostile_files_get_a_code_and_never_change(config: Config, hostile: dict[str, tuple[Path, str]]) -> None:
    before = _digests([p for p, _ in hostile.values()])
    for name, (path, code) in hostile.items():
        rep = check(config, path)
        assert [i.code for i in rep.issues] == [code], (name, rep.issues)
        assert not rep.valid and rep.issues[0].message
    assert _digests([p for p, _ in hostile.values()]) == before


def test_macro_enabled_file_is_read_never_run(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "Tracker_PH_2025-26-Q2.xlsm"
    path.write_bytes(_xlsm(samples["PH"].read_bytes()))
    rep = check(config, path)
    assert rep.macro_enabled and [i.code for i in rep.issues] == ["F012"] and rep.valid
    assert rep.indicators


def test_cli_on_the_hostile_set(hostile: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    folder = next(iter(hostile.values()))[0].parent
    (folder / "~$lock.xlsx").write_bytes(b"lock")
    before = _digests(sorted(folder.iterdir()))
    for path, code in hostile.values():
        proc = subprocess.run([sys.executable, "-m", "plan_reports", "validate", str(path)], capture_output=True, text=True)
        assert proc.returncode in (1, 2), (path.name, proc.returncode)
        assert code in proc.stdout and "Traceback" not in proc.stdout + proc.stderr, path.name
    proc = subprocess.run([sys.executable, "-m", "plan_reports", "validate", str(folder), "--json"], capture_output=True, text=True)
    import json

    data = json.loads(proc.stdout)
    assert proc.returncode == 2 and len(data["files"]) == len(hostile)  # nothing readable; the lock file is skipped
    assert all(not f["valid"] and f["issues"][0]["code"] for f in data["files"])
    assert _digests(sorted(folder.iterdir())) == before


def test_find_submissions_skips_lock_files_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.xlsx", "sub/b.xlsm", "~$a.xlsx", "notes.txt", ".~lock.a.xlsx#"):
        (tmp_path / name).write_bytes(b"x")
    found, missing = find_submissions([tmp_path, tmp_path / "nope.xlsx"])
    assert [p.name for p in found] == ["a.xlsx", "b.xlsm"] and missing == [tmp_path / "nope.xlsx"]


def test_json_shape_and_exit_codes(samples: dict[str, Path], tmp_path: Path) -> None:
    import json

    proc = subprocess.run([sys.executable, "-m", "plan_reports", "validate", str(samples["CR"]), "--json"],
                          capture_output=True, text=True)
    data = json.loads(proc.stdout)
    f = data["files"][0]
    assert set(f) >= {"path", "valid", "department", "period", "issues"} and f["department"] == "CR"
    assert proc.returncode == 0
    bad = edited(samples["CR"], tmp_path, set_ind("MTFS-01", "value", "lots"))
    proc = subprocess.run([sys.executable, "-m", "plan_reports", "validate", str(bad), "--json"], capture_output=True, text=True)
    issue = json.loads(proc.stdout)["files"][0]["issues"][0]
    assert proc.returncode == 1 and set(issue) == {"code", "severity", "sheet", "cell", "message"}
    assert subprocess.run([sys.executable, "-m", "plan_reports", "validate", str(tmp_path / "none")]).returncode == 2


@pytest.mark.office
def test_annotated_copy(config: Config, samples: dict[str, Path], tmp_path: Path) -> None:
    from plan_reports.office import convert

    src = edited(samples["ET"], tmp_path, set_many(set_ind("SW1-03", "value", "=HYPERLINK(\"x\")"),
                                                   set_ind("CG1-01", "commentary", "=cmd|' /C calc'!A0")))
    before = src.read_bytes()
    rep = check(config, src)
    out = annotate(rep, tmp_path / "annotated")
    assert src.read_bytes() == before and out and out != src
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Validation"
    first = next(i for i in rep.issues if i.cell)
    assert wb[first.sheet][first.cell].comment is not None
    messages = [c.value for c in wb["Validation"]["E"] if c.value]
    assert all(isinstance(m, str) for m in messages) and wb["Validation"]["E4"].data_type == "s"
    assert convert(out, tmp_path / "pdf", "pdf").stat().st_size > 0


def test_issue_records_are_frozen() -> None:
    i = Issue("C001", __import__("plan_reports.issues", fromlist=["Severity"]).Severity.ERROR, "f", "s", "A1", "m")
    with pytest.raises(AttributeError):
        i.code = "X"  # type: ignore[misc]
