from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from plan_reports.cli import main
from plan_reports.config import Config
from plan_reports.office import recalculate
from plan_reports.periods import Period
from plan_reports.trackers import (
    COMMITMENT_COLUMNS,
    FIRST_ROW,
    HEADER_ROW,
    SHEET_COMMITMENTS,
    SHEET_INDICATORS,
    SHEET_META,
    col_letter,
    default_data_period,
    indicator_columns,
    target_for,
    write_trackers,
)

PERIOD = Period.parse("2025/26-Q2")
PINNED = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def trackers(config: Config, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_trackers(config, PERIOD, tmp_path_factory.mktemp("trackers"), generated_at=PINNED)


def data_rows(ws) -> range:
    last = FIRST_ROW
    while ws.cell(last + 1, 1).value:
        last += 1
    return range(FIRST_ROW, last + 1)


def test_one_tracker_per_department_named_by_department_and_period(trackers: list[Path], config: Config) -> None:
    assert sorted(p.name for p in trackers) == sorted(f"Tracker_{d.id}_2025-26-Q2.xlsx" for d in config.organisation.departments)


def test_rows_are_the_departments_indicators_and_commitments(trackers: list[Path], config: Config) -> None:
    plan = config.plans["2022-26"]
    for path in trackers:
        dept = path.name.split("_")[1]
        wb = openpyxl.load_workbook(path)
        ind_ids = [wb[SHEET_INDICATORS].cell(r, 1).value for r in data_rows(wb[SHEET_INDICATORS])]
        com_ids = [wb[SHEET_COMMITMENTS].cell(r, 1).value for r in data_rows(wb[SHEET_COMMITMENTS])]
        assert ind_ids == [i.id for _, _, i in plan.indicators() if i.department == dept]
        assert com_ids == [c.id for _, _, c in plan.commitments() if c.lead == dept]


def test_every_input_column_validated_formatted_and_unlocked(trackers: list[Path]) -> None:
    for path in trackers:
        wb = openpyxl.load_workbook(path)
        for sheet, cols in ((SHEET_INDICATORS, indicator_columns(PERIOD)), (SHEET_COMMITMENTS, COMMITMENT_COLUMNS)):
            ws = wb[sheet]
            assert ws.protection.sheet, f"{path.name}!{sheet} is not protected"
            assert [ws.cell(HEADER_ROW, i + 1).value for i in range(len(cols))] == [c.header for c in cols]
            validated = set()
            for dv in ws.data_validations.dataValidation:
                assert dv.showErrorMessage and dv.showInputMessage and dv.prompt and dv.error
                for rng in dv.sqref.ranges:
                    for row in ws.iter_rows(min_row=rng.min_row, max_row=rng.max_row, min_col=rng.min_col, max_col=rng.max_col):
                        validated.update(c.coordinate for c in row)
            for r in data_rows(ws):
                for col in cols:
                    cell = ws[f"{col_letter(cols, col.key)}{r}"]
                    na = cell.fill.fgColor.rgb.endswith("D9D9D9")  # numerator/denominator of a non-rate indicator
                    if col.input and not na:
                        assert not cell.protection.locked, f"{path.name}!{sheet}!{cell.coordinate} input is locked"
                        assert cell.coordinate in validated, f"{path.name}!{sheet}!{cell.coordinate} has no validation"
                    else:
                        assert cell.protection.locked, f"{path.name}!{sheet}!{cell.coordinate} should be locked"
            for key in ("value", "target") if sheet == SHEET_INDICATORS else ("percent_complete", "start_date"):
                assert ws[f"{col_letter(cols, key)}{FIRST_ROW}"].number_format != "General"


def test_no_macros_and_xlsx_content_type(trackers: list[Path]) -> None:
    for path in trackers:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            assert not [n for n in names if "vbaProject" in n or n.endswith(".bin")]
            assert "macroEnabled" not in z.read("[Content_Types].xml").decode()


def test_metadata_in_properties_and_very_hidden_sheet(trackers: list[Path]) -> None:
    wb = openpyxl.load_workbook(trackers[0])
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    dept = trackers[0].name.split("_")[1]
    assert props["pr_template_version"] == "1.0" and props["pr_department"] == dept
    assert props["pr_period"] == "2025/26-Q2" and props["pr_plan_id"] == "2022-26"
    assert props["pr_generated_at"] == "2025-10-01T09:00:00+00:00"
    assert wb[SHEET_META].sheet_state == "veryHidden"
    assert dict(wb[SHEET_META].iter_rows(values_only=True))["period"] == "2025/26-Q2"
    assert wb.security.lockStructure


def test_generation_is_reproducible(config: Config, tmp_path: Path) -> None:
    a = write_trackers(config, PERIOD, tmp_path / "a", ["ET"], generated_at=PINNED)[0]
    b = write_trackers(config, PERIOD, tmp_path / "b", ["ET"], generated_at=PINNED)[0]
    wa, wb_ = openpyxl.load_workbook(a), openpyxl.load_workbook(b)
    for name in wa.sheetnames:
        assert [list(r) for r in wa[name].iter_rows(values_only=True)] == [list(r) for r in wb_[name].iter_rows(values_only=True)]


def test_target_only_for_a_period_that_covers_this_one(config: Config) -> None:
    ind = {i.id: i for _, _, i in config.plans["2022-26"].indicators()}
    assert target_for(ind["SCPC-01"], PERIOD) is None  # net zero by 2029/30 is not this quarter's target
    assert target_for(ind["MTFS-01"], PERIOD) == 2  # at least two balanced years in each four-year plan
    assert target_for(ind["SCPC-04"], Period.parse("2024/25-Q4")) == 65


def test_period_the_data_covers_follows_lag_and_frequency(config: Config) -> None:
    ind = {i.id: i for _, _, i in config.plans["2022-26"].indicators()}
    assert default_data_period(ind["CG1-01"], PERIOD, 56) == "2025/26-Q2"  # survey, 1 month lag
    assert default_data_period(ind["CG3-01"], PERIOD, 56) == "2024/25-Q4"  # WasteDataFlow, 6 months
    assert default_data_period(ind["SW3-01"], PERIOD, 56) == "2022/23"  # PHOF, 24 months


def test_cli_writes_one_department(tmp_path: Path, capsys) -> None:
    assert main(["trackers", "--period", "2025/26-Q2", "--out", str(tmp_path), "--department", "PH", "--json"]) == 0
    assert (tmp_path / "Tracker_PH_2025-26-Q2.xlsx").exists()
    assert main(["trackers", "--period", "2025/26-Q9", "--out", str(tmp_path)]) == 2
    assert main(["trackers", "--period", "2025/26-Q2", "--out", str(tmp_path), "--department", "XX"]) == 1


def test_cached_values_for_every_formula_so_protected_view_shows_them(trackers: list[Path]) -> None:
    for path in trackers:
        formulas, cached = openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)
        assert formulas.active.title == "Instructions"  # the sheet the workbook opens on
        for name in (SHEET_INDICATORS, SHEET_COMMITMENTS):
            for row_f, row_v in zip(formulas[name].iter_rows(), cached[name].iter_rows(), strict=True):
                for f, v in zip(row_f, row_v, strict=True):
                    if f.data_type == "f":
                        assert v.value not in (None, ""), f"{path.name}!{name}!{f.coordinate} has no cached value"


