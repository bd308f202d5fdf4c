from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from pptx import Presentation
from pptx.enum.chart import XL_CHART_TYPE
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
from plan_reports.models import UNIT_LABELS
from plan_reports.office import convert_many, pdf_pages
from plan_reports.periods import Period
from plan_reports.score import load_inputs, score_period
from plan_reports.store import connect

H1 = Period.parse("2025/26-H1")


@pytest.fixture(scope="module")
def scores(demo, config: Config):
    """The quarter the H1 decks show, scored again here from the store: the tests' independent reference."""
    con = connect(demo.store)
    q = Period.parse("2025/26-Q2")
    plan = config.plans["2022-26"]
    try:
        return score_period(config, plan, q, load_inputs(con, config, plan, q))
    finally:
        con.close()


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
    assert len(summary) == 2 + len(config.plans["2022-26"].outcomes)  # title, how to read it, one per outcome


def test_deferred_commitments_are_named_not_hidden(demo, config: Config) -> None:
    """'27 of 27 commitments on track' over two deferred ones misled a board member: the headline names them."""
    con = connect(demo.store)
    q = Period.parse("2025/26-Q2")
    plan = config.plans["2022-26"]
    scores = score_period(config, plan, q, load_inputs(con, config, plan, q))
    con.close()
    summary = slides(next(p for p in demo.decks if "CMT" in p.name))
    checked = 0
    for o, s in zip(plan.outcomes, summary[2:], strict=True):
        n = sum(1 for c in scores.commitments if c.outcome_id == o.id and c.assessment.status == "Deferred")
        text = " ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame)
        if n:
            assert f"{n} deferred" in text, (o.id, text)
            checked += 1
        else:
            assert "deferred" not in text, o.id
    assert checked  # the demo has deferred commitments to show


def test_every_deck_says_how_its_judgements_are_made(demo, config: Config) -> None:
    """A board member asked why a sub-outcome was Green with most indicators Amber: the rule is on slide 2."""
    tolerance = config.scoring.rag.default.tolerance_pct
    th = config.scoring.rollup.judgement.points
    for deck in demo.decks:
        guide = slides(deck)[1]
        assert guide.shapes.title.text == "How to read this deck", deck.name
        text = " ".join(sh.text_frame.text for sh in guide.shapes if sh.has_text_frame)
        assert f"Amber within {tolerance:g}% of it" in text, deck.name
        assert "the overall judgement is the lower of the two" in text and f"{th.Green:g} or more is Green" in text


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
                assert row.cells[4].text == x.rating.status
                assert row.cells[1].text == (x.data_period or "–")  # the period the figure covers, beside it
                checked += 1
    on_boards = sum(len(s.indicators) for o in plan.outcomes for s in o.sub_outcomes)  # the enabling section is no board's
    assert checked >= on_boards


def test_charts_are_native_with_the_right_values(demo, config: Config) -> None:
    con = connect(demo.store)
    q = Period.parse("2025/26-Q2")
    plan = config.plans["2022-26"]
    scores = score_period(config, plan, q, load_inputs(con, config, plan, q))
    by_title = {f"{x.sub_outcome_id}: {x.name}": x for x in scores.indicators}
    charts = 0
    for _, s, shape in shapes_in(demo.decks):
        if shape.has_chart and shape.chart.chart_type == XL_CHART_TYPE.LINE_MARKERS:
            charts += 1
            x = by_title[s.shapes.title.text]
            series = shape.chart.plots[0].series
            points = x.history[-8:]
            first = next(k for k, (_, v) in enumerate(points) if v is not None)
            points = points[first:]  # the chart starts at the first figure, not with empty quarters
            want = [v for _, v in points]
            assert [None if v is None else pytest.approx(v) for v in want] == list(series[0].values)
            assert list(shape.chart.plots[0].categories) == [p for p, _ in points]
            assert shape.chart.value_axis.axis_title.text_frame.text == UNIT_LABELS[x.unit]
            axis = shape.chart.value_axis
            shown = [v for v in want if v is not None]
            assert axis.minimum_scale <= min(shown) and max(shown) <= axis.maximum_scale
            year = x.rating.inputs.get("target_year") or "2025/26"  # the year the target is for
            assert year == "2025/26" or x.data_period.startswith(year)  # an earlier year's only for its own figure
            want_target = [x.target if p.startswith(year) else None for p, _ in points]
            if x.target is not None and any(want_target):
                # the target across its own year's periods only: never drawn on another year's figures
                assert series[1].name == f"Target {year}" and list(series[1].values) == want_target
            else:
                assert len(series) == 1, x.indicator_id
                if x.target is not None:
                    caption = " ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame)
                    assert f"latest figure covers {x.data_period}" in caption
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


