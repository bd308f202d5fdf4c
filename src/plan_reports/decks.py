"""The decks stage: Outcome Board highlight decks and the corporate summary, built from validated, scored data.

Template-driven: slides use named layouts and placeholders (`REQUIRED_LAYOUTS`), so a council's own branded template
with the same names gives the same deck in its own look. Everything fits: tables paginate at `TABLE_ROWS` with 12 pt
text, long text is shortened to the frame's measured capacity (the full text goes to the appendix), and RAG is
always a word as well as a colour.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.charts import counts_in_words, line_chart, status_bar_chart, target_line
from plan_reports.models import UNIT_LABELS, Outcome, Plan
from plan_reports.periods import Period
from plan_reports.score import CommitmentScore, IndicatorScore, PeriodScores, Rollup, fmt_value
from plan_reports.slides import (  # re-exported: the tests and adapters use them from here
    BODY_PT,
    CAPTION_PT,
    TABLE_PT,
    TABLE_ROWS,
    Deck,
    add_table,
    chunks,
)
from plan_reports.slides import (
    REQUIRED_LAYOUTS as REQUIRED_LAYOUTS,
)
from plan_reports.slides import (
    TemplateError as TemplateError,
)
from plan_reports.slides import (
    open_template as open_template,
)
from plan_reports.textfit import (  # re-exported: the tests measure slides with them
    chars_per_line as chars_per_line,
)
from plan_reports.textfit import (
    fits as fits,
)
from plan_reports.textfit import (
    lines_available as lines_available,
)
from plan_reports.textfit import (
    lines_needed as lines_needed,
)
from plan_reports.textfit import (
    paginate_paragraphs as paginate_paragraphs,
)
from plan_reports.textfit import (
    para_lines as para_lines,
)
from plan_reports.textfit import (
    shorten as shorten,
)

if TYPE_CHECKING:

    from plan_reports.config import Config
    from plan_reports.publish import ReportContext
    from plan_reports.store import ReturnStatus

ARROWS = {"Improving": "↑ Improving", "Worsening": "↓ Worsening", "No change": "→ No change", "Increasing": "↑ Up",
          "Decreasing": "↓ Down", "Not comparable": "– n/a"}
EXCEPTION_STATUSES = ("Major disruption", "Deferred")
HEADLINE_PTS = (CAPTION_PT, 13, 12)  # a headline shrinks to fit before it is cut
TROUBLE = ("Major disruption", "Deferred", "Minor disruption")  # worst first




# ---- deck content ------------------------------------------------------------------------------------------------

@dataclass
class DeckData:
    """Everything the decks show for one half-year, loaded at the edge."""

    half: Period
    quarter: Period
    plan: Plan
    scores: PeriodScores
    statuses: dict[str, list[ReturnStatus]]  # quarter -> returns
    board_date: date
    council: str
    updates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # commitment -> updates in the half
    sources: dict[str, str] = field(default_factory=dict)  # indicator or commitment -> "file, Sheet!Cell"
    changes: list[dict[str, Any]] = field(default_factory=list)  # restatements of earlier published periods
    published: str = ""  # which published version the figures are
    guide: list[str] = field(default_factory=list)  # how to read the deck: the council's rules in words


def compact(v: float | None, unit: str, decimals: int) -> str:
    """A value for a table cell: %, £ and £m kept, other units left to the indicator's name."""
    if v is None:
        return "–"
    return fmt_value(v, unit, decimals) if unit in ("percent", "gbp", "gbp_millions") else fmt_value(v, "count", decimals)


def _value_text(x: IndicatorScore, decimals: dict[str, int]) -> str:
    return compact(x.value, x.unit, decimals[x.indicator_id])


def _target_text(x: IndicatorScore, decimals: dict[str, int]) -> str:
    band = x.band()  # a within-range measure: its band is its target
    if band:
        return f"{compact(band[0], x.unit, decimals[x.indicator_id])} to {compact(band[1], x.unit, decimals[x.indicator_id])}"
    return compact(x.target, x.unit, decimals[x.indicator_id])


def _quartile_text(x: IndicatorScore) -> str:
    if not x.position or not x.position.quartile:
        return "–"
    short = {1: "Top", 2: "2nd", 3: "3rd", 4: "Bottom"}[x.position.quartile]
    return f"{short} ({x.position.rank}/{x.position.group_size})"


