"""The score stage: RAG, direction of travel, comparator position, commitment status and roll-ups.

Pure functions over plain values and typed rules from `config/scoring.yaml`. Every result carries a one-line reason
a manager can read and the inputs used, because a RAG on its own does not explain enough.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from plan_reports.models import (
    FREQUENCY_MONTHS,
    UNIT_LABELS,
    CommitmentScoring,
    Indicator,
    Polarity,
    RagRule,
    RollupConfig,
)
from plan_reports.periods import Period

RAG = ("Green", "Amber", "Red")
NO_DATA, NO_TARGET, DATA_ONLY, NOT_RATED = "No data", "No target", "Data only", "Not rated"
Direction = Literal["Improving", "Worsening", "No change", "Increasing", "Decreasing", "Not comparable"]
EPS = 1e-9


@dataclass(frozen=True)
class Rating:
    status: str  # Green | Amber | Red | No data | No target | Data only
    reason: str
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def is_rag(self) -> bool:
        return self.status in RAG


def fmt_value(v: float, unit: str, decimals: int = 1) -> str:
    d = decimals if round(v, decimals) == round(v, 6) else max(decimals, 2)
    s = f"{v:,.{d}f}"
    if unit == "percent":
        return f"{s}%"
    if unit == "gbp":
        return f"£{s}"
    if unit == "gbp_millions":
        return f"£{s}m"
    if unit in ("count", "score", "ratio"):
        return s
    return f"{s} {UNIT_LABELS[unit]}"


def _at_least(a: float, b: float) -> bool:
    return a >= b - EPS * max(1.0, abs(b))


def _at_most(a: float, b: float) -> bool:
    return a <= b + EPS * max(1.0, abs(b))


def better(polarity: Polarity, a: float, b: float) -> bool:
    """Is a strictly better than b?"""
    return a > b if polarity == "higher_better" else a < b


def _gap_text(v: float, t: float, polarity: Polarity) -> str:
    if abs(t) < EPS:
        return f"{abs(v - t):,.2g} from target"
    pct = abs(v - t) / abs(t) * 100
    word = "short" if not _meets(polarity, v, t) else "better"
    if polarity == "lower_better" and not _meets(polarity, v, t):
        word = "over"
    return f"{pct:.1f}% {word}"


def _meets(polarity: Polarity, v: float, t: float) -> bool:
    return _at_least(v, t) if polarity == "higher_better" else _at_most(v, t)


def rate_indicator(ind: Indicator, rule: RagRule, value: float | None, target: float | None, *,
                   last_year: float | None = None, missing_reason: str | None = None) -> Rating:
    """Rate one value against its target under `rule`, respecting the indicator's polarity."""
    inputs: dict[str, Any] = {"value": value, "target": target, "polarity": ind.polarity, "rule": rule.type,
                              "tolerance_pct": rule.tolerance_pct, "floor": rule.floor, "last_year": last_year}
    if ind.polarity == "data_only":
        shown = fmt_value(value, ind.unit, ind.decimals) if value is not None else "no value"
        return Rating(DATA_ONLY, f"Data only: {shown} (context, not rated)", inputs)
    if value is None:
        return Rating(NO_DATA, f"No data: {missing_reason or 'no value reported'}", inputs)
    v = fmt_value(value, ind.unit, ind.decimals)
    tol = rule.tolerance_pct / 100
    if ind.polarity == "within_range":
        assert ind.range is not None
        lo, hi = ind.range.low, ind.range.high
        inputs.update(range_low=lo, range_high=hi)
        band = f"range {fmt_value(lo, ind.unit, ind.decimals)} to {fmt_value(hi, ind.unit, ind.decimals)}"
        if _at_least(value, lo) and _at_most(value, hi):
            return Rating("Green", f"Green: {v} within {band}", inputs)
        if _at_least(value, lo - abs(lo) * tol) and _at_most(value, hi + abs(hi) * tol):
            return Rating("Amber", f"Amber: {v} just outside {band} (tolerance {rule.tolerance_pct:g}%)", inputs)
        return Rating("Red", f"Red: {v} outside {band}", inputs)
    if target is None:
        return Rating(NO_TARGET, f"No target: {v} reported, no target set for this period", inputs)
    t = fmt_value(target, ind.unit, ind.decimals)
    pol = ind.polarity
    if _meets(pol, value, target):
        extra = "on target" if math.isclose(value, target, rel_tol=1e-9, abs_tol=1e-12) else _gap_text(value, target, pol)
        return Rating("Green", f"Green: {v} vs target {t} ({extra})", inputs)
    gap = _gap_text(value, target, pol)
    if rule.type == "tolerance":
        edge = target - abs(target) * tol if pol == "higher_better" else target + abs(target) * tol
        ok = _at_least(value, edge) if pol == "higher_better" else _at_most(value, edge)
        status = "Amber" if ok else "Red"
        return Rating(status, f"{status}: {v} vs target {t} ({gap}, tolerance {rule.tolerance_pct:g}%)", inputs)
    if rule.type == "floor":
        assert rule.floor is not None
        f = fmt_value(rule.floor, ind.unit, ind.decimals)
        ok = _meets(pol, value, rule.floor)
        status = "Amber" if ok else "Red"
        where = "meets the floor" if ok else "below the floor" if pol == "higher_better" else "above the floor"
        return Rating(status, f"{status}: {v} vs target {t} ({gap}); {where} of {f}", inputs)
    # improvement
    if last_year is None:
        return Rating("Red", f"Red: {v} vs target {t} ({gap}); no value for the same period last year to show improvement",
                      inputs)
    ly = fmt_value(last_year, ind.unit, ind.decimals)
    if better(pol, value, last_year):
        return Rating("Amber", f"Amber: {v} vs target {t} ({gap}), improved on {ly} a year earlier", inputs)
    return Rating("Red", f"Red: {v} vs target {t} ({gap}), not improved on {ly} a year earlier", inputs)