def test_readable_layout_print_setup_and_text_formats(trackers: list[Path]) -> None:
    wb = openpyxl.load_workbook(trackers[0])
    dept = trackers[0].name.split("_")[1]
    for name, cols in ((SHEET_INDICATORS, indicator_columns(PERIOD)), (SHEET_COMMITMENTS, COMMITMENT_COLUMNS)):
        ws = wb[name]
        ps = ws.page_setup
        assert (ps.orientation, ps.paperSize, ps.fitToWidth, ps.fitToHeight) == ("landscape", 9, 1, 0)
        assert ws.print_title_rows.replace("$", "") == f"{HEADER_ROW}:{HEADER_ROW}"
        assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text
        assert PERIOD.label in ws.oddFooter.left.text
        assert not [k for k, d in ws.column_dimensions.items() if d.hidden], "no hidden columns: range limits show"
        keys = [c.key for c in cols]
        printed = cols[: keys.index("checks") + 1]
        assert all(c.input for c in printed if c.key in ("value", "status")), "inputs sit among the printed columns"
        assert sum(c.width for c in printed) <= 155  # A4 landscape at 8 pt or more (see test_tracker_render)
        for key in ("commentary", "reason", "data_period") if name == SHEET_INDICATORS else ("challenges", "lead_officer"):
            assert ws[f"{col_letter(cols, key)}{FIRST_ROW}"].number_format == "@"
    with zipfile.ZipFile(trackers[0]) as z:  # data rows start at a height but are free to grow as a lead types
        sheet2 = z.read("xl/worksheets/sheet2.xml").decode()
        assert f'<row r="{FIRST_ROW}" ht=' in sheet2 and 'customHeight="1"' not in sheet2.split(f'<row r="{FIRST_ROW}"')[1][:60]
    assert dept