def headline(level: Any, comms: Sequence[CommitmentScore]) -> str:
    """The judgement and what it rests on, most important first, so that a long line loses only the trend (which
    the table beside it shows)."""
    i, c = level.indicators, level.commitments
    major, held = sum(1 for x in comms if x.assessment.status == "Major disruption"), deferred(comms)
    parts = [f"{level.overall.judgement}: {i.counts['Green']} of {i.rated} indicators on target" if i.rated else
             f"{level.overall.judgement}: no rated indicators this period"]
    parts.append(f"{c.counts['Green']} of {c.rated} commitments on track or done" if c.rated else "no commitment updates")
    parts += [f"{major} in major disruption"] * bool(major) + [f"{held} deferred"] * bool(held)
    parts.append(f"{i.improving} improving, {i.worsening} worsening")
    return "; ".join(parts) + "."


def _at_a_glance(deck: Deck, data: DeckData, outcome: Outcome) -> None:
    s = deck.slide("Table", f"At a glance: {outcome.title}")
    lv = data.scores.level("outcome", outcome.id)
    comms = [c for c in data.scores.commitments if c.outcome_id == outcome.id]
    deck.fitted(s, "Headline", [headline(lv, comms)], HEADLINE_PTS)
    rows = []
    for so in outcome.sub_outcomes:
        r = data.scores.level("sub_outcome", so.id)
        rows.append([f"{so.id} {so.title}", r.overall.judgement, rag_counts(r.indicators, "no data"),
                     rag_counts(r.commitments, "no update", deferred([c for c in comms if c.sub_outcome_id == so.id])),
                     f"↑{r.indicators.improving} ↓{r.indicators.worsening}",
                     f"{r.overall.coverage_pct:.0f}%"])
    for page, part in enumerate(chunks(rows, TABLE_ROWS)):
        slide = s if page == 0 else deck.slide("Table", f"At a glance: {outcome.title} (continued)")
        if page:
            deck.fitted(slide, "Headline", [headline(lv, comms)], HEADLINE_PTS)
        add_table(deck, slide, ["Sub-outcome", "Judgement", "Indicators", "Commitments", "Indicator trend", "Coverage"],
                  part, [3.7, 1.4, 2.9, 2.6, 1.2, 1.1], rag_cols=[1],
                  alt=f"Sub-outcome judgements for {outcome.title}, {data.half.label}, with the indicators' and the "
                      "commitments' Green, Amber and Red counts in separate columns")


def rag_counts(r: Rollup, missing: str, deferred: int = 0) -> str:
    """One kind of item's RAG counts in words, e.g. 'Green 0, Amber 2, Red 1; no data 1; deferred 1'. Deferred
    commitments are not rated, so they are named here: "12 of 12 on track" must not hide two more deferred."""
    text = f"Green {r.counts['Green']}, Amber {r.counts['Amber']}, Red {r.counts['Red']}"
    return text + (f"; {missing} {r.no_data}" if r.no_data else "") + (f"; deferred {deferred}" if deferred else "")


def deferred(comms: Sequence[CommitmentScore]) -> int:
    return sum(1 for c in comms if c.assessment.status == "Deferred")


def _indicator_tables(deck: Deck, data: DeckData, so: Any, items: list[IndicatorScore], decimals: dict[str, int]) -> None:
    lv = data.scores.level("sub_outcome", so.id)
    comms = [c for c in data.scores.commitments if c.sub_outcome_id == so.id]
    rows = [[f"{x.name}{' *' if x.statutory else ''}", x.data_period or "–", _value_text(x, decimals),
             _target_text(x, decimals), x.rating.status,
             f"{ARROWS.get(x.short_term, x.short_term)}; year: {ARROWS.get(x.long_term, x.long_term)}",
             _quartile_text(x), x.rating.reason.split(": ", 1)[-1]] for x in items]
    for page, part in enumerate(chunks(rows, TABLE_ROWS)):
        title = f"{so.id} {so.title}" + (" (continued)" if page else "")
        s = deck.slide("Table", title)
        deck.fitted(s, "Headline", [headline(lv, comms)], HEADLINE_PTS)
        add_table(deck, s, ["Indicator (* statutory)", "Period covered", "Value", "Target", "RAG",
                            "Trend: on the previous; on a year earlier", "Quartile",
                            "Why"], part, [3.0, 1.25, 1.35, 1.35, 1.0, 2.0, 1.15, 3.1], rag_cols=[4],
                  alt=f"Indicators for {so.title}, {data.quarter.label}")


