"""Build templates/corporate.pptx: a clean 16:9 corporate template with the named layouts the decks use.

    .venv/bin/python scripts/make_deck_template.py [OUT]

Layouts (names matter, order does not): Title, Section, Title and Content, Two Content, Table, Chart.
Placeholders are found by name: Title, Subtitle, Body, Left, Right, Headline, Table Area, Chart Area, Caption.
A council's own template works if it has the same layout and placeholder names.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lxml import etree
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.util import Emu, Inches

NS = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main",
      "p": "http://schemas.openxmlformats.org/presentationml/2006/main"}
BLUE, TEAL, GREY = "1F4E79", "2E75B6", "595959"
W, H = Inches(13.333), Inches(7.5)
M = Inches(0.5)


def _name(shape, name: str) -> None:
    shape._element.nvSpPr.cNvPr.set("name", name)


def _place(shape, left, top, width, height) -> None:
    shape.left, shape.top, shape.width, shape.height = Emu(left), Emu(top), Emu(width), Emu(height)


def _theme(prs) -> None:
    master = prs.slide_master
    theme_part = next(r.target_part for r in master.part.rels.values() if r.reltype.endswith("/theme"))
    root = etree.fromstring(theme_part.blob)
    for tag, color in (("dk2", BLUE), ("accent1", BLUE), ("accent2", TEAL), ("accent3", "A5A5A5"), ("accent4", "FFC000"),
                       ("accent5", "5B9BD5"), ("accent6", "70AD47")):
        el = root.find(f".//a:clrScheme/a:{tag}", NS)
        for child in list(el):
            el.remove(child)
        etree.SubElement(el, f"{{{NS['a']}}}srgbClr", val=color)
    for font in root.findall(".//a:fontScheme//a:latin", NS):
        font.set("typeface", "Arial")
    theme_part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _brand_band(prs) -> None:
    """A thin band across the top of every slide. python-pptx cannot add master shapes, so draw it on a scratch
    slide and move it onto the master, behind the placeholders."""
    scratch = prs.slides.add_slide(prs.slide_layouts[6])
    band = scratch.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, W, Inches(0.18))
    band.fill.solid()
    band.fill.fore_color.rgb = RGBColor.from_string(BLUE)
    band.line.fill.background()
    band.name = "Brand band"
    tree = prs.slide_master.shapes._spTree
    tree.insert(2, band._element)  # after nvGrpSpPr and grpSpPr: drawn first, so behind everything
    sld_ids = prs.slides._sldIdLst
    rid = sld_ids[-1].rId
    prs.part.drop_rel(rid)
    sld_ids.remove(sld_ids[-1])


def build(out: Path) -> None:
    prs = Presentation()
    prs.slide_width, prs.slide_height = W, H
    _theme(prs)
    master = prs.slide_master
    _brand_band(prs)
    for ph in master.placeholders:
        t = ph.placeholder_format.type
        if t is not None and t.name == "TITLE":
            _place(ph, M, Inches(0.3), W - 2 * M, Inches(0.95))
        elif t is not None and t.name == "BODY":
            _place(ph, M, Inches(1.4), W - 2 * M, Inches(5.6))
    title_style = master._element.find(".//p:txStyles/p:titleStyle/a:lvl1pPr", NS)
    title_style.set("algn", "l")
    rpr = title_style.find("a:defRPr", NS)
    rpr.set("sz", "2400")
    rpr.set("b", "1")
    for c in list(rpr):
        if c.tag.endswith("solidFill"):
            rpr.remove(c)
    fill = etree.SubElement(rpr, f"{{{NS['a']}}}solidFill")
    etree.SubElement(fill, f"{{{NS['a']}}}srgbClr", val=BLUE)
    rpr.insert(0, fill)

    layouts = list(prs.slide_layouts)
    keep = {0: "Title", 1: "Title and Content", 2: "Section", 3: "Two Content", 4: "Table", 7: "Chart"}
    for i, layout in enumerate(layouts):
        if i not in keep:
            prs.slide_layouts.remove(layout)
            continue
        layout._element.cSld.set("name", keep[i])
        for ph in list(layout.placeholders):
            if ph.placeholder_format.idx >= 10:  # date, footer, slide number: not used
                ph._element.getparent().remove(ph._element)
    by = {lay.name: lay for lay in prs.slide_layouts}
    top = Inches(1.4)
    body_h = H - top - Inches(0.45)
    lay = by["Title"]
    t, s = lay.placeholders[0], lay.placeholders[1]
    _name(t, "Title"), _name(s, "Subtitle")
    _place(t, Inches(0.8), Inches(2.2), W - Inches(1.6), Inches(1.6))
    _place(s, Inches(0.8), Inches(4.0), W - Inches(1.6), Inches(1.4))
    lay = by["Section"]
    _name(lay.placeholders[0], "Title"), _name(lay.placeholders[1], "Body")
    for ph in lay.placeholders:  # the default section header is right-anchored capitals; keep it plain
        for el in ph._element.iter(f"{{{NS['a']}}}lvl1pPr"):
            el.set("algn", "l")
        for el in ph._element.iter(f"{{{NS['a']}}}defRPr"):
            el.attrib.pop("cap", None)
        body_pr = ph._element.find(f".//{{{NS['a']}}}bodyPr")
        if body_pr is not None:
            body_pr.set("anchor", "t")
    _place(lay.placeholders[0], Inches(0.8), Inches(2.6), W - Inches(1.6), Inches(1.3))
    _place(lay.placeholders[1], Inches(0.8), Inches(4.0), W - Inches(1.6), Inches(1.2))
    lay = by["Title and Content"]
    _name(lay.placeholders[0], "Title"), _name(lay.placeholders[1], "Body")
    _place(lay.placeholders[1], M, top, W - 2 * M, body_h)
    lay = by["Two Content"]
    _name(lay.placeholders[0], "Title"), _name(lay.placeholders[1], "Left"), _name(lay.placeholders[2], "Right")
    half = (W - 2 * M - Inches(0.4)) // 2
    _place(lay.placeholders[1], M, top, half, body_h)
    _place(lay.placeholders[2], M + half + Inches(0.4), top, half, body_h)
    lay = by["Table"]
    phs = {p.placeholder_format.idx: p for p in lay.placeholders}
    _name(phs[0], "Title"), _name(phs[1], "Headline"), _name(phs[2], "Table Area")
    phs[2]._element.nvSpPr.nvPr.find(f"{{{NS['p']}}}ph").set("type", "tbl")
    for idx in (3, 4):
        phs[idx]._element.getparent().remove(phs[idx]._element)
    _place(phs[1], M, Inches(1.3), W - 2 * M, Inches(0.55))
    _place(phs[2], M, Inches(1.9), W - 2 * M, H - Inches(1.9) - Inches(0.4))
    lay = by["Chart"]
    phs = {p.placeholder_format.idx: p for p in lay.placeholders}
    _name(phs[0], "Title"), _name(phs[1], "Chart Area"), _name(phs[2], "Caption")
    phs[1]._element.nvSpPr.nvPr.find(f"{{{NS['p']}}}ph").set("type", "chart")
    _place(phs[0], M, Inches(0.3), W - 2 * M, Inches(0.95))
    _place(phs[1], M, top, Inches(8.6), body_h)
    _place(phs[2], M + Inches(8.9), top, W - 2 * M - Inches(8.9), body_h)
    out.parent.mkdir(parents=True, exist_ok=True)
    prs.save(out)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "templates" / "corporate.pptx")
