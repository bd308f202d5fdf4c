"""A marked-up copy of a submission for its department: problem cells highlighted, comments, a Validation sheet.

openpyxl parses the submitted workbook again to write the copy, so this too runs in isolated workers
(`annotate_all`); the submitted file itself is never changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from plan_reports.issues import Issue, Severity
from plan_reports.validate.returns import FileReport
from plan_reports.workers import Failed, isolated_map


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



def _annotate_one(job: tuple[FileReport, Path]) -> Path | None:
    return annotate(*job)


def annotate_all(reports: Sequence[FileReport], out_dir: Path, workers: int = 2) -> dict[str, str]:
    """Marked-up copies of every readable report, each written in an isolated worker: {submission: copy}."""
    jobs = [(r, Path(out_dir)) for r in reports if r.readable]
    out: dict[str, str] = {}
    for i, got in isolated_map(_annotate_one, jobs, workers=max(1, min(workers, len(jobs)))):
        if got is not None and not isinstance(got, Failed):
            out[str(jobs[i][0].path)] = str(got)
    return out