def key_indicator(items: list[IndicatorScore]) -> IndicatorScore | None:
    """The indicator most worth a chart: the worst-rated one with a history to show."""
    order = {"Red": 0, "Amber": 1, "Green": 2}
    charted = [x for x in items if sum(v is not None for _, v in x.history) >= 2 and x.polarity != "data_only"]
    return min(charted, key=lambda x: (order.get(x.rating.status, 3), not x.statutory, x.indicator_id)) if charted else None


def _chart(deck: Deck, data: DeckData, so: Any, x: IndicatorScore, decimals: dict[str, int]) -> None:
    s = deck.slide("Chart", f"{so.id}: {x.name}")
    points = x.history[-8:]
    while points and points[0][1] is None:  # start at the first figure: no empty quarters before the series begins
        points = points[1:]
    series: list[tuple[str, Sequence[float | None]]] = [(data.council, [v for _, v in points])]
    year = x.rating.inputs.get("target_year") or data.quarter.year_label  # the target's own year
    line = target_line([p for p, _ in points], x.target, year) if x.target is not None else None
    if line:
        series.append((f"Target {year}", line))
    unit = UNIT_LABELS[x.unit]
    latest = _value_text(x, decimals)
    alt = (f"Line chart of {x.name} ({unit}) from {points[0][0]} to {points[-1][0]}"
           + (f" against a target of {_target_text(x, decimals)}" if x.target is not None else "")
           + f". Latest value {latest}, rated {x.rating.status}, {x.short_term.lower()} on the previous period.")
    line_chart(deck.ph(s, "Chart Area"), [p for p, _ in points], series,
               "#,##0" if decimals[x.indicator_id] == 0 else "#,##0.0", alt, unit=x.unit)
    caption = [f"{x.rating.status}", x.rating.reason.split(": ", 1)[-1],
               f"Trend: {ARROWS.get(x.short_term, x.short_term)} on the previous period; "
               f"{ARROWS.get(x.long_term, x.long_term)} on a year earlier.",
               f"Comparators: {x.position.reason}" if x.position else "No comparator position available."]
    if x.target is not None and not line:
        caption.insert(2, f"The {year} target ({_target_text(x, decimals)}) is not drawn: the latest figure covers "
                          f"{x.data_period}.")
    if x.commentary:
        caption.append(f"Service commentary: {x.commentary}")
    deck.text(s, "Caption", caption, CAPTION_PT, bold_first=True)


def _status(c: CommitmentScore) -> str:
    return c.assessment.status or "No update"


def _commitments(deck: Deck, so: Any, comms: list[CommitmentScore], data: DeckData) -> None:
    """Commitments by status: a stacked bar per aim (native chart) on the left, the counts in words and the
    exceptions with their commentary on the right; exceptions that do not fit go on to continuation slides."""
    counts = Counter(_status(c) for c in comms)
    right = ["Commitments by status", f"{len(comms)} commitments: {counts_in_words(counts)}." if comms else
             "No commitments are listed under this sub-outcome."]
    flagged = [c for c in comms if c.assessment.flag]
    if flagged:
        right.append(f"Status queried against time elapsed: {len(flagged)}")
    exceptions = [c for c in comms if c.assessment.status in EXCEPTION_STATUSES or c.assessment.rag == "Red"
                  or (c.assessment.flag and "passed" in c.assessment.flag)]
    right += ["Exceptions", *([f"{c.commitment_id} [{c.assessment.status}] {shorten(c.text, 90)}: "
                               f"{c.challenges or c.assessment.flag or 'no commentary given'}" for c in exceptions]
                              or ["None this period: no commitment is in major disruption, deferred or overdue."])]
    s = deck.slide("Two Content", f"{so.id} commitments by status")
    by_aim = [(a, Counter(_status(c) for c in comms if c.aim_id == a.id)) for a in so.aims]
    by_aim = [(a, n) for a, n in by_aim if n]
    left = deck.ph(s, "Left")
    if by_aim:
        box = (left.left, left.top, left.width, left.height)
        left._element.getparent().remove(left._element)  # the chart takes the placeholder's place
        alt = (f"Stacked bar chart of the {len(comms)} commitments under {so.id} {so.title}: one bar per aim, "
               "one segment per status. " + " ".join(f"{a.id} {shorten(a.text, 60)}: {counts_in_words(n)}."
                                                    for a, n in by_aim)
               + f" In total: {counts_in_words(counts)}.")
        status_bar_chart(s, box, [f"{a.id.rsplit('.', 1)[-1]} {shorten(a.text, 48)}" for a, _ in by_aim],
                         [n for _, n in by_aim], f"{so.id} commitments by aim and status", alt)
    else:
        deck.text(s, "Left", ["No commitments are listed under this sub-outcome."], BODY_PT)
    ph = deck.ph(s, "Right")
    pages = paginate_paragraphs(right, ph.width, ph.height, CAPTION_PT)
    heads = {"Commitments by status", "Exceptions"}
    deck.text(s, "Right", pages[0], CAPTION_PT, bold=[i for i, p in enumerate(pages[0]) if p in heads])
    rest = pages[1:]
    for i in range(0, len(rest), 2):  # continuation slides carry two columns of exceptions
        more = deck.slide("Two Content", f"{so.id} commitments: exceptions (continued)")
        for name, page in zip(("Left", "Right"), rest[i:i + 2], strict=False):
            deck.text(more, name, page, CAPTION_PT, bold=[j for j, p in enumerate(page) if p in heads])


