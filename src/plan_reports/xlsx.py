"""Read submitted workbooks safely and fast.

Defences come before any fast read: python-calamine aborts the whole process on some crafted files (a cell at
XFD1048576), so the package is checked first from its bytes, with bounded decompression and without an XML parser
(no entity expansion is possible). Then one text pass over each sheet's XML finds formulas, error cells, merged
ranges and the true extent of the sheet; calamine reads the values. Nothing is ever written back.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 250 * 1024 * 1024
MAX_MEMBER_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 200  # uncompressed/compressed for any member over 1 MB
MAX_ENTRIES = 5_000
MAX_ROWS = 99_999  # at most five digits: a reference with six is found by one regex search
MAX_COLS = 702  # ZZ: a reference with three column letters is beyond any tracker

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class ReadProblem(Exception):
    """The file cannot be read as a workbook. `code` is a stable issue code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SheetScan:
    name: str
    part: str
    state: str
    formulas: dict[str, bytes] = field(default_factory=dict)  # raw XML text; see formula_text
    errors: dict[str, str] = field(default_factory=dict)
    merged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Package:
    path: Path
    data: bytes = field(repr=False)
    sha256: str
    macro_enabled: bool
    sheets: dict[str, SheetScan]
    custom_props: dict[str, str]
    saved_at: str | None = None  # when Excel last saved it (docProps/core.xml dcterms:modified)


_COL_RE = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


@cache
def col_name(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def split_ref(ref: str) -> tuple[int, int]:
    m = _COL_RE.match(ref)
    if not m:
        raise ValueError(ref)
    return int(m.group(2)), col_index(m.group(1))


def _sniff(data: bytes, path: Path) -> None:
    """Name what a non-zip file really is, so the message helps."""
    if not data:
        raise ReadProblem("F001", "The file is empty (0 bytes). Save the workbook again and resend it.")
    if data.startswith(OLE_MAGIC):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o" in data[:2_000_000]:
            raise ReadProblem("F007", "The workbook is password-protected (encrypted). Remove the password to open "
                                      "(File > Info > Protect Workbook > Encrypt with Password) and resend it.")
        raise ReadProblem("F006", "This is a legacy Excel 97-2003 (.xls) file. Open it in Excel and save it as an "
                                  "Excel Workbook (.xlsx), keeping the tracker's layout.")
    if data.startswith(ZIP_MAGIC) or data.startswith(b"PK"):
        return
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")) or b"<html" in head[:512]:
        raise ReadProblem("F005", "This is a web page or XML file renamed as a workbook, not an Excel file. "
                                  "Save the tracker from Excel as .xlsx and resend it.")
    try:
        text = data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text) and ("," in text or ";" in text or "\t" in text):
        raise ReadProblem("F004", "This is a CSV (text) file renamed as a workbook. Save the tracker from Excel "
                                  "as an Excel Workbook (.xlsx), not CSV, and resend it.")
    raise ReadProblem("F002", f"{path.name} is not an Excel workbook (its contents are not a spreadsheet). "
                              "Resend the tracker saved from Excel as .xlsx.")


class _Damaged(Exception):
    """The zip structure is broken: a cut-off or corrupted file."""


class _Unsupported(Exception):
    """A valid zip feature no workbook uses (encryption, zip64, other compression)."""


class _Part(NamedTuple):
    name: str
    offset: int  # of the part's local header
    packed: int
    size: int
    method: int
    flags: int
    crc: int


