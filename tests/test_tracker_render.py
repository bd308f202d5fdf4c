"""Trackers as a lead prints them: A4, 8 pt or larger, page numbers, department and period, no overlapping text."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from plan_reports.config import Config
from plan_reports.office import convert_many
from plan_reports.periods import Period
from plan_reports.trackers import write_trackers

PERIOD = Period.parse("2025/26-Q2")
A4 = (595.3, 841.9)
# Height of a word's box over its font size ((ascent + descent) / em): the largest of the fonts a tracker renders in
# (DejaVu Sans where Arial is missing, Liberation Sans or Arial otherwise), so the size read is never overstated.
BOX_OVER_SIZE = 1.164
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)

pytestmark = [pytest.mark.office,
              pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")]


@pytest.fixture(scope="module")
def pages(config: Config, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[float, float, list]]]:
    """Every page of one tracker per department, as (width, height, words with their boxes)."""
    tmp = tmp_path_factory.mktemp("render")
    trackers = write_trackers(config, PERIOD, tmp / "xlsx", generated_at=datetime(2025, 10, 1, 9, tzinfo=UTC))
    out = {}
    for pdf in convert_many(trackers, tmp / "pdf", "pdf"):
        html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        out[pdf.stem] = [(float(w), float(h), [(*map(float, m.groups()[:4]), m.group(5)) for m in WORD.finditer(body)])
                         for w, h, body in PAGE.findall(html)]
    return out


def test_every_page_is_a4_with_data_sheets_landscape(pages: dict[str, list], config: Config) -> None:
    assert len(pages) == len(config.organisation.departments)
    for name, doc in pages.items():
        sizes = [(round(w, 1), round(h, 1)) for w, h, _ in doc]
        assert sizes[0] == A4, f"{name}: the Instructions print portrait"
        assert all(s in (A4, A4[::-1]) for s in sizes), name
        assert sum(s == A4[::-1] for s in sizes) >= 2, f"{name}: Indicators and Commitments print landscape"


def test_text_prints_at_8pt_or_more(pages: dict[str, list]) -> None:
    for name, doc in pages.items():
        for n, (_, _, words) in enumerate(doc, 1):
            sizes = [(y1 - y0) / BOX_OVER_SIZE for _, y0, _, y1, _ in words]
            assert sizes and min(sizes) >= 7.95, f"{name} page {n}: {min(sizes):.1f} pt"


def test_footer_has_department_period_and_page_numbers(pages: dict[str, list], config: Config) -> None:
    for name, doc in pages.items():
        dept = config.organisation.department(name.split("_")[1]).name
        for n, (_, h, words) in enumerate(doc, 1):
            bottom = " ".join(t for _, y0, _, _, t in words if y0 > h - 60)
            assert f"page {n} of {len(doc)}" in bottom, (name, n, bottom)
            assert dept.split()[0] in bottom and "2025/26" in bottom, (name, n, bottom)


def test_no_text_overlaps(pages: dict[str, list]) -> None:
    for name, doc in pages.items():
        for n, (_, _, words) in enumerate(doc, 1):
            boxes = sorted(words, key=lambda b: b[1])
            for i, (x0, y0, x1, y1, t) in enumerate(boxes):
                for a0, b0, a1, b1, u in boxes[i + 1:]:
                    if b0 >= y1 - 1.0:  # sorted by top: nothing further down can overlap this one
                        break
                    overlap_x = min(x1, a1) - max(x0, a0)
                    overlap_y = min(y1, b1) - max(y0, b0)
                    line = 0.2 * min(y1 - y0, b1 - b0)  # lines of one paragraph: boxes touch by their leading
                    assert overlap_x <= 0.5 or overlap_y <= line, f"{name} page {n}: {t!r} overlaps {u!r}"