GLANCE_HEADER = ["Sub-outcome", "Judgement", "Indicators", "Commitments", "Indicator trend", "Coverage"]


def _rag_cell(text: str, missing: str) -> dict[str, int]:
    m = re.fullmatch(rf"Green (\d+), Amber (\d+), Red (\d+)(?:; {missing} (\d+))?(?:; deferred (\d+))?", text)
    assert m, f"not a RAG count in words: {text!r}"
    got = {"Green": int(m[1]), "Amber": int(m[2]), "Red": int(m[3]), missing: int(m[4] or 0)}
    return got | ({"deferred": int(m[5] or 0)} if missing == "no update" else {})


def test_at_a_glance_counts_indicators_and_commitments_apart(demo, config: Config, scores) -> None:
    """Issue 20.1: an indicator count and a commitment count are never added together ("SW1: Green 10" was ten
    commitments while none of SW1's rated indicators was Green)."""
    def expected(so_id: str) -> tuple[dict[str, int], dict[str, int]]:
        ind = Counter(x.rating.status for x in scores.indicators if x.sub_outcome_id == so_id)
        com = Counter(c.assessment.rag for c in scores.commitments if c.sub_outcome_id == so_id)
        return ({"Green": ind["Green"], "Amber": ind["Amber"], "Red": ind["Red"],
                 "no data": ind["No data"] + ind["No target"]},
                {"Green": com["Green"], "Amber": com["Amber"], "Red": com["Red"], "no update": com["No data"],
                 "deferred": sum(1 for c in scores.commitments if c.sub_outcome_id == so_id
                                 and c.assessment.status == "Deferred")})

    seen: dict[str, list[str]] = {}
    for deck, s, shape in shapes_in(demo.decks):
        if not s.shapes.title.text.startswith("At a glance"):
            continue
        assert shape.has_table or shape.has_text_frame
        if not shape.has_table:
            continue
        rows = [[c.text for c in r.cells] for r in shape.table.rows]
        assert rows[0] == GLANCE_HEADER
        for row in rows[1:]:
            so_id = row[0].split()[0]
            want_i, want_c = expected(so_id)
            assert _rag_cell(row[2], "no data") == want_i, (deck.name, row)
            assert _rag_cell(row[3], "no update") == want_c, (deck.name, row)
            assert row[1] == scores.level("sub_outcome", so_id).overall.judgement
            seen.setdefault(so_id, []).append(deck.name)
    board_subs = {so.id for o in config.plans["2022-26"].outcomes for so in o.sub_outcomes}
    assert set(seen) == board_subs
    assert all(len(names) == 2 and any("CMT-summary" in n for n in names) for names in seen.values()), \
        "every sub-outcome is in its board's deck and in the corporate summary"
    # the case from the issue: SW1's Green is commitments, not indicators
    ind, com = expected("SW1")
    assert ind["Green"] != com["Green"]


def _commitment_slides(demo):
    for deck in demo.decks:
        for s in slides(deck):
            if re.fullmatch(r"\S+ commitments by status", s.shapes.title.text):
                yield deck, s