def direction(polarity: Polarity, earlier: float | None, later: float | None, threshold_pct: float,
              rng: tuple[float, float] | None = None) -> Direction:
    """Improving / Worsening / No change, judged by polarity. Data-only indicators get Increasing / Decreasing."""
    if earlier is None or later is None:
        return "Not comparable"
    if polarity == "within_range" and rng:
        def dist(x: float) -> float:
            return max(rng[0] - x, 0.0, x - rng[1])
        d0, d1 = dist(earlier), dist(later)
        if abs(d1 - d0) <= threshold_pct / 100 * max(abs(earlier), EPS):
            return "No change"
        return "Improving" if d1 < d0 else "Worsening"
    change = later - earlier
    if abs(change) <= threshold_pct / 100 * abs(earlier) + EPS:
        return "No change"
    if polarity == "data_only":
        return "Increasing" if change > 0 else "Decreasing"
    return "Improving" if better(polarity, later, earlier) else "Worsening"


def trend_direction(polarity: Polarity, values: list[float], threshold_pct: float) -> Direction:
    """Least-squares trend over the points: the fitted change from first to last, judged like `direction`."""
    if len(values) < 3:
        return direction(polarity, values[0] if values else None, values[-1] if values else None, threshold_pct)
    n = len(values)
    mx, my = (n - 1) / 2, sum(values) / n
    slope = sum((i - mx) * (y - my) for i, y in enumerate(values)) / sum((i - mx) ** 2 for i in range(n))
    start = my - slope * mx
    return direction(polarity, start, start + slope * (n - 1), threshold_pct)


def data_age_months(data_period: Period, reporting: Period) -> int:
    """Whole months between the end of the period a figure covers and the end of the reporting period."""
    a, b = data_period.end, reporting.end
    return (b.year - a.year) * 12 + (b.month - a.month)


def is_stale(ind: Indicator, data_period: Period | None, reporting: Period, grace_months: int) -> bool:
    """Older than the indicator's frequency and lag allow (plus grace)."""
    if data_period is None:
        return False
    return data_age_months(data_period, reporting) > FREQUENCY_MONTHS[ind.frequency] + ind.lag_months + grace_months


@dataclass(frozen=True)
class Position:
    rank: int
    group_size: int
    quartile: int | None  # 1 = top (best) quartile
    tied_with: int
    reason: str


QUARTILE_LABELS = {1: "Top quartile", 2: "Second quartile", 3: "Third quartile", 4: "Bottom quartile"}


