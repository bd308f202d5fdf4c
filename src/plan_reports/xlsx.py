"""Read submitted workbooks safely: decide with real parsers whether a file may go to calamine, then read it.

python-calamine aborts the whole process on some crafted files (a cell at XFD1048576), so nothing reaches it until
the package has passed these checks, all made with the standard library's own parsers:

- `zipfile` opens the package; every part is read with a bounded `read(limit + 1)`, with limits on the file size,
  the number of parts, each part's and the total expanded size, and the compression ratio. zipfile also refuses a
  local header whose name differs from the central directory's, and checks each part's CRC; duplicate part names,
  which make "which one does the reader take?" ambiguous, are refused here.
- every XML part is tokenized by expat, which is stopped at any DOCTYPE or entity declaration, wherever it is;
- the extent of each sheet comes from the parsed cells: their `r` attributes, or the position a cell without one
  takes after its neighbour, so quoting or spacing an attribute cannot hide a far-away cell.

The same expat pass collects formulas, error cells and merged ranges. This runs in an isolated worker process (see
`workers`), so even a reader crash costs only that file. Nothing is ever written back.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from xml.parsers import expat

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 250 * 1024 * 1024
MAX_MEMBER_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 200  # uncompressed/compressed for any member over 1 MB
MAX_ENTRIES = 5_000
MAX_ROWS = 99_999
MAX_COLS = 702  # ZZ: a reference with three column letters is beyond any tracker
MAX_CELLS = 500_000  # rows x columns from A1: calamine fills that whole grid (a tracker has about 10,000)
MAX_SHEETS = 100
MAX_STRINGS = 1_000_000  # a shared-string table's declared size, which calamine allocates up front

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_SHEET_FOLDERS = ("worksheets", "chartsheets", "dialogsheets", "macrosheets")


class ReadProblem(Exception):
    """The file cannot be read as a workbook. `code` is a stable issue code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class SheetScan:
    name: str
    part: str
    state: str
    formulas: dict[str, str] = field(default_factory=dict)  # cell -> formula text without "="
    errors: dict[str, str] = field(default_factory=dict)
    merged: tuple[str, ...] = ()
    rows: int = 0  # the true extent, from the parsed cells
    cols: int = 0


@dataclass(frozen=True, slots=True)
class Package:
    path: Path
    data: bytes = field(repr=False)  # a package of exactly the parts that were checked: all calamine ever reads
    sha256: str  # of the file as submitted
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
    """(row, column) of an A1 reference such as 'B12'; ValueError if it is not one."""
    m = _COL_RE.match(ref)
    if not m:
        raise ValueError(ref)
    return int(m.group(2)), col_index(m.group(1))


def formula_text(text: str) -> str:
    return "=" + text


def _sniff(data: bytes, path: Path) -> None:
    """Name what a non-zip file really is, so the message helps (a classification, not a safety decision)."""
    if not data:
        raise ReadProblem("F001", "The file is empty (0 bytes). Save the workbook again and resend it.")
    if data.startswith(OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data[:2_000_000]:
            raise ReadProblem("F007", "The workbook is password-protected (encrypted). Remove the password to open "
                                      "(File > Info > Protect Workbook > Encrypt with Password) and resend it.")
        raise ReadProblem("F006", "This is a legacy Excel 97-2003 (.xls) file. Open it in Excel and save it as an "
                                  "Excel Workbook (.xlsx), keeping the tracker's layout.")
    if data.startswith(b"PK"):
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
    """The package is broken or ambiguous: a cut-off or corrupted file, or one built to confuse readers."""


def _bomb(what: str) -> ReadProblem:
    return ReadProblem("F008", f"{what}, far beyond any real workbook: refused as a possible zip bomb.")


class _Parts:
    """The package's parts, each read once with a bounded read, counted against the total."""

    def __init__(self, data: bytes) -> None:
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError) as e:
            raise _Damaged(f"not a readable zip package: {e}") from e
        if len(infos) > MAX_ENTRIES:
            raise _bomb(f"The package holds {len(infos):,} parts (a workbook has a few dozen)")
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.filename in self.infos:
                raise _Damaged(f"the package holds two parts named {info.filename}, so readers could disagree on it")
            self.infos[info.filename] = info
        declared = sum(i.file_size for i in infos)
        if declared > MAX_TOTAL_UNCOMPRESSED:
            raise _bomb(f"The package would expand to {declared:,} bytes")
        self.total = 0
        self.read: dict[str, bytes] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def get(self, name: str) -> bytes:
        """One part's bytes, read at most once and never beyond the limits; zipfile checks the CRC and the name."""
        if name in self.read:
            return self.read[name]
        info = self.infos[name]
        if info.flag_bits & 0x1:
            raise _Damaged(f"part {name} is encrypted")
        try:
            with self.zip.open(info) as f:
                out = f.read(MAX_MEMBER_UNCOMPRESSED + 1)
        except NotImplementedError as e:
            raise _Damaged(f"part {name} uses a compression method no workbook uses ({e})") from e
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as e:
            raise _Damaged(f"part {name}: {e}") from e
        if len(out) > MAX_MEMBER_UNCOMPRESSED:
            raise _bomb(f"Part {name} expands beyond {MAX_MEMBER_UNCOMPRESSED:,} bytes")
        if len(out) > 1_000_000 and len(out) > MAX_RATIO * max(info.compress_size, 1):
            raise _bomb(f"Part {name} is compressed {len(out) // max(info.compress_size, 1):,} to 1")
        self.total += len(out)
        if self.total > MAX_TOTAL_UNCOMPRESSED:
            raise _bomb(f"The package expands beyond {MAX_TOTAL_UNCOMPRESSED:,} bytes")
        self.read[name] = out
        return out


