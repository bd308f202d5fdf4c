"""Native PowerPoint charts for the decks (python-pptx), each with alt text that says in words what it shows.

Kept apart from `decks` so the slide logic stays short: these functions know charts, not the plan. Colour is never
the only carrier of meaning: series are named with their words (legend), bars carry their counts, and the slide
beside a chart lists the same counts in words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

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
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    chart.font.size = _pt(12)
    chart.value_axis.has_major_gridlines = True
    if unit:
        chart.value_axis.has_title = True
        chart.value_axis.axis_title.text_frame.text = unit
        chart.value_axis.axis_title.text_frame.paragraphs[0].runs[0].font.size = _pt(11)
    set_alt(gf, alt)
    return gf


def target_line(periods: Sequence[str], target: float) -> list[float | None]:
    """The target against the periods of the latest figure's financial year only ("2025/26-Q1" and "2025/26-Q2",
    or "2022/23" alone): a flat line back to 2023/24 would claim a target that was never set for those years."""
    year = periods[-1].split("-")[0]
    return [target if p.split("-")[0] == year else None for p in periods]


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