def _bullet_slides(deck: Deck, title: str, items: list[str], empty: str) -> None:
    probe = deck.slide("Title and Content", title)
    ph = deck.ph(probe, "Body")
    pages = paginate_paragraphs(items or [empty], ph.width, ph.height, BODY_PT)
    deck.text(probe, "Body", pages[0], BODY_PT, bullets=True)
    for page in pages[1:]:
        s = deck.slide("Title and Content", f"{title} (continued)")
        deck.text(s, "Body", page, BODY_PT, bullets=True)


def _narrative(data: DeckData, comms: list[CommitmentScore]) -> tuple[list[str], list[str], list[str]]:
    """Achievements, challenges and priorities, drawn from the commitments' commentary over the half-year."""
    ach, cha, pri = [], [], []
    for c in sorted(comms, key=lambda c: (c.assessment.status != "Completed", c.commitment_id)):
        if c.assessment.status in EXCEPTION_STATUSES or not c.assessment.status:
            continue  # nothing in major disruption, deferred or without an update this quarter is an achievement
        ups = data.updates.get(c.commitment_id, [])
        latest = next((u["achievements"] for u in reversed(ups) if u.get("achievements")), None)
        if latest:
            ach.append(f"{c.commitment_id}: {shorten(latest, 220)}")
    # Challenges and priorities: the troubled commitments first, worst first, so a long list never hides them.
    for c in sorted(comms, key=lambda c: (TROUBLE.index(c.assessment.status) if c.assessment.status in TROUBLE
                                          else len(TROUBLE), c.commitment_id)):
        if c.challenges:
            cha.append(f"{c.commitment_id} ({c.assessment.status}): {shorten(c.challenges, 220)}")
        if c.priorities:
            pri.append(f"{c.commitment_id}: {shorten(c.priorities, 220)}")
    return ach[:24], cha[:24], pri[:24]


