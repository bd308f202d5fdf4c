"""Roll-ups: one judgement for an aim, sub-outcome or outcome from the ratings of its indicators and commitments.

Split from `score` so that the rule a board reads first ("why is this sub-outcome Green?") sits in one short module.
Indicators and commitments are judged separately, then combined by the council's rule (`config/scoring.yaml`,
`rollup.combine`): `lower` takes the lower of the two, so a sub-outcome whose commitments are all on track but whose
indicators miss their targets is not shown Green; `pooled` scores every item together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from plan_reports.models import RollupConfig

RAG = ("Green", "Amber", "Red")
NO_DATA, NO_TARGET = "No data", "No target"
QUERIED = "Check value"  # a value outside what the measure can plausibly be: questioned, never rated
INSUFFICIENT = "Insufficient data"
EPS = 1e-9


def at_least(a: float, b: float) -> bool:
    """a >= b, forgiving float noise (2.7 from 8.1 / 3 must count as 2.7)."""
    return a >= b - EPS * max(1.0, abs(b))


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollup:
    counts: dict[str, int]
    rated: int
    no_data: int
    coverage_pct: float
    score: float | None
    judgement: str
    improving: int
    worsening: int
    no_change: int
    reason: str


def _judge(counts: dict[str, int], rated: int, coverage: float, cfg: RollupConfig) -> tuple[float | None, str]:
    if not rated or coverage + EPS < cfg.minimum_coverage_pct:
        return None, INSUFFICIENT
    if cfg.method == "points":
        score = sum(cfg.points[k] * n for k, n in counts.items()) / rated
        th = cfg.judgement.points
    else:
        score = counts["Green"] / rated
        th = cfg.judgement.share_green
    return score, "Green" if at_least(score, th.Green) else "Amber" if at_least(score, th.Amber) else "Red"


def rollup(statuses: Iterable[str], directions: Iterable[str], cfg: RollupConfig) -> Rollup:
    """Aggregate item ratings; items with no data are excluded from the score and shown as coverage."""
    c = Counter(statuses)
    counts = {k: c.get(k, 0) for k in RAG}
    no_data = c.get(NO_DATA, 0) + c.get(NO_TARGET, 0) + c.get(QUERIED, 0)
    rated = sum(counts.values())
    dirs = Counter(directions)
    coverage = 100.0 * rated / (rated + no_data) if rated + no_data else 0.0
    score, judgement = _judge(counts, rated, coverage, cfg)
    summary = f"{counts['Green']} Green / {counts['Amber']} Amber / {counts['Red']} Red / {no_data} No data"
    trend = f"; {dirs.get('Improving', 0)} improving, {dirs.get('Worsening', 0)} worsening"
    score_txt = f", score {score:.2f}" if score is not None else ""
    reason = f"{judgement}: {summary} (coverage {coverage:.0f}%{score_txt}){trend}"
    return Rollup(counts=counts, rated=rated, no_data=no_data, coverage_pct=round(coverage, 1), score=score,
                  judgement=judgement, improving=dirs.get("Improving", 0), worsening=dirs.get("Worsening", 0),
                  no_change=dirs.get("No change", 0), reason=reason)


def combine(indicators: Rollup, commitments: Rollup, cfg: RollupConfig) -> Rollup:
    """A level's overall judgement from its indicators' and commitments' roll-ups, by `cfg.combine`.

    `lower`: the lower of the two judgements, each from the items it has rated (one Amber indicator beside two with
    no data still holds the level at Amber: a board reads "0 of 1 on target" under a Green as a contradiction);
    "Insufficient data" when the level as a whole is below the minimum coverage. `pooled`: every item scored
    together. Counts, coverage and trend are always pooled, so the table beside the judgement adds up; the reason
    names both parts so nobody has to guess which one decided.
    """
    counts = {k: indicators.counts[k] + commitments.counts[k] for k in RAG}
    rated, no_data = indicators.rated + commitments.rated, indicators.no_data + commitments.no_data
    coverage = 100.0 * rated / (rated + no_data) if rated + no_data else 0.0
    parts_judged = {name: _judge(r.counts, r.rated, 100.0, cfg) for name, r in
                    (("indicators", indicators), ("commitments", commitments))}  # coverage is judged pooled, below
    if coverage + EPS < cfg.minimum_coverage_pct or not rated:
        score, judgement = None, INSUFFICIENT
    elif cfg.combine == "pooled":
        score, judgement = _judge(counts, rated, coverage, cfg)
    else:
        score, judgement = min(((sc, j) for sc, j in parts_judged.values() if sc is not None), key=lambda p: p[0])
    parts = "; ".join(f"{name} {parts_judged[name][1] if r.rated else 'no data'} ({r.counts['Green']} Green / "
                      f"{r.counts['Amber']} Amber / {r.counts['Red']} Red / {r.no_data} No data)"
                      for name, r in (("indicators", indicators), ("commitments", commitments)))
    rule = "the lower of" if cfg.combine == "lower" else "all items scored together:"
    reason = (f"{judgement}: {rule} {parts}; coverage {coverage:.0f}%; since the previous figures "
              f"{indicators.improving} indicator(s) improving, {indicators.worsening} worsening")
    return Rollup(counts=counts, rated=rated, no_data=no_data, coverage_pct=round(coverage, 1), score=score,
                  judgement=judgement, improving=indicators.improving, worsening=indicators.worsening,
                  no_change=indicators.no_change, reason=reason)


def rule_text(cfg: RollupConfig) -> str:
    """The roll-up rule in plain English, from the council's settings, for the reader of a report or deck."""
    if cfg.method == "points":
        p, th = cfg.points, cfg.judgement.points
        how = (f"each Green scores {p['Green']:g}, Amber {p['Amber']:g} and Red {p['Red']:g}; an average of "
               f"{th.Green:g} or more is Green, {th.Amber:g} or more Amber, and below that Red")
    else:
        th = cfg.judgement.share_green
        how = f"{th.Green:.0%} or more of them Green is Green, {th.Amber:.0%} or more Amber, and fewer Red"
    part = ("Indicators and commitments are judged separately and the overall judgement is the lower of the two, "
            "so commitments on track cannot make an area Green while its indicators miss their targets"
            if cfg.combine == "lower" else "Indicators and commitments are scored together")
    return (f"How judgements are made: {part}. Within each, {how}. Items with no data are left out and shown as "
            f"coverage; below {cfg.minimum_coverage_pct:g}% coverage the judgement is \"{INSUFFICIENT}\".")