def comparator_position(values: Mapping[str, float | None], ours: str, polarity: Polarity,
                        group_name: str = "comparators", period: str = "") -> Position | None:
    """Rank (1 = best, ties share the better rank) and quartile among areas with a value. None if we have none."""
    have = {k: v for k, v in values.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
    if ours not in have or polarity not in ("higher_better", "lower_better"):
        return None
    mine = have[ours]
    n = len(have)
    rank = 1 + sum(1 for v in have.values() if better(polarity, v, mine))
    tied = sum(1 for k, v in have.items() if k != ours and math.isclose(v, mine, rel_tol=1e-12, abs_tol=1e-12))
    quartile = min(4, math.ceil(4 * rank / n))
    missing = len(values) - n
    note = f", {missing} with no value" if missing else ""
    when = f" in {period}" if period else ""
    reason = (f"Ranked {rank} of {n} {group_name}{when}{' (tied)' if tied else ''}: "
              f"{QUARTILE_LABELS[quartile].lower()}{note}")
    return Position(rank, n, quartile, tied, reason)


COMMITMENT_RAG = {"On track": "Green", "Completed": "Green", "Minor disruption": "Amber", "Major disruption": "Red"}


@dataclass(frozen=True)
class CommitmentAssessment:
    status: str  # the lead's status, never overridden
    rag: str  # Green | Amber | Red | Not rated (Deferred) | No data (no status)
    expected_pct: float | None
    flag: str | None  # where the status and the time elapsed disagree
    reason: str


def assess_commitment(status: str | None, pct: float | None, start: date | None, target: date | None,
                      completed: date | None, today: date, cfg: CommitmentScoring) -> CommitmentAssessment:
    """Check the lead's status against time-based expected progress; flag disagreements, never override."""
    if not status:
        return CommitmentAssessment("", NO_DATA, None, None, "No data: no status reported")
    expected = None
    if start and target and target > start:
        expected = min(1.0, max(0.0, (today - start).days / (target - start).days))
    shown = f"{pct:.0%}" if pct is not None else "no % complete"
    exp_txt = f", {expected:.0%} of the time elapsed" if expected is not None else ""
    if status == "Deferred":
        return CommitmentAssessment(status, NOT_RATED, expected, None, "Deferred: excluded from the roll-up")
    if status == "Completed":
        flag = None
        if pct is not None and pct < 1 - EPS:
            flag = f"reported Completed at {shown}"
        elif completed is None:
            flag = "reported Completed with no completion date"
        return CommitmentAssessment(status, "Green", expected, flag, f"Completed{f' on {completed:%d/%m/%Y}' if completed else ''}")
    overdue = target is not None and target < today
    flag = None
    if status in ("On track", "Not started") and overdue:
        flag = f"reported {status} but the target date {target:%d/%m/%Y} has passed"
    elif status == "Not started" and start is not None and start < today and expected and expected > cfg.behind_margin_pct / 100:
        flag = f"reported Not started but due to start on {start:%d/%m/%Y}"
    elif status == "On track" and expected is not None and pct is not None and expected - pct > cfg.behind_margin_pct / 100:
        flag = f"reported On track at {shown} with {expected:.0%} of the time elapsed"
    elif status in ("Minor disruption", "Major disruption") and expected is not None and pct is not None \
            and pct - expected > cfg.ahead_margin_pct / 100:
        flag = f"reported {status} but {shown} complete is well ahead of {expected:.0%} of the time elapsed"
    rag = COMMITMENT_RAG.get(status, "Amber" if overdue else "Green")
    return CommitmentAssessment(status, rag, expected, flag, f"{status}: {shown}{exp_txt}")


@dataclass(frozen=True)
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


def rollup(statuses: Iterable[str], directions: Iterable[str], cfg: RollupConfig) -> Rollup:
    """Aggregate item ratings; items with no data are excluded from the score and shown as coverage."""
    c = Counter(statuses)
    counts = {k: c.get(k, 0) for k in RAG}
    no_data = c.get(NO_DATA, 0) + c.get(NO_TARGET, 0)
    rated = sum(counts.values())
    dirs = Counter(directions)
    coverage = 100.0 * rated / (rated + no_data) if rated + no_data else 0.0
    score = None
    judgement = "Insufficient data"
    if rated and coverage + EPS >= cfg.minimum_coverage_pct:
        if cfg.method == "points":
            score = sum(cfg.points[k] * n for k, n in counts.items()) / rated
            th = cfg.judgement.points
        else:
            score = counts["Green"] / rated
            th = cfg.judgement.share_green
        judgement = "Green" if _at_least(score, th.Green) else "Amber" if _at_least(score, th.Amber) else "Red"
    summary = f"{counts['Green']} Green / {counts['Amber']} Amber / {counts['Red']} Red / {no_data} No data"
    trend = f"; {dirs.get('Improving', 0)} improving, {dirs.get('Worsening', 0)} worsening"
    score_txt = f", score {score:.2f}" if score is not None else ""
    reason = f"{judgement}: {summary} (coverage {coverage:.0f}%{score_txt}){trend}"
    return Rollup(counts, rated, no_data, round(coverage, 1), score, judgement, dirs.get("Improving", 0),
                  dirs.get("Worsening", 0), dirs.get("No change", 0), reason)
