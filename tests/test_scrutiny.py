from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from docx import Document

from plan_reports.config import Config
from plan_reports.periods import Period
from plan_reports.score import load_inputs, score_period
from plan_reports.scrutiny import ARREARS_NOTE, SCRUTINY_COLUMNS, committee_items, in_arrears, write_annual_report, write_scrutiny
from plan_reports.store import connect

Q2 = Period.parse("2025/26-Q2")


@pytest.fixture(scope="module")
def reports(demo, config: Config, tmp_path_factory: pytest.TempPathFactory):
    return write_scrutiny(config, Q2, demo.store, tmp_path_factory.mktemp("scrutiny"), pdf=False)


@pytest.fixture(scope="module")
def scores(demo, config: Config):
    con = connect(demo.store)
    plan = config.plans["2022-26"]
    return score_period(config, plan, Q2, load_inputs(con, config, plan, Q2))


def indicator_tables(docx: Path) -> list:
    return [t for t in Document(str(docx)).tables if t.rows[0].cells[0].text == "Indicator"]


def test_one_report_per_committee_with_the_right_columns(reports, config: Config) -> None:
    assert sorted(r.committee for r in reports) == sorted(c.id for c in config.committees.committees)
    for r in reports:
        tables = indicator_tables(r.docx)
        assert tables, r.committee
        for t in tables:
            assert tuple(c.text for c in t.rows[0].cells) == SCRUTINY_COLUMNS
            assert t.rows[0]._tr.trPr.xpath("./w:tblHeader"), "the header row repeats on each page"
        assert r.xlsx.exists()


def test_values_and_ratings_match_the_scores(reports, scores, config: Config) -> None:
    by_name = {x.name: x for x in scores.indicators}
    checked = 0
    for r in reports:
        for t in indicator_tables(r.docx):
            for row in list(t.rows)[1:]:
                cells = [c.text for c in row.cells]
                x = by_name[cells[0].removesuffix(" *")]
                assert cells[5] == x.rating.status
                assert cells[0].endswith(" *") == x.statutory
                assert cells[1].endswith(ARREARS_NOTE) == in_arrears(x, Q2)
                checked += 1
    assert checked > 100
    assert any(in_arrears(x, Q2) for x in scores.indicators) and any(x.statutory for x in scores.indicators)


def test_summary_counts_match_direction_of_travel(reports, scores, config: Config) -> None:
    for r in reports:
        c = next(c for c in config.committees.committees if c.id == r.committee)
        items = committee_items(scores, c)
        want = {k: sum(1 for x in items if x.short_term == v) for k, v in
                (("improved", "Improving"), ("declined", "Worsening"), ("unchanged", "No change"))}
        want["not comparable"] = len(items) - sum(want.values())
        assert r.directions == want
        summary = next(p.text for p in Document(str(r.docx)).paragraphs if p.text.startswith("Of the"))
        words = r"(\d+) (?:improved|declined|were unchanged|could not be compared)"
        got = dict(zip(want, map(int, re.findall(words, summary)), strict=True))
        assert got == want  # every indicator is counted somewhere: the four add up to the committee's total
        assert sum(got.values()) == len(items) and f"Of the {len(items)} indicators" in summary


def test_annual_report_structure(demo, config: Config, tmp_path: Path) -> None:
    docx, _ = write_annual_report(config, Period.parse("2024/25"), demo.store, tmp_path, pdf=False)
    doc = Document(str(docx))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert [o.title for o in config.plans["2022-26"].outcomes] == [h for h in headings if h in
                                                                  {o.title for o in config.plans["2022-26"].outcomes}]
    compendium = doc.tables[-1]
    assert [c.text for c in compendium.rows[0].cells] == ["Indicator", "2021/22", "2022/23", "2023/24", "2024/25",
                                                          "Rated figure (period)", "Target", "RAG",
                                                          "Change on a year earlier", "Quartile"]
    assert len(compendium.rows) - 1 == len(list(config.plans["2022-26"].indicators()))
    # A RAG never sits beside a blank: each rated row shows the figure rated and the period that figure covers.
    con = connect(demo.store)
    try:
        held = {(r["indicator_id"], r["data_period"]) for r in con.execute(
            "SELECT indicator_id, data_period FROM indicator_values WHERE value IS NOT NULL")}
    finally:
        con.close()
    rated = [[c.text for c in row.cells] for row in compendium.rows[1:] if row.cells[7].text in ("Green", "Amber", "Red")]
    assert rated
    for row in rated:
        m = re.fullmatch(r".+ \((.+)\)", row[5])
        assert m, row
        assert (row[0].split()[0], m.group(1)) in held, row  # the store holds a value for that indicator and period
    summary = [p.text for p in doc.paragraphs]
    assert any(t.startswith("How judgements are made: Indicators and commitments are judged separately") for t in summary)
    pictures = doc.inline_shapes
    assert len(pictures) >= 15
    assert all(s._inline.docPr.get("descr", "").startswith("Line chart of") for s in pictures)


@pytest.mark.office
def test_reports_render_to_pdf(demo) -> None:
    from plan_reports.office import pdf_pages

    pdfs = [p for p in demo.extra["scrutiny"] + demo.extra["annual"] if p.suffix == ".pdf"]
    assert len(pdfs) == 2 and all(pdf_pages(p) >= 2 for p in pdfs)


def test_cli(demo, tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "plan_reports", "scrutiny", "--period", "2025/26-Q2", "--committee", "H-OSC",
                         "--out", str(tmp_path), "--store", str(demo.store), "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and "Scrutiny_H-OSC_2025-26-Q2.docx" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "plan_reports", "annual-report", "--year", "2025/26-Q1", "--out", str(tmp_path),
                          "--store", str(demo.store)], capture_output=True, text=True)
    assert bad.returncode == 2 and "financial year" in bad.stderr