def _appendix(deck: Deck, data: DeckData, inds: list[IndicatorScore], comms: list[CommitmentScore],
              decimals: dict[str, int], scope: str) -> None:
    deck.slide("Section", "Appendix")
    quality = []
    for q, statuses in data.statuses.items():
        for st in statuses:
            if st.status != "Accepted":
                quality.append([q, f"{st.department}{' ' + st.team if st.team else ''} return", st.status,
                                f"{st.n_errors} error(s), {st.n_warnings} warning(s)" if st.received else "Not received"])
    for x in inds:
        if x.rating.status in ("No data", "No target", "Check value") or x.stale:
            what = "Stale value" if x.stale else x.rating.status
            quality.append([str(data.quarter), f"{x.indicator_id} {x.name}", what, x.rating.reason.split(": ", 1)[-1]])
    quality = quality or [[str(data.quarter), "All returns", "Accepted", "No data quality exceptions"]]
    for page, part in enumerate(chunks(quality, TABLE_ROWS)):
        s = deck.slide("Table", f"Data quality: {scope}" + (" (continued)" if page else ""))
        deck.text(s, "Headline", [f"Returns for {', '.join(data.statuses)}; indicators with no data, no target or "
                                  "stale values."], CAPTION_PT)
        add_table(deck, s, ["Period", "Item", "Issue", "Detail"], part, [1.4, 5.0, 2.2, 5.0],
                  alt=f"Data quality issues for {scope}")
    detail = []
    for x in inds:
        line = (f"{x.indicator_id} {x.name}: {_value_text(x, decimals)} (target {_target_text(x, decimals)}). "
                f"{x.rating.reason}. Trend {x.short_term.lower()}; {x.position.reason if x.position else 'no comparator'}.")
        if x.commentary:
            line += f" Commentary: {x.commentary}"
        line += f" Source: {data.sources.get(x.indicator_id) or 'no return'}."
        detail.append(line)
    _full_text_slides(deck, f"Indicator detail: {scope}", detail)
    cdetail = [f"{c.commitment_id} [{c.assessment.status or 'no update this quarter'}] {c.text.rstrip('.')}."
               + (f" Challenges: {c.challenges}" if c.challenges else "")
               + (f" Check: {c.assessment.flag}." if c.assessment.flag else "") for c in comms]
    _full_text_slides(deck, f"Commitment detail: {scope}", cdetail)


def _full_text_slides(deck: Deck, title: str, paragraphs: list[str]) -> None:
    first = deck.slide("Title and Content", title)
    ph = deck.ph(first, "Body")
    pages = paginate_paragraphs(paragraphs, ph.width, ph.height, TABLE_PT)
    deck.text(first, "Body", pages[0] if pages else ["None."], TABLE_PT)
    for page in pages[1:]:
        s = deck.slide("Title and Content", f"{title} (continued)")
        deck.text(s, "Body", page, TABLE_PT)


def build_board_deck(data: DeckData, outcome: Outcome, template: Path) -> Deck:
    deck = Deck(template)
    decimals = {i.id: i.decimals for _, _, i in data.plan.indicators()}
    s = deck.slide("Title", f"{outcome.board.name}")
    deck.text(s, "Subtitle", [f"Highlight report: {data.half.label}",
                              f"Board meeting {data.board_date:%d %B %Y} · data to the end of {data.quarter.end:%B %Y}",
                              data.council, *([data.published] if data.published else [])], 20)
    _bullet_slides(deck, "How to read this deck", data.guide, "")
    _at_a_glance(deck, data, outcome)
    _changes(deck, [c for c in data.changes if c["outcome_id"] == outcome.id], outcome.title)
    for so in outcome.sub_outcomes:
        items = [x for x in data.scores.indicators if x.sub_outcome_id == so.id]
        _indicator_tables(deck, data, so, items, decimals)
        key = key_indicator(items)
        if key:
            _chart(deck, data, so, key, decimals)
        _commitments(deck, so, [c for c in data.scores.commitments if c.sub_outcome_id == so.id], data)
    comms = [c for c in data.scores.commitments if c.outcome_id == outcome.id]
    ach, cha, pri = _narrative(data, comms)
    _bullet_slides(deck, "Key achievements", ach, "No achievements were reported this half-year.")
    _bullet_slides(deck, "Challenges", cha, "No challenges were reported this half-year.")
    _bullet_slides(deck, "Priorities for the next six months", pri, "No priorities were reported.")
    inds = [x for x in data.scores.indicators if x.outcome_id == outcome.id]
    _appendix(deck, data, inds, comms, decimals, outcome.title)
    return deck


def build_summary_deck(data: DeckData, template: Path) -> Deck:
    """One slide per outcome for the Corporate Management Team."""
    deck = Deck(template)
    s = deck.slide("Title", "Strategic Plan: corporate summary")
    deck.text(s, "Subtitle", [f"Outcome Board highlights: {data.half.label}", f"Data to the end of {data.quarter.label}",
                              data.council], 20)
    _bullet_slides(deck, "How to read this deck", data.guide, "")
    for o in data.plan.outcomes:
        _at_a_glance(deck, data, o)
    _changes(deck, data.changes, "all outcomes")
    return deck


def _changes(deck: Deck, changes: list[dict[str, Any]], scope: str) -> None:
    from plan_reports.deck_changes import add_changes_slides

    add_changes_slides(deck, changes, scope, add_table, TABLE_ROWS, CAPTION_PT)


