"""Measuring and shortening text for fixed-size boxes (slides, table cells): estimates that err towards fitting, so
nothing a board member needs is hidden below a box's edge."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

CHAR_WIDTH_EM = 0.55  # average advance of a proportional sans font, generous so estimates err towards fitting
BOLD_WIDTH_EM = 0.62
LINE_SPACING = 1.2  # measured; the text itself is set at 1.1 with PARA_GAP_PT before each paragraph
PARA_GAP_PT = 4


def chars_per_line(width_emu: int, pt: float, bold: bool = False) -> int:
    inset_pt = 14.4  # default left and right insets of 0.1 inch
    return max(8, int((width_emu / 12700 - inset_pt) / (pt * (BOLD_WIDTH_EM if bold else CHAR_WIDTH_EM))))


def lines_available(height_emu: int, pt: float) -> int:
    return max(1, int((height_emu / 12700 - 7.2) / (pt * LINE_SPACING)))


def lines_needed(text: str, cpl: int) -> int:
    return sum(max(1, len(textwrap.wrap(par, cpl, break_long_words=True))) for par in text.split("\n"))


def para_lines(pt: float) -> float:
    """The space before a paragraph, in lines."""
    return PARA_GAP_PT / (pt * LINE_SPACING)


def shorten(text: str, max_chars: int) -> str:
    """Cut at a word boundary and mark the cut, so a shortened sentence still reads as one."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max(1, max_chars - 1)].rsplit(" ", 1)[0].rstrip(",;:-–(.… ")
    return cut + "…"


def fits(text: str, width_emu: int, height_emu: int, pt: float) -> bool:
    return lines_needed(text, chars_per_line(width_emu, pt)) <= lines_available(height_emu, pt)


def paginate_paragraphs(paragraphs: Sequence[str], width_emu: int, height_emu: int, pt: float) -> list[list[str]]:
    """Group paragraphs into pages that fit. A paragraph moves whole to the next page; only one longer than a
    page is split, at word boundaries."""
    cpl, cap = chars_per_line(width_emu, pt), lines_available(height_emu, pt)
    gap = para_lines(pt)
    pages: list[list[str]] = [[]]
    used = 0.0
    for par in paragraphs:
        wrapped = textwrap.wrap(par, cpl) or [""]
        if pages[-1] and used + gap + len(wrapped) > cap:
            pages.append([])
            used = 0.0
        while wrapped:
            before = gap if pages[-1] else 0.0
            room = int(cap - used - before)
            if room <= 0:
                pages.append([])
                used, before, room = 0.0, 0.0, int(cap)
            take, wrapped = wrapped[:room], wrapped[room:]
            pages[-1].append(" ".join(take))
            used += len(take) + before
    return [p for p in pages if p]
