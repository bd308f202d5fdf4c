"""Build and install the "Strategic Plan" Excel add-in (xlwings, classic RunPython route).

Embedding VBA in an .xlam needs Excel itself, so `build` writes the add-in's source kit everywhere and, on a Windows
PC with Excel, drives Excel (through xlwings) to import the VBA modules and save the .xlam; the ribbon XML is then
added to the package in Python. `install` copies the .xlam to the user's XLSTART folder and records the Python
interpreter and config folder, as xlwings' own `xlwings addin install` does.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "addin"
RIBBON_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
XLAM_FORMAT = 55  # xlOpenXMLAddIn


@dataclass
class BuildResult:
    kit: Path
    xlam: Path | None
    note: str
    files: list[Path] = field(default_factory=list)


INSTALL_EXCEL_EXTRA = 'pip install "plan-reports[excel]"'


class XlwingsMissing(RuntimeError):
    """xlwings (the optional `excel` extra) is needed and is not installed: the message says what to install."""


def xlwings_bas() -> Path:
    """xlwings' standalone VBA module that provides RunPython, shipped inside the xlwings package."""
    try:
        import xlwings
    except ImportError:
        raise XlwingsMissing("xlwings is not installed, and the add-in kit needs the RunPython module that comes with "
                             f"it. Install the Excel extra with: {INSTALL_EXCEL_EXTRA} (in the same environment as "
                             "plan-reports), then run plan-reports addin build again.") from None
    bas = Path(xlwings.__file__).parent / "xlwings_custom_addin.bas"
    if not bas.exists():
        raise XlwingsMissing(f"The installed xlwings ({getattr(xlwings, '__version__', 'unknown version')}) has no "
                             f"xlwings_custom_addin.bas. Install a current one with: {INSTALL_EXCEL_EXTRA} --upgrade")
    return bas


def conf_text(interpreter: str, onedrive: str = "", sharepoint: str = "") -> str:
    """xlwings.conf lines. Values are quoted, so an interpreter path with spaces is fine."""
    template = (TEMPLATES / "xlwings.conf").read_text(encoding="utf-8")
    esc = lambda v: v.replace('"', '""')  # noqa: E731
    return template.format(interpreter_win=esc(interpreter), interpreter_mac=esc(interpreter),
                           onedrive_commercial=esc(onedrive), sharepoint=esc(sharepoint))


def inject_ribbon(package: Path, custom_ui: bytes) -> None:
    """Add (or replace) the ribbon XML in an Office package and its relationship from the package root."""
    with zipfile.ZipFile(package) as z:
        items = [(i, z.read(i)) for i in z.infolist() if not i.filename.startswith("customUI/")]
    rels_xml = next(d for i, d in items if i.filename == "_rels/.rels").decode("utf-8")
    import re

    rels_xml = re.sub(r'<Relationship [^>]*ui/extensibility"[^>]*/>', "", rels_xml)
    rels_xml = rels_xml.replace("</Relationships>", f'<Relationship Id="rIdPlanReportsUI" Type="{RIBBON_REL}" '
                                                    'Target="customUI/customUI14.xml"/></Relationships>')
    tmp = package.with_name(package.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            out.writestr(info, rels_xml.encode("utf-8") if info.filename == "_rels/.rels" else data)
        out.writestr("customUI/customUI14.xml", custom_ui)
    tmp.replace(package)


def _excel_build(kit: Path, xlam: Path) -> None:
    import xlwings as xw

    app = xw.App(visible=False, add_book=False)
    try:
        wb = app.books.add()
        components = wb.api.VBProject.VBComponents  # needs "Trust access to the VBA project object model"
        components.Import(str(kit / "xlwings_custom_addin.bas"))
        components.Import(str(kit / "PlanReports.bas"))
        wb.api.SaveAs(str(xlam), FileFormat=XLAM_FORMAT)
        wb.close()
    finally:
        app.quit()
    inject_ribbon(xlam, (kit / "customUI14.xml").read_bytes())


def build(out: Path, *, use_excel: bool | None = None) -> BuildResult:
    """Write the kit to `out` (and, with Excel, the .xlam). Raises XlwingsMissing, before writing anything, when
    xlwings is not installed."""
    run_python = xlwings_bas()
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name in ("customUI14.xml", "PlanReports.bas", "build_addin.ps1"):
        files.append(Path(shutil.copy2(TEMPLATES / name, out / name)))
    files.append(Path(shutil.copy2(run_python, out / "xlwings_custom_addin.bas")))
    conf = out / "xlwings.conf"
    conf.write_text(conf_text(sys.executable), encoding="utf-8")
    files.append(conf)
    xlam = out / "PlanReports.xlam"
    can_excel = sys.platform.startswith("win") if use_excel is None else use_excel
    if not can_excel:
        return BuildResult(out, None, "Excel is needed to embed the add-in's VBA, and it is not available here. The "
                                      "add-in's sources are in the kit; on a Windows PC with Excel run "
                                      "templates\\addin\\build_addin.ps1 (or plan-reports addin build) to make "
                                      "PlanReports.xlam.", files)
    _excel_build(out, xlam)
    return BuildResult(out, xlam, "Built PlanReports.xlam.", files)


def xlstart_dir() -> Path | None:
    import os

    if sys.platform.startswith("win"):
        return Path(os.environ["APPDATA"]) / "Microsoft" / "Excel" / "XLSTART"
    if sys.platform == "darwin":
        return Path.home() / "Library/Containers/com.microsoft.Excel/Data/Library/Application Support/Microsoft/Office/16.0/XLSTART"
    return None


@dataclass
class InstallResult:
    xlam: Path
    xlwings_conf: Path
    config_record: Path


def install(xlam: Path, *, target_dir: Path | None, config: Path | None, interpreter: str | None = None) -> InstallResult:
    """Per-user install: the add-in in XLSTART, the interpreter in ~/.xlwings/xlwings.conf, the config folder noted."""
    target_dir = target_dir or xlstart_dir()
    if target_dir is None:
        raise FileNotFoundError("Excel's XLSTART folder does not exist on this system; give --dir to copy the add-in "
                                "to a folder of your choice.")
    if not xlam.exists():
        raise FileNotFoundError(f"No add-in at {xlam}: build it first with plan-reports addin build on Windows.")
    target_dir.mkdir(parents=True, exist_ok=True)
    placed = Path(shutil.copy2(xlam, target_dir / xlam.name))
    conf_dir = Path.home() / ".xlwings"
    conf_dir.mkdir(parents=True, exist_ok=True)
    conf = conf_dir / "xlwings.conf"
    ours = conf_text(interpreter or sys.executable).splitlines()
    keys = {line.split(",", 1)[0] for line in ours}
    kept = [line for line in (conf.read_text(encoding="utf-8").splitlines() if conf.exists() else [])
            if line.split(",", 1)[0] not in keys]
    conf.write_text("\n".join([*kept, *ours]) + "\n", encoding="utf-8")
    record = Path.home() / ".plan-reports" / "config-path.txt"
    record.parent.mkdir(parents=True, exist_ok=True)
    from plan_reports.config import default_config_dir

    record.write_text(str((config or default_config_dir()).resolve()), encoding="utf-8")
    return InstallResult(placed, conf, record)