def load_deck_data(con: Any, cfg: Config, half: Period, ctx: ReportContext | None = None) -> DeckData:
    """The half-year's figures: the published snapshot of its last quarter when `ctx` gives one, else live."""
    from plan_reports.consolidate import return_statuses
    from plan_reports.score import load_inputs, score_period

    if half.kind != "H":
        raise ValueError(f"Decks are six-monthly: give a half-year such as {half.half()}, not {half}")
    quarter = half.quarters()[-1]
    plan = cfg.plan_for_period(quarter)
    scores = ctx.scores if ctx and ctx.scores else score_period(cfg, plan, quarter, load_inputs(con, cfg, plan, quarter))
    statuses = {str(q): return_statuses(con, cfg, q, date.today()) for q in half.quarters()}
    updates: dict[str, list[dict[str, Any]]] = {}
    for q in half.quarters():
        from plan_reports.store import commitment_updates

        for cid, row in commitment_updates(con, str(q)).items():
            updates.setdefault(cid, []).append(dict(row))
    if ctx and ctx.scores:  # the reported quarter's commentary as published
        for c in ctx.scores.commitments:
            ups = updates.setdefault(c.commitment_id, [])
            ups[:] = [u for u in ups if u.get("period") != str(quarter)] + [{"achievements": c.achievements}]
    pub = ctx.publication if ctx else None
    return DeckData(half, quarter, plan, scores, statuses, cfg.board_meeting(half), cfg.organisation.council.name, updates,
                    ctx.sources if ctx else {}, ctx.changes if ctx else [],
                    f"Figures as published: version {pub['version']}, {pub['published_at'][:10]}" if pub else "",
                    reading_guide(cfg, half))


def reading_guide(cfg: Config, half: Period) -> list[str]:
    """The rules behind every rating on the slides, in words, from the council's own settings, so no judgement
    needs the scoring file to be understood."""
    from plan_reports.rollup import rule_text

    sc = cfg.scoring
    own = len(sc.rag.indicators)
    return [
        f"Period: {half.label}. Each figure names the period it covers; published statistics often cover an earlier "
        "year.",
        f"Indicators: Green is on or better than the agreed target, Amber within {sc.rag.default.tolerance_pct:g}% of "
        f"it, Red further away{f' ({own} indicators have their own rule, which their reason states)' if own else ''}. "
        "\"Data only\" figures are context and not rated; \"Check value\" is a figure outside what the measure can "
        "plausibly be, questioned before it is rated.",
        rule_text(sc.rollup),
        f"Trend compares a figure with the one before it (a change under {sc.direction.no_change_threshold_pct:g}% is "
        "no change); charts also compare with the same period a year earlier. Quartile ranks the council among its "
        "comparator group: Top is the best quarter.",
    ]


def deck_filename(board_id: str, half: Period) -> str:
    return f"Deck_{board_id}_{str(half).replace('/', '-')}.pptx"


def write_decks(cfg: Config, half: Period, store: Path, out_dir: Path, *, board: str | None = None,
                template: Path | None = None) -> list[Path]:
    """One deck per Outcome Board (or just `board`), plus the corporate summary when all are written."""
    from plan_reports.publish import ensure_published, record_outputs
    from plan_reports.store import connect

    template = Path(template) if template else default_template()
    if half.kind != "H":
        raise ValueError(f"Decks are six-monthly: give a half-year such as {half.half()}, not {half}")
    ctx = ensure_published(cfg, half.quarters()[-1], store, "decks")  # the board sees the published figures
    con = connect(store)
    try:
        data = load_deck_data(con, cfg, half, ctx)
    finally:
        con.close()
    outcomes = [o for o in data.plan.outcomes if board in (None, o.id, o.board.id)]
    if board and not outcomes:
        known = ", ".join(f"{o.board.id} ({o.id})" for o in data.plan.outcomes)
        raise ValueError(f"No Outcome Board '{board}' in plan {data.plan.id} (known: {known})")
    written = [build_board_deck(data, o, template).save(Path(out_dir) / deck_filename(o.board.id, half)) for o in outcomes]
    if board is None:
        written.append(build_summary_deck(data, template).save(Path(out_dir) / deck_filename("CMT-summary", half)))
    record_outputs(store, ctx, [("deck", p) for p in written])
    return written


def default_template() -> Path:
    return Path(__file__).resolve().parents[2] / "templates" / "corporate.pptx"


