from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree
from pptx import Presentation
from pptx.util import Pt

from plan_reports.config import Config
from plan_reports.decks import (
    REQUIRED_LAYOUTS,
    TABLE_PT,
    TABLE_ROWS,
    TemplateError,
    chars_per_line,
    default_template,
    lines_available,
    lines_needed,
    open_template,
    para_lines,
    write_decks,
)
from plan_reports.office import convert_many, pdf_pages
from plan_reports.periods import Period
from plan_reports.score import load_inputs, score_period
from plan_reports.store import connect

H1 = Period.parse("2025/26-H1")


def slides(path: Path) -> list:
    return list(Presentation(str(path)).slides)


def shapes_in(decks: list[Path]):
    for deck in decks:
        for s in slides(deck):
            for shape in s.shapes:
                yield deck, s, shape


def test_one_deck_per_board_and_a_summary(demo, config: Config) -> None:
    names = sorted(p.name for p in demo.decks)
    boards = sorted(f"Deck_{o.board.id}_2025-26-H1.pptx" for o in config.plans["2022-26"].outcomes)
    assert names == sorted([*boards, "Deck_CMT-summary_2025-26-H1.pptx"])
    summary = slides(next(p for p in demo.decks if "CMT" in p.name))
    assert len(summary) == 1 + len(config.plans["2022-26"].outcomes)


def test_every_slide_has_a_title_and_text_fits(demo) -> None:
    for deck in demo.decks:
        for i, s in enumerate(slides(deck), 1):
            assert s.shapes.title is not None and s.shapes.title.text.strip(), f"{deck.name} slide {i} has no title"
            for shape in s.shapes:
                if not shape.has_text_frame or not shape.text_frame.text.strip():
                    continue
                paras = [p for p in shape.text_frame.paragraphs if p.text.strip()]
                sizes = [r.font.size.pt for p in paras for r in p.runs if r.font.size]
                pt = min(sizes) if sizes else 18
                bold = shape == s.shapes.title
                cpl = chars_per_line(shape.width, pt, bold=bold)
                need = sum(lines_needed(p.text, cpl) for p in paras) + para_lines(pt) * (len(paras) - 1)
                assert need <= lines_available(shape.height, pt), f"{deck.name} slide {i}: '{shape.text_frame.text[:60]}'"


def test_tables_paginate_and_use_12pt(demo) -> None:
    seen_tables = 0
    for _, _, shape in shapes_in(demo.decks):
        if shape.has_table:
            seen_tables += 1
            t = shape.table
            assert len(t.rows) - 1 <= TABLE_ROWS
            for row in t.rows:
                for cell in row.cells:
                    for p in cell.text_frame.paragraphs:
                        for r in p.runs:
                            assert r.font.size is not None and r.font.size >= Pt(TABLE_PT)
            assert shape._element.nvGraphicFramePr.cNvPr.get("descr"), "tables carry alt text"
    assert seen_tables > 20


def test_continuation_slides_when_rows_overflow(demo) -> None:
    titles = [s.shapes.title.text for d in demo.decks for s in slides(d)]
    assert any(t.endswith("(continued)") for t in titles)


def test_rag_in_tables_matches_the_scores(demo, config: Config) -> None:
    con = connect(demo.store)
    q = Period.parse("2025/26-Q2")
    plan = config.plans["2022-26"]
    scores = score_period(config, plan, q, load_inputs(con, config, plan, q))
    by_name = {x.name: x for x in scores.indicators}
    checked = 0
    for _, _, shape in shapes_in(demo.decks):
        if shape.has_table and shape.table.cell(0, 0).text.startswith("Indicator"):
            for row in list(shape.table.rows)[1:]:
                name = row.cells[0].text.removesuffix(" *")
                x = by_name.get(name) or next(v for k, v in by_name.items() if k.startswith(name.rstrip("…")))
                assert row.cells[3].text == x.rating.status
                checked += 1
    assert checked >= len(scores.indicators) - 20  # the enabling section is not a board's


def test_charts_are_native_with_the_right_values(demo, config: Config) -> None:
    con = connect(demo.store)
    q = Period.parse("2025/26-Q2")
    plan = config.plans["2022-26"]
    scores = score_period(config, plan, q, load_inputs(con, config, plan, q))
    by_title = {f"{x.sub_outcome_id}: {x.name}": x for x in scores.indicators}
    charts = 0
    for _, s, shape in shapes_in(demo.decks):
        if shape.has_chart:
            charts += 1
            x = by_title[s.shapes.title.text]
            series = shape.chart.plots[0].series
            want = [v for _, v in x.history[-8:]]
            assert [None if v is None else pytest.approx(v) for v in want] == list(series[0].values)
            assert list(shape.chart.plots[0].categories) == [p for p, _ in x.history[-8:]]
            if x.target is not None:
                assert series[1].name == "Target" and set(series[1].values) == {x.target}
            assert shape._element.nvGraphicFramePr.cNvPr.get("descr", "").startswith("Line chart of")
    assert charts >= 15