Start = Callable[[str, dict[str, str]], None]


def _local(tag: str) -> str:
    return tag.rpartition(":")[2]


def _parse_xml(name: str, xml: bytes, start: Start | None = None, end: Callable[[str], None] | None = None,
               text: Callable[[str], None] | None = None) -> None:
    """Tokenize one XML part with expat, stopping at any DOCTYPE or entity declaration wherever it stands.

    Handlers get element names as written: some generators prefix them ('x:c'), so each handler takes `_local`
    of a name with a colon (done there, not in a wrapper, since a sheet has thousands of elements).
    """
    def refuse(*_: Any) -> None:
        raise ReadProblem("F009", f"Part {name} declares a DOCTYPE or XML entities, which Excel never writes; refused "
                                  "as a possible XML entity attack. Save the tracker from Excel again and resend it.")

    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    p.UnparsedEntityDeclHandler = refuse
    p.NotationDeclHandler = refuse
    p.ExternalEntityRefHandler = refuse
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    if start:
        p.StartElementHandler = start
    if end:
        p.EndElementHandler = end
    if text:
        p.CharacterDataHandler = text
    try:
        p.Parse(xml, True)
    except expat.ExpatError as e:
        raise _Damaged(f"part {name} is not well-formed XML ({e})") from e


_REF_RE = re.compile(r"^([A-Z]{1,3})([1-9][0-9]{0,6})$")  # as Excel writes it: no $, no leading zeros
_ROW_RE = re.compile(r"^[1-9][0-9]{0,6}$")


def _too_large(name: str, what: str) -> ReadProblem:
    return ReadProblem("F010", f"Sheet '{name}' {what}, far beyond any tracker (a few hundred rows). Refused as too large: "
                               "delete the stray cells far below or to the right of the data.")


