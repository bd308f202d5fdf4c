"""Native PowerPoint charts for the decks (python-pptx), each with alt text that says in words what it shows.

Kept apart from `decks` so the slide logic stays short: these functions know charts, not the plan. Colour is never
the only carrier of meaning: series are named with their words (legend), bars carry their counts, and the slide
beside a chart lists the same counts in words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from plan_reports.models import UNIT_LABELS

COMMITMENT_STATUSES = ("Completed", "On track", "Minor disruption", "Major disruption", "Not started", "Deferred",
                       "No update")
# fill, data label colour: greens for on track or complete, amber and red for disruption, greys for the rest
STATUS_FILLS = {"Completed": ("2E7D32", "FFFFFF"), "On track": ("A5D6A7", "000000"),
                "Minor disruption": ("FFC000", "000000"), "Major disruption": ("C00000", "FFFFFF"),
                "Not started": ("7F7F7F", "FFFFFF"), "Deferred": ("BFBFBF", "000000"), "No update": ("FFFFFF", "000000")}
C_NS = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"


def set_alt(graphic_frame: Any, text: str) -> None:
    graphic_frame._element.nvGraphicFramePr.cNvPr.set("descr", text)


def _pt(v: float) -> Any:
    from pptx.util import Pt

    return Pt(v)


def _rgb(hex_: str) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_)


def line_chart(placeholder: Any, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
               number_format: str, alt: str, unit: str = "") -> Any:
    """A line chart with markers in a chart placeholder: one line per series, legend below, 12 pt text, and the
    unit as the value axis title, since a bare 80-100 axis does not say whether it is a percentage or a rate."""
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION

    cd = CategoryChartData(number_format=number_format)
    cd.categories = list(categories)
    for name, values in series:
        cd.add_series(name, list(values))
    gf = placeholder.insert_chart(XL_CHART_TYPE.LINE_MARKERS, cd)
    chart = gf.chart
    chart.has_title = False  # the slide title names the measure; one series would otherwise title itself
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    chart.font.size = _pt(12)
    from pptx.enum.dml import MSO_LINE

    for i, s in enumerate(chart.plots[0].series):  # the figures solid dark blue; the target dashed red, and named
        s.format.line.color.rgb = _rgb("1F4E79" if i == 0 else "C00000")
        s.format.line.width = _pt(2.25 if i == 0 else 1.75)
        if i:
            s.format.line.dash_style = MSO_LINE.DASH
        s.marker.format.fill.solid()
        s.marker.format.fill.fore_color.rgb = _rgb("1F4E79" if i == 0 else "C00000")
    axis = chart.value_axis
    axis.has_major_gridlines = True
    scale = value_axis_range([v for _, vs in series for v in vs], unit)
    ticks = number_format  # 8,050,000, with as many decimals as the step needs
    if scale:
        axis.minimum_scale, axis.maximum_scale, axis.major_unit = scale
        places = max(tick_decimals(scale[2]), len(number_format.partition(".")[2]))
        ticks = "#,##0" + ("." + "0" * places if places else "")
    axis.tick_labels.number_format, axis.tick_labels.number_format_is_linked = ticks, False
    if unit:
        chart.value_axis.has_title = True
        chart.value_axis.axis_title.text_frame.text = UNIT_LABELS[unit]
        chart.value_axis.axis_title.text_frame.paragraphs[0].runs[0].font.size = _pt(11)
    set_alt(gf, alt)
    return gf


def target_line(periods: Sequence[str], target: float, year: str) -> list[float | None] | None:
    """The target against the periods of its own financial year only ("2025/26-Q1" and "2025/26-Q2"), or None when
    the figures shown end before that year (a lagged annual measure): a 2025/26 target drawn on 2022/23 data would
    rate a year against a target never set for it."""
    line = [target if p.split("-")[0] == year else None for p in periods]
    return line if any(v is not None for v in line) else None


def tick_decimals(step: float) -> int:
    """Decimals a tick label needs to show `step` exactly (0.2 -> 1, 0.05 -> 2, 5 -> 0): no two ticks read the same."""
    text = f"{step:.10f}".rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


def value_axis_range(values: Sequence[float | None], unit: str) -> tuple[float, float, float] | None:
    """(minimum, maximum, major unit) for a value axis that does not magnify noise: the axis spans at least a fifth
    of the level shown (a percentage: 10 points, or its level if smaller, so a 2% rate still shows a 0.1 change),
    centred on the data, kept at or above 0 (and at most 100 for a percentage) when the data are, with round ticks.
    None when there is nothing to draw."""
    import math

    vs = [v for v in values if v is not None]
    if not vs:
        return None
    lo, hi = min(vs), max(vs)
    level = max(abs(lo), abs(hi))
    need = max(min(10.0, level) if unit == "percent" else 0.2 * level, hi - lo)
    need = need if need >= 1e-6 else 1.0  # all zero (or next to it): a 0-1 axis
    mid = (lo + hi) / 2
    lo, hi = mid - need / 2 * 1.1, mid + need / 2 * 1.1
    if min(vs) >= 0 and lo < 0:  # slide up to start at 0
        lo, hi = 0.0, hi - lo
    if unit == "percent" and max(vs) <= 100 and hi > 100:  # slide down to end at 100, not below 0
        lo, hi = max(lo - (hi - 100), 0.0 if min(vs) >= 0 else lo - (hi - 100)), 100.0
    raw = (hi - lo) / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)  # no 2.5: a whole-number axis never reads 97.5 as 98
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def status_series(counts: Sequence[Counter[str]]) -> list[tuple[str, list[int | None]]]:
    """One series per status that occurs, in the fixed status order; a zero is left blank so it gets no label."""
    present = [s for s in COMMITMENT_STATUSES if any(c.get(s) for c in counts)]
    return [(s, [c.get(s) or None for c in counts]) for s in present]


def counts_in_words(counts: Counter[str]) -> str:
    return ", ".join(f"{s} {counts[s]}" for s in COMMITMENT_STATUSES if counts.get(s))


def status_bar_chart(slide: Any, box: tuple[int, int, int, int], categories: Sequence[str],
                     counts: Sequence[Counter[str]], title: str, alt: str) -> Any:
    """A horizontal stacked bar per category (first category at the top), one segment per status, each segment
    labelled with its count and the statuses named in the legend."""
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION

    cd = CategoryChartData(number_format="0")
    cd.categories = list(categories)
    for name, values in status_series(counts):
        cd.add_series(name, values)
    gf = slide.shapes.add_chart(XL_CHART_TYPE.BAR_STACKED, *box, cd)
    chart = gf.chart
    chart.font.size = _pt(12)
    chart.has_title = True
    chart.chart_title.text_frame.text = title
    for p in chart.chart_title.text_frame.paragraphs:
        for r in p.runs:
            r.font.size, r.font.bold = _pt(14), True
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    plot = chart.plots[0]
    plot.gap_width, plot.overlap = {1: 250, 2: 100}.get(len(categories), 50), 100  # one bar is not a block
    for s in plot.series:
        fill, ink = STATUS_FILLS[s.name]
        s.format.fill.solid()
        s.format.fill.fore_color.rgb = _rgb(fill)
        s.format.line.color.rgb = _rgb("404040")
        s.format.line.width = _pt(0.75)
        labels = s.data_labels
        labels.show_value, labels.position = True, XL_LABEL_POSITION.CENTER
        labels.number_format, labels.number_format_is_linked = "0", False
        labels.font.size, labels.font.bold = _pt(12), True
        labels.font.color.rgb = _rgb(ink)
    chart.category_axis.reverse_order = True  # first aim at the top, as it reads
    crosses = chart.value_axis._element.find(f"{C_NS}crosses")
    if crosses is not None:
        crosses.set("val", "max")  # keep the value axis below the bars once the categories are reversed
    top = max((sum(c.values()) for c in counts), default=1)
    axis = chart.value_axis
    axis.minimum_scale, axis.maximum_scale = 0, top
    axis.major_unit = 1 if top <= 10 else 2 if top <= 20 else 5
    axis.has_major_gridlines = True
    axis.tick_labels.number_format, axis.tick_labels.number_format_is_linked = "0", False
    set_alt(gf, alt)
    return gf
