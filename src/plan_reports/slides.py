"""Slides from a template: the deck machinery the decks stage fills (layouts, placeholders, fitted text, tables).

Split from `decks` so that module holds what a board sees and this one how it is put on a slide. Slides use named
layouts and placeholders (`REQUIRED_LAYOUTS`), so a council's own branded template with the same names works.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.atomic import atomic_path
from plan_reports.textfit import LINE_SPACING, PARA_GAP_PT, chars_per_line, lines_available, lines_needed, para_lines, shorten

if TYPE_CHECKING:
    from pptx.presentation import Presentation
    from pptx.slide import Slide

REQUIRED_LAYOUTS: dict[str, tuple[str, ...]] = {
    "Title": ("Title", "Subtitle"),
    "Section": ("Title", "Body"),
    "Title and Content": ("Title", "Body"),
    "Two Content": ("Title", "Left", "Right"),
    "Table": ("Title", "Headline", "Table Area"),
    "Chart": ("Title", "Chart Area", "Caption"),
}
TABLE_ROWS = 8  # data rows per table slide
TABLE_PT = 12
BODY_PT = 16
TITLE_PT = 24
CAPTION_PT = 14
RAG_COLOURS = {"Green": ("C6EFCE", "006100"), "Amber": ("FFEB9C", "7F4F00"), "Red": ("FFC7CE", "9C0006"),
               "No data": ("E7E6E6", "3A3A3A"), "No target": ("F2F2F2", "3A3A3A"), "Data only": ("FFFFFF", "3A3A3A"),
               "Check value": ("FFFFFF", "7F4F00"),
               "Insufficient data": ("E7E6E6", "3A3A3A"), "Not rated": ("FFFFFF", "3A3A3A")}
class TemplateError(ValueError):
    """The template lacks a layout or placeholder the decks need; the message names it."""


# ---- template access ---------------------------------------------------------------------------------------------

def open_template(path: Path) -> Presentation:
    from pptx import Presentation as load

    try:
        prs = load(str(path))
    except Exception as e:
        raise TemplateError(f"Cannot open the deck template {path}: {e}") from e
    check_template(prs, path)
    for sld in list(prs.slides._sldIdLst):  # start empty even if the template has example slides
        prs.part.drop_rel(sld.rId)
        prs.slides._sldIdLst.remove(sld)
    return prs


def check_template(prs: Presentation, path: Path) -> None:
    layouts = {lay.name: lay for lay in prs.slide_layouts}
    for name, placeholders in REQUIRED_LAYOUTS.items():
        if name not in layouts:
            raise TemplateError(f"The deck template {path.name} has no slide layout named '{name}' "
                                f"(it has: {', '.join(layouts) or 'none'}).")
        have = {ph.name for ph in layouts[name].placeholders}
        for ph in placeholders:
            if ph not in have:
                raise TemplateError(f"Layout '{name}' in {path.name} has no placeholder named '{ph}' "
                                    f"(it has: {', '.join(sorted(have))}).")


class Deck:
    """A presentation being filled from a template, by layout and placeholder name."""

    def __init__(self, template: Path) -> None:
        self.prs = open_template(template)
        self.layouts = {lay.name: lay for lay in self.prs.slide_layouts}

    def slide(self, layout: str, title: str) -> Slide:
        s = self.prs.slides.add_slide(self.layouts[layout])
        ph = self.ph(s, "Title")
        frame = ph.text_frame
        frame.word_wrap = True
        size = TITLE_PT if layout != "Title" else 36
        cpl, cap = chars_per_line(ph.width, size, bold=True), lines_available(ph.height, size)
        frame.text = title if lines_needed(title, cpl) <= cap else shorten(title, cpl * cap - 4)
        for p in frame.paragraphs:
            for r in p.runs:
                r.font.size = _pt(size)
        return s

    def ph(self, slide: Slide, name: str) -> Any:
        idx = next(p.placeholder_format.idx for p in slide.slide_layout.placeholders if p.name == name)
        return next(p for p in slide.placeholders if p.placeholder_format.idx == idx)

    def text(self, slide: Slide, name: str, paragraphs: Sequence[str], pt: float, bold_first: bool = False,
             bullets: bool = False, bold: Iterable[int] = ()) -> None:
        ph = self.ph(slide, name)
        frame = ph.text_frame
        frame.word_wrap = True
        cpl, cap = chars_per_line(ph.width, pt), lines_available(ph.height, pt)
        gap = para_lines(pt)
        kept: list[str] = []
        used = 0.0
        for par in paragraphs:
            before = gap if kept else 0.0  # no space before the first paragraph
            need = lines_needed(par, cpl) + before
            if used + need > cap:
                room = int(cap - used - before)
                if room > 0:  # shortened until it wraps into the room left: word wrap can need a line more
                    limit = room * cpl - 2
                    while limit > 0 and lines_needed(shorten(par, limit), cpl) > room:
                        limit -= cpl // 2 or 1
                    if limit > 0:
                        kept.append(shorten(par, limit))
                break
            kept.append(par)
            used += need
        frame.clear()
        for i, par in enumerate(kept):
            p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            p.line_spacing = 1.1
            p.space_before = _pt(PARA_GAP_PT if i else 0)
            p.space_after = _pt(0)
            run = p.add_run()
            run.text = par
            run.font.size = _pt(pt)
            run.font.bold = (bold_first and i == 0) or i in set(bold)
            if not bullets:
                _no_bullet(p)

    def fitted(self, slide: Slide, name: str, paragraphs: Sequence[str], sizes: Sequence[float]) -> None:
        """`text` at the largest of `sizes` at which every paragraph fits whole: a headline loses a point of size
        before it loses words ("1 deferred" cut to "1..." misled a board member)."""
        ph = self.ph(slide, name)
        for pt in sizes:
            cpl, cap = chars_per_line(ph.width, pt), lines_available(ph.height, pt)
            need = sum(lines_needed(p, cpl) for p in paragraphs) + para_lines(pt) * (len(paragraphs) - 1)
            if need <= cap:
                break
        self.text(slide, name, paragraphs, pt)

    def save(self, target: Path) -> Path:
        from plan_reports.stable_zip import stabilise

        with atomic_path(target) as tmp:
            self.prs.save(str(tmp))
            stabilise(tmp)  # the same deck gives the same bytes, so its recorded hash identifies it
        return target


def _pt(v: float) -> Any:
    from pptx.util import Pt

    return Pt(v)


def _no_bullet(paragraph: Any) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.set("marL", "0")
    ppr.set("indent", "0")
    from lxml import etree

    for child in list(ppr):
        if child.tag.endswith(("buChar", "buAutoNum", "buNone")):
            ppr.remove(child)
    etree.SubElement(ppr, "{http://schemas.openxmlformats.org/drawingml/2006/main}buNone")


def _fill(cell: Any, rgb: str) -> None:
    from pptx.dml.color import RGBColor

    cell.fill.solid()
    cell.fill.fore_color.rgb = RGBColor.from_string(rgb)


def add_table(deck: Deck, slide: Slide, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
              rag_cols: Iterable[int] = (), alt: str = "") -> Any:
    """A native table in the slide's table placeholder: 12 pt text, header row, RAG cells as word plus colour."""
    from pptx.dml.color import RGBColor

    assert len(rows) <= TABLE_ROWS, "paginate before calling add_table"
    ph = deck.ph(slide, "Table Area")
    area_w, area_h = ph.width, ph.height  # read before the placeholder is replaced by the table
    gf = ph.insert_table(rows=len(rows) + 1, cols=len(header))
    table = gf.table
    total = sum(widths)
    col_w = [int(area_w * w / total) for w in widths]
    for i, w in enumerate(col_w):
        table.columns[i].width = w
    # Rows share the area, up to four lines each: a short table gets whole titles rather than "...".
    row_h = int(min(area_h / (len(rows) + 1), 12700 * (4 * TABLE_PT * LINE_SPACING + 10)))
    for r in range(len(rows) + 1):
        table.rows[r].height = row_h
    rag_cols = set(rag_cols)
    for ci, text in enumerate(header):
        _cell(table.cell(0, ci), text, col_w[ci], row_h, bold=True)
    for ri, row in enumerate(rows, 1):
        for ci, text in enumerate(row):
            cell = table.cell(ri, ci)
            _cell(cell, text, col_w[ci], row_h)
            if ci in rag_cols and text in RAG_COLOURS:
                bg, fg = RAG_COLOURS[text]
                _fill(cell, bg)
                for p in cell.text_frame.paragraphs:
                    for run in p.runs:
                        run.font.color.rgb = RGBColor.from_string(fg)
                        run.font.bold = True
    gf._element.nvGraphicFramePr.cNvPr.set("descr", alt or f"Table: {', '.join(header)}")
    return table


def _cell(cell: Any, text: str, width: int, height: int, bold: bool = False) -> None:
    frame = cell.text_frame
    frame.word_wrap = True
    cell.margin_left = cell.margin_right = 45720
    cell.margin_top = cell.margin_bottom = 22860
    inner_w, inner_h = width - 91440, height - 45720
    cap = chars_per_line(inner_w, TABLE_PT) * lines_available(inner_h + 12700 * 7.2, TABLE_PT)
    frame.text = shorten(text, cap)
    for p in frame.paragraphs:
        for run in p.runs:
            run.font.size = _pt(TABLE_PT)
            run.font.bold = bold


def chunks(items: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [items[i:i + n] for i in range(0, len(items), n)] or [[]]