class _SheetReader:
    """Handlers for one sheet's expat pass: the true extent, and (with `detail`) formulas, error cells and merges.

    Called for every element of the sheet (thousands), so the common path does little: a cell's own `r` is its name.
    """

    def __init__(self, name: str, detail: bool) -> None:
        self.name, self.detail = name, detail
        self.row = self.col = self.rows = self.cols = 0
        self.cell_row = 0
        self.cell = ""  # the current cell's reference as written, or "" if it has none (named when needed)
        self.is_error = False
        self.collect: str | None = None  # "f" or "v" while inside one whose text is wanted
        self.buf: list[str] = []
        self.formulas: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.merged: list[str] = []

    def _where(self, ref: str) -> tuple[int, int]:
        m = _REF_RE.match(ref)
        if not m:
            raise _Damaged(f"sheet '{self.name}' has a cell reference {ref[:20]!r} that is not one")
        return int(m.group(2)), _col_number(m.group(1))

    def _extent(self, row: int, col: int) -> None:
        if row > MAX_ROWS or col > MAX_COLS:
            raise _too_large(self.name, f"has a cell at {col_name(col)}{row}" if col <= 16_384 and row <= 10**7
                             else "has a cell beyond Excel's last column or row")
        if row > self.rows:
            self.rows = row
        if col > self.cols:
            self.cols = col

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if ":" in tag:
            tag = _local(tag)
        if tag == "c":
            ref = attrs.get("r")
            if ref is None:  # a cell without a reference takes the next column of the current row
                self.col += 1
                row, col = self.row or 1, self.col
                self.cell = ""
            else:
                row, col = self._where(ref)
                self.col = col
                self.cell = ref
            self._extent(row, col)
            self.cell_row = row
            self.is_error = attrs.get("t") == "e"
        elif tag == "row":
            ref = attrs.get("r")
            if ref is not None and not _ROW_RE.match(ref):
                raise _Damaged(f"sheet '{self.name}' has a row number {ref[:20]!r} that is not one")
            self.row = int(ref) if ref is not None else self.row + 1
            self.col = 0
            self._extent(self.row, 1)
        elif tag == "dimension":
            for part in attrs.get("ref", "").split(":"):
                if part:
                    self._extent(*self._where(part))
        elif not self.detail:
            return
        elif tag == "f" or (tag == "v" and self.is_error):
            self.collect, self.buf = tag, []
        elif tag == "mergeCell" and "ref" in attrs:
            self.merged.append(attrs["ref"])

    def _name(self) -> str:
        return self.cell or f"{col_name(self.col)}{self.cell_row}"

    def text(self, data: str) -> None:
        if self.collect:
            self.buf.append(data)

    def end(self, tag: str) -> None:
        if ":" in tag:
            tag = _local(tag)
        if tag == self.collect:
            if tag == "f":
                self.formulas[self._name()] = "".join(self.buf)
            else:
                self.errors[self._name()] = "".join(self.buf) or "#ERROR"
            self.collect = None
        elif tag == "c" and self.is_error:
            self.errors.setdefault(self._name(), "#ERROR")
            self.is_error = False


@cache
def _col_number(letters: str) -> int:
    return col_index(letters)


def _scan_sheet(name: str, part: str, state: str, xml: bytes, detail: bool) -> SheetScan:
    r = _SheetReader(name, detail)
    _parse_xml(part, xml, r.start, r.end if detail else None, r.text if detail else None)
    if r.rows * r.cols > MAX_CELLS:  # each within bounds, but the grid from A1 to the far corner is not
        raise _too_large(name, f"spans {r.rows:,} rows x {r.cols:,} columns from A1 ({r.rows * r.cols:,} cells)")
    return SheetScan(name, part, state, r.formulas, r.errors, tuple(r.merged), r.rows, r.cols)


def _part_name(target: str) -> str:
    """A workbook relationship's target as a part name (relative to xl/ unless absolute), exactly as a reader would
    take it literally: a target that needs tidying (`//`, `.`, `..`, `\\`) could name one part to us and another to
    calamine, so it is refused."""
    name = target[1:] if target.startswith("/") else "xl/" + target
    if "\\" in name or any(seg in ("", ".", "..") for seg in name.split("/")):
        raise _Damaged(f"the workbook points at a sheet by an unusual path ({target[:60]!r}) that readers could "
                       "take differently")
    return name