def test_rag_is_never_colour_alone(demo) -> None:
    for _, _, shape in shapes_in(demo.decks):
        if shape.has_table:
            for row in shape.table.rows:
                for cell in row.cells:
                    tc_pr = cell._tc.tcPr
                    fill = tc_pr.find("{http://schemas.openxmlformats.org/drawingml/2006/main}solidFill") if tc_pr is not None else None
                    if fill is not None:
                        assert cell.text.strip(), "a coloured cell always says what it means"


@pytest.mark.office
def test_decks_render_in_libreoffice(demo, tmp_path: Path) -> None:
    pdfs = convert_many(list(demo.decks), tmp_path / "pdf", "pdf")
    for deck, pdf in zip(demo.decks, pdfs, strict=True):
        assert pdf_pages(pdf) == len(slides(deck)), deck.name
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "3", "-png", str(pdfs[0]), str(tmp_path / "p")], check=True)
        assert len(list(tmp_path.glob("p-*.png"))) == 3


def _restyled(tmp_path: Path) -> Path:
    """The corporate template with other colours and fonts, and the same layout names."""
    import zipfile

    src = default_template()
    out = tmp_path / "other.pptx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.startswith("ppt/theme/"):
                data = data.replace(b"1F4E79", b"7B2C83").replace(b'typeface="Arial"', b'typeface="DejaVu Serif"')
            if item.filename.startswith("ppt/slideMasters/"):
                data = data.replace(b"1F4E79", b"7B2C83")
            zout.writestr(item, data)
    return out


def test_a_second_template_gives_a_valid_deck(demo, config: Config, tmp_path: Path) -> None:
    other = _restyled(tmp_path)
    written = write_decks(config, H1, demo.store, tmp_path / "decks", board="CG", template=other)
    assert len(written) == 1
    ours = next(p for p in demo.decks if "CG-OB" in p.name)
    assert [s.shapes.title.text for s in slides(written[0])] == [s.shapes.title.text for s in slides(ours)]
    theme = [p for p in Presentation(str(written[0])).slide_master.part.package.iter_parts() if "theme" in str(p.partname)]
    assert any(b"DejaVu Serif" in p.blob for p in theme)


def test_a_template_missing_a_layout_is_named(tmp_path: Path) -> None:
    prs = Presentation(str(default_template()))
    chart = next(layout for layout in prs.slide_layouts if layout.name == "Chart")
    prs.slide_layouts.remove(chart)
    broken = tmp_path / "broken.pptx"
    prs.save(str(broken))
    with pytest.raises(TemplateError, match="no slide layout named 'Chart'"):
        open_template(broken)
    prs = Presentation(str(default_template()))
    table = next(layout for layout in prs.slide_layouts if layout.name == "Table")
    ph = next(p for p in table.placeholders if p.name == "Headline")
    ph._element.getparent().remove(ph._element)
    prs.save(str(broken))
    with pytest.raises(TemplateError, match=r"Layout 'Table' .* no placeholder named 'Headline'"):
        open_template(broken)


def test_template_has_the_named_layouts() -> None:
    prs = Presentation(str(default_template()))
    layouts = {layout.name: {p.name for p in layout.placeholders} for layout in prs.slide_layouts}
    for name, phs in REQUIRED_LAYOUTS.items():
        assert set(phs) <= layouts[name]
    assert etree.fromstring(prs.slide_master.part.blob) is not None


def test_decks_cli(demo, tmp_path: Path) -> None:
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "plan_reports", "decks", *a], capture_output=True, text=True)  # noqa: E731
    ok = run("--period", "2025/26-H1", "--board", "SW-OB", "--out", str(tmp_path), "--store", str(demo.store), "--json")
    assert ok.returncode == 0 and "Deck_SW-OB_2025-26-H1.pptx" in ok.stdout
    assert run("--period", "2025/26-Q2", "--out", str(tmp_path), "--store", str(demo.store)).returncode == 2
    bad = run("--period", "2025/26-H1", "--board", "XX", "--out", str(tmp_path), "--store", str(demo.store))
    assert bad.returncode == 2 and "No Outcome Board 'XX'" in bad.stderr
    nolayout = tmp_path / "t.pptx"
    Presentation().save(str(nolayout))
    t = run("--period", "2025/26-H1", "--out", str(tmp_path), "--store", str(demo.store), "--template", str(nolayout))
    assert t.returncode == 2 and "no slide layout named" in t.stderr and "Traceback" not in t.stderr