@pytest.mark.office
def test_every_tracker_recalculates_without_errors_and_keeps_metadata(trackers: list[Path], tmp_path: Path) -> None:
    for path in trackers:
        out = recalculate(path, tmp_path / path.stem)
        wb = openpyxl.load_workbook(out, data_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                errors = [v for v in row if isinstance(v, str) and v.startswith("#") and v.endswith(("!", "?", "A"))]
                assert not errors, f"{path.name}!{ws.title}: {errors}"
        ind = wb[SHEET_INDICATORS]
        rag = col_letter(indicator_columns(PERIOD), "rag_preview")
        assert {ind[f"{rag}{r}"].value for r in data_rows(ind)} <= {"No data", "Data only"}
        generated = openpyxl.load_workbook(path, data_only=True)  # the cached values are what LibreOffice computes
        for sheet in (SHEET_INDICATORS, SHEET_COMMITMENTS):
            rows = data_rows(generated[sheet])
            width = generated[sheet].max_column
            assert [list(r) for r in wb[sheet].iter_rows(rows.start, rows.stop - 1, 1, width, values_only=True)] == \
                [list(r) for r in generated[sheet].iter_rows(rows.start, rows.stop - 1, 1, width, values_only=True)], \
                f"{path.name}!{sheet}"
        checks = col_letter(COMMITMENT_COLUMNS, "checks")
        com = wb[SHEET_COMMITMENTS]
        assert {com[f"{checks}{r}"].value for r in data_rows(com)} <= {"To do: choose a status."}
        props = {p.name: p.value for p in wb.custom_doc_props.props}
        assert props.get("pr_period") == "2025/26-Q2" and props.get("pr_template_version") == "1.0"
        assert wb[SHEET_META].sheet_state in ("veryHidden", "hidden")  # LibreOffice has no very-hidden state
        assert dict(wb[SHEET_META].iter_rows(values_only=True))["department"] == path.name.split("_")[1]
        assert wb.security is not None  # LibreOffice writes <workbookProtection/> back without lockStructure


def test_roll_forward_from_last_periods_returns_without_a_store(samples: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "q3"
    assert main(["trackers", "--period", "2025/26-Q3", "--out", str(out), "--department", "ET",
                 "--previous", str(samples["ET"].parent)]) == 0
    new = openpyxl.load_workbook(out / "Tracker_ET_2025-26-Q3.xlsx")
    old = openpyxl.load_workbook(samples["ET"])
    q3, q2 = indicator_columns(Period.parse("2025/26-Q3")), indicator_columns(PERIOD)
    prev_col, value_col = col_letter(q3, "value_previous"), col_letter(q2, "value")
    assert new[SHEET_INDICATORS][f"{prev_col}{FIRST_ROW}"].value == old[SHEET_INDICATORS][f"{value_col}{FIRST_ROW}"].value
    status = col_letter(COMMITMENT_COLUMNS, "status")
    assert new[SHEET_COMMITMENTS][f"{status}{FIRST_ROW}"].value == old[SHEET_COMMITMENTS][f"{status}{FIRST_ROW}"].value
    target = col_letter(COMMITMENT_COLUMNS, "target_date")  # dates roll forward as dates, not text
    carried = new[SHEET_COMMITMENTS][f"{target}{FIRST_ROW}"].value
    assert isinstance(carried, datetime) and carried == old[SHEET_COMMITMENTS][f"{target}{FIRST_ROW}"].value
