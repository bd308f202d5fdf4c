"""Byte-stable Office files: the same content gives the same bytes, so an output's sha-256 identifies what it shows.

python-pptx and python-docx stamp every zip member with the time of saving, and the workbooks embedded behind native
charts carry their creation time. `stabilise` rewrites a saved .pptx/.docx/.xlsx with fixed member times and a fixed
creation time in embedded workbooks; the visible content is untouched.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

FIXED = (1980, 1, 1, 0, 0, 0)
_CREATED = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _rezip(data: bytes, embedded: bool) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename.lower().endswith(".xlsx"):
                body = _rezip(body, True)
            elif embedded and info.filename == "docProps/core.xml":
                body = _CREATED.sub(rb"\g<1>1980-01-01T00:00:00Z\g<2>", body)
            fixed = zipfile.ZipInfo(info.filename, FIXED)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            zout.writestr(fixed, body)
    return out.getvalue()


def stabilise(path: Path) -> None:
    """Rewrite the Office file at `path` (normally a temporary file inside `atomic_path`) byte-stably."""
    path = Path(path)
    path.write_bytes(_rezip(path.read_bytes(), False))
