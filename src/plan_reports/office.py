"""LibreOffice, headless: recalculate workbooks and render documents to PDF.

Each call gets its own user profile so parallel runs (tests, scheduler, ribbon) never share a lock.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


class OfficeError(RuntimeError):
    pass


def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        raise OfficeError("LibreOffice is not installed: run scripts/install-office.sh (or apt-get install libreoffice-calc)")
    return exe


def convert(src: Path, out_dir: Path, fmt: str, timeout: int = 180) -> Path:
    """Open `src` in LibreOffice and save it as `fmt` (e.g. 'pdf', 'xlsx') in `out_dir`; return the new file."""
    return convert_many([src], out_dir, fmt, timeout)[0]


def convert_many(sources: list[Path], out_dir: Path, fmt: str, timeout: int = 600) -> list[Path]:
    """Convert several files with one LibreOffice start (starting it is most of the cost)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        cmd = [soffice(), f"-env:UserInstallation={Path(profile).resolve().as_uri()}", "--headless", "--norestore",
               "--convert-to", fmt, "--outdir", str(out_dir), *map(str, sources)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    produced = [out_dir / f"{Path(s).stem}.{fmt.split(':')[0]}" for s in sources]
    missing = [p.name for p in produced if not p.exists()]
    if proc.returncode != 0 or missing:
        raise OfficeError(f"LibreOffice could not convert {', '.join(missing) or 'the files'} to {fmt}: "
                          f"{proc.stderr.strip() or proc.stdout.strip()}")
    return produced


def pdf_pages(pdf: Path) -> int:
    """Page count of a PDF, from its page tree (no PDF library needed)."""
    import re

    data = pdf.read_bytes()
    counts = [int(m) for m in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", data)]
    return max(counts) if counts else len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


def recalculate(src: Path, out_dir: Path) -> Path:
    """Load in LibreOffice Calc (which calculates every formula) and save back as .xlsx with cached values."""
    return convert(src, out_dir, 'xlsx:Calc MS Excel 2007 XML')