def test_commitment_slides_have_a_native_stacked_bar_per_aim(demo, config: Config, scores) -> None:
    """Issue 20.2: the counts are a native chart, one stacked bar per aim, with alt text and the words beside it."""
    from plan_reports.charts import COMMITMENT_STATUSES

    subs = {so.id: so for o in config.plans["2022-26"].outcomes for so in o.sub_outcomes}
    checked = set()
    for deck, s in _commitment_slides(demo):
        so = subs[s.shapes.title.text.split()[0]]
        comms = [c for c in scores.commitments if c.sub_outcome_id == so.id]
        status = lambda c: c.assessment.status or "No update"  # noqa: E731
        aims = [a for a in so.aims if any(c.aim_id == a.id for c in comms)]
        per_aim = [Counter(status(c) for c in comms if c.aim_id == a.id) for a in aims]
        total = Counter(status(c) for c in comms)
        charts = [sh for sh in s.shapes if sh.has_chart]
        assert len(charts) == 1, f"{deck.name}: {so.id}"
        chart = charts[0].chart
        assert chart.chart_type == XL_CHART_TYPE.BAR_STACKED
        cats = list(chart.plots[0].categories)
        assert len(cats) == len(aims)
        for cat, a in zip(cats, aims, strict=True):
            assert cat.startswith(a.id.rsplit(".", 1)[-1] + " ") and a.text.startswith(cat.split(" ", 1)[1].rstrip("…"))
        present = [st for st in COMMITMENT_STATUSES if total[st]]
        series = chart.plots[0].series
        assert [x.name for x in series] == present, "series are the statuses that occur, named in words"
        for x in series:
            assert list(x.values) == [n[x.name] or None for n in per_aim], (so.id, x.name)
            assert x.data_labels.show_value, "each segment is labelled with its count"
        assert sum(v or 0 for x in series for v in x.values) == len(comms)
        assert chart.has_legend and chart.category_axis.reverse_order
        alt = charts[0]._element.nvGraphicFramePr.cNvPr.get("descr")
        assert alt.startswith(f"Stacked bar chart of the {len(comms)} commitments under {so.id}")
        words = ", ".join(f"{st} {total[st]}" for st in present)
        assert alt.endswith(f"In total: {words}.")
        text = "\n".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame and sh != s.shapes.title)
        assert f"{len(comms)} commitments: {words}." in text, "the counts are on the slide in words too"
        assert "Exceptions" in text
        checked.add(so.id)
    assert checked == set(subs)


def test_commitment_exceptions_are_beside_the_chart(demo, scores) -> None:
    text_by_so: dict[str, str] = {}
    for deck in demo.decks:
        for s in slides(deck):
            m = re.fullmatch(r"(\S+) commitments(?: by status|: exceptions \(continued\))", s.shapes.title.text)
            if m:
                text_by_so[m[1]] = text_by_so.get(m[1], "") + "\n".join(
                    sh.text_frame.text for sh in s.shapes if sh.has_text_frame and sh != s.shapes.title)
    majors = [c for c in scores.commitments if c.assessment.status == "Major disruption" and c.sub_outcome_id in text_by_so]
    assert majors, "the demo has commitments in major disruption"
    for c in majors:
        assert f"{c.commitment_id} [Major disruption]" in text_by_so[c.sub_outcome_id]
        if c.challenges:
            assert c.challenges in text_by_so[c.sub_outcome_id]
    calm = [so for so, t in text_by_so.items() if not any(c.sub_outcome_id == so for c in majors)]
    assert any("None this period" in text_by_so[so] for so in calm)


@given(st.lists(st.one_of(st.none(), st.floats(0, 1e7, allow_nan=False)), min_size=1, max_size=12),
       st.sampled_from(["percent", "count", "rate_per_100000", "years"]))
def test_a_value_axis_holds_the_data_without_magnifying_noise(values: list[float | None], unit: str) -> None:
    from plan_reports.charts import tick_decimals, value_axis_range

    if unit == "percent":
        values = [None if v is None else v % 100 for v in values]
    scale = value_axis_range(values, unit)
    real = [v for v in values if v is not None]
    if not real:
        assert scale is None
        return
    assert scale is not None
    lo, hi, step = scale
    assert lo <= min(real) and max(real) <= hi and lo >= 0  # every point on the chart, no negative axis for counts
    n = round((hi - lo) / step)
    assert (hi - lo) / step == pytest.approx(n) and 2 <= n <= 12
    places = tick_decimals(step)
    labels = [f"{lo + k * step:,.{places}f}" for k in range(n + 1)]
    assert len(set(labels)) == len(labels)  # no two ticks read the same ("98, 98" for 97.5 and 98.0)
    assert all(float(t.replace(",", "")) == pytest.approx(lo + k * step) for k, t in enumerate(labels))
    level = max(real)
    if unit == "percent":
        assert hi <= 100 and hi - lo >= min(10.0, level) - 1e-9  # 10 points, or the level of a small rate
    else:
        assert hi - lo >= 0.2 * level - 1e-6  # a 1% wobble never fills the chart