def _parts(data: bytes) -> dict[str, _Part]:
    """The package's table of contents, read from its central directory: what zipfile reads, without its overhead."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65_535))
    if end < 0 or end + 22 > len(data):
        raise _Damaged("no end-of-archive record")
    count, cd_size, cd_offset = struct.unpack_from("<10xHLL", data, end)
    if count > MAX_ENTRIES:
        raise ReadProblem("F008", f"The package holds {count:,} parts; a workbook has a few dozen. Refused.")
    if count == 0xFFFF or cd_offset == 0xFFFFFFFF:
        raise _Unsupported("zip64 archive")
    at = end - cd_size  # the directory ends where the end record starts, even with bytes prepended to the archive
    shift = at - cd_offset
    if shift < 0:
        raise _Damaged("central directory outside the file")
    parts: dict[str, _Part] = {}
    for _ in range(count):
        if data[at:at + 4] != b"PK\x01\x02" or at + 46 > end:
            raise _Damaged("bad central directory entry")
        flags, method, crc, packed, size, n_name, n_extra, n_comment, offset = struct.unpack_from(
            "<8xHH4xLLLHHH8xL", data, at)
        name = data[at + 46:at + 46 + n_name].decode("utf-8" if flags & 0x800 else "cp437")
        parts[name] = _Part(name, offset + shift, packed, size, method, flags, crc)
        at += 46 + n_name + n_extra + n_comment
    return parts


def _bounded_read(data: bytes, part: _Part) -> bytes:
    """One part, inflated straight from the package bytes with its output capped, CRC-checked (a cut-off file fails)."""
    name = part.name
    if part.size > MAX_MEMBER_UNCOMPRESSED:
        raise ReadProblem("F008", f"Part {name} would expand to {part.size:,} bytes: refused as a possible zip bomb.")
    if part.flags & 0x1:
        raise _Unsupported(f"part {name} is encrypted")
    at = part.offset
    if data[at:at + 4] != ZIP_MAGIC or at + 30 > len(data):
        raise _Damaged(f"bad local header for {name}")
    name_len, extra_len = struct.unpack_from("<HH", data, at + 26)
    start = at + 30 + name_len + extra_len
    raw = data[start:start + part.packed]
    if part.method == 0:  # stored
        out = raw
    elif part.method == 8:  # deflated
        try:
            out = zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, MAX_MEMBER_UNCOMPRESSED + 1)
        except zlib.error as e:
            raise _Damaged(f"part {name}: {e}") from e
    else:
        raise _Unsupported(f"part {name} uses compression method {part.method}")
    if len(out) > MAX_MEMBER_UNCOMPRESSED:
        raise ReadProblem("F008", f"Part {name} expands beyond {MAX_MEMBER_UNCOMPRESSED:,} bytes: refused as a possible zip bomb.")
    if zlib.crc32(out) != part.crc:
        raise _Damaged(f"bad CRC for part {name}")
    if b"<!DOCTYPE" in out[:4096] or b"<!ENTITY" in out[:4096]:
        raise ReadProblem("F009", f"Part {name} declares a DOCTYPE or XML entities, which Excel never writes; "
                                  "refused as a possible XML entity attack.")
    return out


def _check_sizes(parts: dict[str, _Part]) -> None:
    total = 0
    for p in parts.values():
        total += p.size
        if p.size > 1_000_000 and p.packed and p.size / p.packed > MAX_RATIO:
            raise ReadProblem("F008", f"Part {p.name} is compressed {p.size // max(p.packed, 1):,} to 1, "
                                      "far beyond any real workbook: refused as a possible zip bomb.")
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise ReadProblem("F008", f"The package would expand to {total:,} bytes: refused as a possible zip bomb.")


_ATTR_RE = re.compile(r'(\w+)="([^"]*)"')
_SHEET_RE = re.compile(r"<(?:\w+:)?sheet\b([^>]*)/?>")
_REL_RE = re.compile(r"<Relationship\b([^>]*)/?>")
_PROP_RE = re.compile(r'<property\b[^>]*\bname="([^"]*)"[^>]*>\s*<vt:\w+\b[^>]*>([^<]*)</vt:\w+>', re.S)
_MODIFIED_RE = re.compile(r"<dcterms:modified\b[^>]*>([^<]+)</dcterms:modified>")
# A row past 99,999 or a column past ZZ. Starting with the literal r=" lets the regex engine skip ahead fast.
_FAR_REF_RE = re.compile(rb'r="[A-Z]{0,3}[0-9]{6}|r="[A-Z]{3}')
_F_RE = re.compile(rb"<f\b[^>]*?(?:/>|>([^<]*)</f>)")
_ERROR_ATTRS_RE = re.compile(rb'<c\b([^>]*\bt="e"[^>]*)>')
_REF_RE = re.compile(rb'\br="([A-Z]{1,3}[0-9]{1,7})"')
_V_RE = re.compile(rb"<v>([^<]*)</v>")
_MERGE_RE = re.compile(rb'<mergeCell\b[^>]*\bref="([A-Z0-9:]+)"')
_DIM_RE = re.compile(rb'<dimension\b[^>]*\bref="([A-Z]{1,3}[0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?"')


def _unescape(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


def _too_large(name: str, what: str) -> ReadProblem:
    return ReadProblem("F010", f"Sheet '{name}' {what}, far beyond any tracker (a few hundred rows). Refused as too large: "
                               "delete the stray cells far below or to the right of the data.")


def _formulas(xml: bytes) -> dict[str, bytes]:
    """Cell -> formula text (raw XML), found from each <f> back to its cell: far fewer steps than a regex per cell."""
    out: dict[str, bytes] = {}
    rfind, ref_at = xml.rfind, _REF_RE.search
    for m in _F_RE.finditer(xml):
        at = m.start()
        ref = ref_at(xml, rfind(b"<c", 0, at), at)
        if ref:
            out[ref.group(1).decode()] = m.group(1) or b""
    return out


def _scan_sheet(name: str, part: str, state: str, xml: bytes, detail: bool = True) -> SheetScan:
    """Extent, formulas, error cells and merges from the sheet XML, in a few regex passes (no per-cell Python)."""
    dim = _DIM_RE.search(xml, 0, 4096)
    if dim and dim.group(2):
        rows, cols = int(dim.group(3)), col_index(dim.group(2).decode())
        if rows > MAX_ROWS or cols > MAX_COLS:
            raise _too_large(name, f"declares {rows:,} rows x {cols:,} columns")
    far = _FAR_REF_RE.search(xml)  # the declared dimension may lie: look at the cells themselves
    if far:
        ref = xml[far.start() + 3:xml.find(b'"', far.start() + 3, far.start() + 40)]
        raise _too_large(name, f"has a cell at {ref.decode('ascii', 'replace')}")
    if not detail:
        return SheetScan(name, part, state)
    formulas = _formulas(xml)
    errors: dict[str, str] = {}
    if b't="e"' in xml:
        for m in _ERROR_ATTRS_RE.finditer(xml):
            ref = _REF_RE.search(m.group(1))
            if ref:
                v = _V_RE.search(xml, m.end(), m.end() + 400)
                errors[ref.group(1).decode()] = v.group(1).decode() if v else "#ERROR"
    tail = max(xml.rfind(b"</sheetData>"), 0)  # the schema puts <mergeCells> after the cells
    merged = tuple(x.decode() for x in _MERGE_RE.findall(xml, tail)) if xml.find(b"<mergeCell", tail) != -1 else ()
    return SheetScan(name, part, state, formulas, errors, merged)


def formula_text(raw: bytes) -> str:
    return "=" + _unescape(raw.decode("utf-8", "replace"))


def _resolve(target: str) -> str:
    """A relationship target as a part name: relative to xl/ unless absolute, never above the package root."""
    parts: list[str] = []
    for seg in (target[1:] if target.startswith("/") else "xl/" + target).split("/"):
        if seg == "..":
            if parts:
                parts.pop()
        elif seg not in (".", ""):
            parts.append(seg)
    return "/".join(parts)


def open_package(path: Path, detail: set[str] | None = None) -> Package:
    """Check a submitted file from its bytes and scan its sheets. Raises ReadProblem with a plain-English message.

    Every sheet's extent is checked; formulas, error cells and merges are collected for the `detail` sheets (all if
    None), since only those are read further.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ReadProblem("F014", f"The file is {size / 1e6:.0f} MB; a tracker is well under 1 MB. "
                                      "Resend the tracker without pasted images or extra sheets.")
        data = path.read_bytes()
    except OSError as e:
        raise ReadProblem("F013", f"The file cannot be opened: {e.strerror}.") from e
    _sniff(data, path)
    try:
        parts = _parts(data)
        _check_sizes(parts)
        names = parts.keys()

        def part(name: str) -> bytes:
            return _bounded_read(data, parts[name])

        if "xl/workbook.xml" not in names:
            if "word/document.xml" in names or "ppt/presentation.xml" in names:
                raise ReadProblem("F011", "This is a Word or PowerPoint file, not an Excel workbook.")
            raise ReadProblem("F011", "The package has no workbook inside: it is not an Excel .xlsx file.")
        content_types = part("[Content_Types].xml") if "[Content_Types].xml" in names else b""
        macro = "xl/vbaProject.bin" in names or b"macroEnabled" in content_types
        wb_xml = part("xl/workbook.xml").decode("utf-8", "replace")
        rels_xml = part("xl/_rels/workbook.xml.rels").decode("utf-8", "replace") \
            if "xl/_rels/workbook.xml.rels" in names else ""
        rels = {}
        for m in _REL_RE.finditer(rels_xml):
            a = dict(_ATTR_RE.findall(m.group(1)))
            if "Id" in a and "Target" in a:
                rels[a["Id"]] = _resolve(a["Target"])
        sheets: dict[str, SheetScan] = {}
        for m in _SHEET_RE.finditer(wb_xml):
            a = dict(_ATTR_RE.findall(m.group(1)))
            rid = next((v for k, v in a.items() if k == "id"), None)
            target = rels.get(rid or "")
            name = _unescape(a.get("name", ""))
            if not target or target not in names:
                continue
            sheets[name] = _scan_sheet(name, target, a.get("state", "visible"), part(target),
                                       detail is None or name in detail)
        props: dict[str, str] = {}
        if "docProps/custom.xml" in names:
            custom = part("docProps/custom.xml").decode("utf-8", "replace")
            props = {_unescape(k): _unescape(v) for k, v in _PROP_RE.findall(custom)}
        saved_at = None
        if "docProps/core.xml" in names:
            m = _MODIFIED_RE.search(part("docProps/core.xml").decode("utf-8", "replace"))
            saved_at = m.group(1).strip() if m else None
    except (_Damaged, struct.error, UnicodeDecodeError) as e:
        raise ReadProblem("F003", "The workbook is damaged or incomplete (it may have been cut off while sending). "
                                  f"Resend it. ({e})") from e
    except _Unsupported as e:
        raise ReadProblem("F003", f"The workbook's package cannot be read: {e}. Resend it saved from Excel.") from e
    return Package(path, data, hashlib.sha256(data).hexdigest(), macro, sheets, props, saved_at)


def read_values(pkg: Package, sheet_names: list[str]) -> dict[str, list[list[Any]]]:
    """Cell values of the named sheets, from A1, via calamine. Call only after `open_package` accepted the file."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(pkg.data))
        out = {}
        for name in sheet_names:
            if name in pkg.sheets:
                out[name] = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return out
    except (CalamineError, ValueError, TypeError) as e:
        raise ReadProblem("F013", f"The workbook's cells cannot be read: {e}. Open it in Excel, save it, and resend it.") from e