def _check_string_table(parts: _Parts) -> None:
    """calamine sizes the shared-string table from its declared counts before reading it."""
    name = "xl/sharedStrings.xml"
    if name not in parts:
        return

    def start(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "sst":
            for key in ("count", "uniqueCount"):
                v = attrs.get(key, "0")
                if not v.isdecimal() or int(v) > MAX_STRINGS:
                    raise ReadProblem("F010", f"The shared-string table declares {v[:20]} strings, far beyond any "
                                              "tracker. Refused as too large.")

    _parse_xml(name, parts.get(name), start)


def _elements(parts: _Parts, name: str, tag: str) -> list[dict[str, str]]:
    """The attributes of every `tag` element in one part (empty if the part is absent)."""
    found: list[dict[str, str]] = []
    if name in parts:
        _parse_xml(name, parts.get(name), lambda t, a: found.append(a) if _local(t) == tag else None)
    return found


def _texts(parts: _Parts, name: str, tag: str, key_attr: str | None = None) -> dict[str, str]:
    """The text inside each `tag` element of one part, keyed by its `key_attr` attribute (or by the tag)."""
    out: dict[str, str] = {}
    key: str | None = None
    buf: list[str] = []

    def start(t: str, attrs: dict[str, str]) -> None:
        nonlocal key
        if _local(t) == tag:
            key = attrs.get(key_attr, "") if key_attr else t
            buf.clear()

    def end(t: str) -> None:
        nonlocal key
        if _local(t) == tag and key is not None:
            out[key] = "".join(buf).strip()
            key = None

    if name in parts:
        _parse_xml(name, parts.get(name), start, end, lambda s: buf.append(s) if key is not None else None)
    return out


def _repack(parts: _Parts, sheets: set[str]) -> bytes:
    """A new package holding exactly the XML parts that were checked, for calamine: it never reads other bytes.

    Sheet-like parts whose extent was not scanned (not listed by the workbook) are left out, so none can be read.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in parts.read.items():
            if name not in sheets and any(f"{kind}/" in name.lower() for kind in _SHEET_FOLDERS):
                continue
            z.writestr(name, data)
    return out.getvalue()


def open_package(path: Path, detail: set[str] | None = None) -> Package:
    """Check a submitted file and scan its sheets. Raises ReadProblem with a plain-English message.

    Every XML part is tokenized (so a DOCTYPE anywhere is refused) and every sheet's extent checked; formulas, error
    cells and merges are collected for the `detail` sheets (all if None), since only those are read further.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ReadProblem("F014", f"The file is {size / 1e6:.0f} MB; a tracker is well under 1 MB. "
                                      "Resend the tracker without pasted images or extra sheets.")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ReadProblem("F013", f"The file cannot be opened: {e.strerror}.") from e
    _sniff(data, path)
    try:
        parts = _Parts(data)
        if "xl/workbook.xml" not in parts:
            if "word/document.xml" in parts or "ppt/presentation.xml" in parts:
                raise ReadProblem("F011", "This is a Word or PowerPoint file, not an Excel workbook.")
            raise ReadProblem("F011", "The package has no workbook inside: it is not an Excel .xlsx file.")
        types = _elements(parts, "[Content_Types].xml", "Override")
        macro = "xl/vbaProject.bin" in parts or any("macroEnabled" in t.get("ContentType", "") for t in types)
        rels = {a["Id"]: _part_name(a["Target"]) for a in _elements(parts, "xl/_rels/workbook.xml.rels", "Relationship")
                if "Id" in a and "Target" in a and a.get("TargetMode") != "External"}
        sheets: dict[str, SheetScan] = {}
        entries = _elements(parts, "xl/workbook.xml", "sheet")
        if len(entries) > MAX_SHEETS:
            raise ReadProblem("F010", f"The workbook lists {len(entries):,} sheets; a tracker has five. Refused.")
        scanned: set[str] = set()
        for a in entries:
            ids = [v for k, v in a.items() if _local(k) == "id"]
            if len(ids) != 1:  # readers could take different ones
                raise _Damaged(f"sheet {a.get('name', '')[:40]!r} has {len(ids)} relationship ids")
            target, name = rels.get(ids[0]), a.get("name", "")
            if target in scanned:
                raise _Damaged(f"two sheets point at the same part {target}")
            if target and target in parts:
                scanned.add(target)
                sheets[name] = _scan_sheet(name, target, a.get("state", "visible"), parts.get(target),
                                           detail is None or name in detail)
        _check_string_table(parts)
        props = _texts(parts, "docProps/custom.xml", "property", "name")
        core = _texts(parts, "docProps/core.xml", "modified")
        for name in parts.infos:  # every other XML part calamine might read: tokenized, so a DOCTYPE anywhere is refused
            if name.lower().endswith(_XML_SUFFIXES) and name not in parts.read:
                _parse_xml(name, parts.get(name))
        checked = _repack(parts, scanned)
    except _Damaged as e:
        raise ReadProblem("F003", "The workbook is damaged or incomplete (it may have been cut off while sending). "
                                  f"Resend it saved from Excel. ({e})") from e
    return Package(path, checked, hashlib.sha256(data).hexdigest(), macro, sheets, props, core.get("modified") or None)


def read_values(pkg: Package, sheet_names: list[str]) -> dict[str, list[list[Any]]]:
    """Cell values of the named sheets, from A1, via calamine, from the checked parts only.

    Call only after `open_package` accepted the file, and only in a worker process (see `workers`): a reader crash
    must cost this file alone.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(pkg.data))
        return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
                for name in sheet_names if name in pkg.sheets}
    except (CalamineError, ValueError, TypeError, OSError) as e:
        raise ReadProblem("F013", f"The workbook's cells cannot be read: {e}. Open it in Excel, save it, and resend it.") from e
