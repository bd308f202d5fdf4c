"""The score stage: RAG, direction of travel, comparator position, commitment status and roll-ups.

Pure functions over plain values and typed rules from `config/scoring.yaml`. Every result carries a one-line reason
a manager can read and the inputs used, because a RAG on its own does not explain enough.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from plan_reports.assess import CommitmentAssessment, assess_commitment
from plan_reports.models import (
    FREQUENCY_MONTHS,
    UNIT_LABELS,
    Indicator,
    Plan,
    Polarity,
    RagRule,
)
from plan_reports.periods import Period
from plan_reports.rollup import EPS, NO_DATA, NO_TARGET, QUERIED, RAG, Rollup, at_least, combine, rollup

DATA_ONLY = "Data only"
NOT_YET = "Not yet available"  # a return's data status: the figure is not published yet
Direction = Literal["Improving", "Worsening", "No change", "Increasing", "Decreasing", "Not comparable"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rating:
    status: str  # Green | Amber | Red | No data | No target | Data only | Check value
    reason: str
    inputs: dict[str, Any] = field(default_factory=dict)


def fmt_value(v: float, unit: str, decimals: int = 1) -> str:
    d = decimals if round(v, decimals) == round(v, 6) else max(decimals, 2)
    s = f"{v:,.{d}f}"
    if unit == "percent":
        return f"{s}%"
    if unit == "gbp":
        return f"£{s}"
    if unit == "gbp_millions":
        return f"£{s}m"
    if unit in ("count", "score", "ratio", "rank"):
        return s
    return f"{s} {UNIT_LABELS[unit]}"


def _at_most(a: float, b: float) -> bool:
    return a <= b + EPS * max(1.0, abs(b))


def better(polarity: Polarity, a: float, b: float) -> bool:
    """Is a strictly better than b?"""
    return a > b if polarity == "higher_better" else a < b


def _gap_text(v: float, t: float, polarity: Polarity, unit: str, decimals: int) -> str:
    """How far from target, in the measure's own unit first ("0.6 percentage points below target"), then as a share
    of the target for a miss, because "2.6% short" alone leaves a reader asking: percent of what, or points?"""
    diff = abs(v - t)
    d = f"{diff:,.{decimals}f} percentage points" if unit == "percent" else fmt_value(diff, unit, decimals)
    side = "above" if v > t else "below"
    if _meets(polarity, v, t):
        return f"{d} better than target"
    if abs(t) < EPS:
        return f"{d} {side} target"
    return f"{d} {side} target, {diff / abs(t) * 100:.1f}% worse than it"


def _meets(polarity: Polarity, v: float, t: float) -> bool:
    return at_least(v, t) if polarity == "higher_better" else _at_most(v, t)


def rate_indicator(ind: Indicator, rule: RagRule, value: float | None, target: float | None, *,
                   last_year: float | None = None, missing_reason: str | None = None) -> Rating:
    """Rate one value against its target under `rule`, respecting the indicator's polarity."""
    inputs: dict[str, Any] = {"value": value, "target": target, "polarity": ind.polarity, "rule": rule.type,
                              "tolerance_pct": rule.tolerance_pct, "floor": rule.floor, "last_year": last_year}
    if ind.polarity == "data_only":
        shown = fmt_value(value, ind.unit, ind.decimals) if value is not None else "no value"
        return Rating(status=DATA_ONLY, reason=f"Data only: {shown} (context, not rated)", inputs=inputs)
    if value is None:
        return Rating(status=NO_DATA, reason=f"No data: {missing_reason or 'no value reported'}", inputs=inputs)
    why = ind.plausibility(value)
    if why:
        return Rating(status=QUERIED, reason=f"Check value: {why}; not rated until confirmed", inputs=inputs)
    v = fmt_value(value, ind.unit, ind.decimals)
    tol = rule.tolerance_pct / 100
    if ind.polarity == "within_range":
        assert ind.range is not None
        lo, hi = ind.range.low, ind.range.high
        inputs.update(range_low=lo, range_high=hi)
        band = f"range {fmt_value(lo, ind.unit, ind.decimals)} to {fmt_value(hi, ind.unit, ind.decimals)}"
        if at_least(value, lo) and _at_most(value, hi):
            return Rating(status="Green", reason=f"Green: {v} within {band}", inputs=inputs)
        if at_least(value, lo - abs(lo) * tol) and _at_most(value, hi + abs(hi) * tol):
            return Rating(status="Amber", reason=f"Amber: {v} just outside {band} (tolerance {rule.tolerance_pct:g}%)", inputs=inputs)
        return Rating(status="Red", reason=f"Red: {v} outside {band}", inputs=inputs)
    if target is None:
        return Rating(status=NO_TARGET, reason=f"No target: {v} reported, no target set for this period", inputs=inputs)
    t = fmt_value(target, ind.unit, ind.decimals)
    pol = ind.polarity
    if _meets(pol, value, target):
        on = math.isclose(value, target, rel_tol=1e-9, abs_tol=1e-12)
        extra = "on target" if on else _gap_text(value, target, pol, ind.unit, ind.decimals)
        return Rating(status="Green", reason=f"Green: {v} vs target {t} ({extra})", inputs=inputs)
    gap = _gap_text(value, target, pol, ind.unit, ind.decimals)
    if rule.type == "tolerance":
        edge = target - abs(target) * tol if pol == "higher_better" else target + abs(target) * tol
        ok = at_least(value, edge) if pol == "higher_better" else _at_most(value, edge)
        status = "Amber" if ok else "Red"
        band = "within" if status == "Amber" else "outside"
        reason = f"{status}: {v} vs target {t} ({gap}; {band} the Amber band of {rule.tolerance_pct:g}% of target)"
        return Rating(status=status, reason=reason, inputs=inputs)
    if rule.type == "floor":
        assert rule.floor is not None
        f = fmt_value(rule.floor, ind.unit, ind.decimals)
        ok = _meets(pol, value, rule.floor)
        status = "Amber" if ok else "Red"
        where = "meets the floor" if ok else "below the floor" if pol == "higher_better" else "above the floor"
        return Rating(status=status, reason=f"{status}: {v} vs target {t} ({gap}); {where} of {f}", inputs=inputs)
    # improvement
    if last_year is None:
        return Rating(status="Red", reason=f"Red: {v} vs target {t} ({gap}); short of target, this indicator is Amber "
                      "only if better than a year earlier, and there is no value for the same period last year", inputs=inputs)
    ly = fmt_value(last_year, ind.unit, ind.decimals)
    if better(pol, value, last_year):
        return Rating(status="Amber", reason=f"Amber: {v} vs target {t} ({gap}), improved on {ly} a year earlier", inputs=inputs)
    return Rating(status="Red", reason=f"Red: {v} vs target {t} ({gap}), not improved on {ly} a year earlier", inputs=inputs)


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


@dataclass(frozen=True, slots=True, kw_only=True)
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
    return Position(rank=rank, group_size=n, quartile=quartile, tied_with=tied, reason=reason)


# ---- scoring a whole period --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """One reported or published value of one indicator."""

    reporting_period: str | None  # the return it came in (None for imported history)
    data_period: str  # the period the figure covers
    value: float | None
    target: float | None = None
    data_status: str | None = None
    reason: str | None = None
    commentary: str | None = None
    source: str = ""


@dataclass
class ScoreInputs:
    observations: dict[str, list[Observation]] = field(default_factory=dict)  # indicator -> all known, any order
    comparators: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)  # ind -> period -> area -> v
    commitments: dict[str, dict[str, Any]] = field(default_factory=dict)  # commitment -> this period's update
    reported_departments: set[str] = field(default_factory=set)
    # indicator -> the agreed target for the scored period or its year: value, period, agreed_by, agreed_at
    agreed: dict[str, dict[str, Any]] = field(default_factory=dict)
    # indicator -> financial year ("2024/25") -> that year's agreed target, for a figure that covers an earlier year
    agreed_years: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def agreed_targets_for(con: Any, period: Period) -> dict[str, dict[str, Any]]:
    """The register's agreed target for each indicator in `period`: one agreed for the period itself, else its year."""
    rows = con.execute("SELECT * FROM current_agreed_targets WHERE period IN (?, ?) ORDER BY period = ?",
                       (str(period), period.year_label, str(period)))  # the period's own agreement is read last
    return {r["indicator_id"]: dict(r) for r in rows}


def target_note(rating: Rating, agreed: Mapping[str, Any] | None, reported: float | None, show: Any) -> Rating:
    """The rating with its reason saying which target it used: the agreed one (and the return's, if different)."""
    if not (rating.status == NO_TARGET or (rating.status in RAG and "vs target" in rating.reason)):
        return rating  # the target played no part (no data, data only, a range, a queried value)
    if agreed:
        at = date.fromisoformat(str(agreed["agreed_at"])[:10]) if agreed.get("agreed_at") else None
        when = f"{at.day} {at:%B %Y}" if at else ""  # "1 March 2025": %-d is not portable to Windows
        who = ", ".join(x for x in (agreed.get("agreed_by"), when) if x)
        differs = reported is not None and not math.isclose(reported, agreed["value"], rel_tol=1e-9, abs_tol=1e-9)
        note = f"agreed target for {agreed['period']}{f' ({who})' if who else ''}" + \
            (f"; the department's return proposed {show(reported)}, not used" if differs else "")
    else:
        note = "target as given in the return" if reported is not None else "no target agreed or given in the return"
    inputs = {**rating.inputs, "target_source": "agreed" if agreed else "return" if reported is not None else None,
              "agreed_target": agreed["value"] if agreed else None, "return_target": reported}
    return Rating(status=rating.status, reason=f"{rating.reason}; {note}", inputs=inputs)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorScore:
    indicator_id: str
    name: str
    outcome_id: str
    sub_outcome_id: str
    aim_id: str
    department: str
    unit: str
    polarity: str
    statutory: bool
    value: float | None
    target: float | None
    data_period: str | None
    rating: Rating
    short_term: str
    long_term: str
    trend: str | None
    previous_value: float | None
    last_year_value: float | None
    stale: bool
    position: Position | None
    comparator_group: str
    comparator_period: str | None
    commentary: str | None
    source: str
    history: list[tuple[str, float | None]]

    def band(self) -> tuple[float, float] | None:
        """The range a within-range measure is rated against: its target, for a reader, when it has no single one."""
        lo, hi = self.rating.inputs.get("range_low"), self.rating.inputs.get("range_high")
        return (lo, hi) if self.target is None and lo is not None and hi is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitmentScore:
    commitment_id: str
    text: str
    outcome_id: str
    sub_outcome_id: str
    aim_id: str
    lead: str
    role: str
    assessment: CommitmentAssessment
    percent_complete: float | None
    target_date: str | None
    milestone: str | None
    achievements: str | None
    challenges: str | None
    priorities: str | None
    lead_officer: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelScore:
    level: str  # aim | sub_outcome | outcome
    id: str
    title: str
    indicators: Rollup
    commitments: Rollup
    overall: Rollup


@dataclass
class PeriodScores:
    period: str
    plan_id: str
    indicators: list[IndicatorScore]
    commitments: list[CommitmentScore]
    levels: list[LevelScore]

    def level(self, level: str, ident: str) -> LevelScore:
        return next(x for x in self.levels if x.level == level and x.id == ident)


def _series(obs: list[Observation]) -> list[tuple[str, float | None, Observation]]:
    """One point per data period (the latest report of it wins), ordered by when the period starts."""
    from plan_reports.periods import period_start

    best: dict[str, Observation] = {}
    for o in sorted(obs, key=lambda o: (o.reporting_period or "", o.source)):
        if o.value is not None or o.data_period not in best:
            best[o.data_period] = o
    keyed = [(period_start(k), k, o) for k, o in best.items()]
    return [(k, o.value, o) for s, k, o in sorted((x for x in keyed if x[0] is not None), key=lambda x: x[0])]


def _kind(period_text: str) -> str:
    """Like is compared with like: quarters with quarters, months with months, pooled years with pooled years."""
    from plan_reports.periods import span_or_none

    try:
        return Period.parse(period_text).kind
    except ValueError:
        span = span_or_none(period_text)
        return span.kind if span else "?"


def _year_earlier(points: list[tuple[str, float | None, Observation]], at: str) -> float | None:
    from plan_reports.periods import period_start

    start = period_start(at)
    if start is None:
        return None
    want = start.replace(year=start.year - 1)
    return next((v for k, v, _ in points if period_start(k) == want), None)


def _score_indicator(cfg: Any, ind: Indicator, o_id: str, s_id: str, period: Period, inputs: ScoreInputs) -> IndicatorScore:
    sc = cfg.scoring
    all_obs = inputs.observations.get(ind.id, [])
    current = next((o for o in sorted(all_obs, key=lambda o: o.source, reverse=True)
                    if o.reporting_period == str(period)), None)
    waiting = current if current and current.value is None and current.data_status == NOT_YET else None
    if waiting:  # the return says the figure is not yet out: the latest earlier return's figure is the latest known
        current = max((o for o in all_obs if o.value is not None and o.reporting_period
                       and o.reporting_period < str(period)), key=lambda o: (o.reporting_period, o.source),
                      default=current)
    value = current.value if current else None
    at = current.data_period if current and current.data_period else str(period)
    points = [p for p in _series(all_obs) if (p[2].reporting_period is None or p[2].reporting_period <= str(period))
              and _kind(p[0]) == _kind(at)]  # compare like with like: quarters with quarters, years with years
    upto = [p for p in points if p[0] != at]
    from plan_reports.periods import period_start

    at_start = period_start(at)
    earlier = [p for p in upto if at_start is None or (period_start(p[0]) or at_start) < at_start]
    previous = earlier[-1][1] if earlier else None
    last_year = _year_earlier(points, at)
    rng = (ind.range.low, ind.range.high) if ind.range else None
    thr = sc.direction.no_change_threshold_pct
    if current is None:
        dept_in = ind.department in inputs.reported_departments
        missing = "not in the department's return" if dept_in else f"no accepted return from {ind.department}"
        rating = rate_indicator(ind, sc.rag.rule_for(ind.id), None, None, missing_reason=missing)
    else:
        agreed, reported, target_year, covers = _target_for_figure(ind, period, at, current, all_obs, inputs)
        rating = rate_indicator(ind, sc.rag.rule_for(ind.id), value, agreed["value"] if agreed else reported,
                                last_year=last_year, missing_reason=current.reason or current.data_status)
        rating = target_note(rating, agreed, reported, lambda v: fmt_value(v, ind.unit, ind.decimals))
        used_target = rating.status == NO_TARGET or (rating.status in RAG and "vs target" in rating.reason)
        if not used_target:
            pass  # no data, data only, a range or a queried value: which year's target is beside the point
        elif target_year != covers:  # no target was set for the earlier year the figure covers: say so
            rating = Rating(status=rating.status, inputs=rating.inputs,
                            reason=f"{rating.reason}; no target was set for {covers}, the year the figure covers, "
                                   f"so this year's is used")
        elif target_year != period.year_label:
            rating = Rating(status=rating.status, inputs={**rating.inputs, "target_year": target_year},
                            reason=f"{rating.reason}; the target is {target_year}'s, the year the figure covers")
        if waiting and current is not waiting:
            rating = Rating(status=rating.status, inputs={**rating.inputs, "carried_from": current.reporting_period},
                            reason=f"{rating.reason}; this return's figure is not yet available, so the latest, "
                                   f"from the {current.reporting_period} return, is shown")
    short = direction(ind.polarity, previous, value, thr, rng)
    long = direction(ind.polarity, last_year, value, thr, rng)
    trend = None
    n = sc.direction.trend_points
    if n >= 3:
        vals = [v for _, v, _ in earlier if v is not None][-(n - 1):] + ([value] if value is not None else [])
        trend = trend_direction(ind.polarity, vals, thr) if len(vals) >= 3 else "Not comparable"
    try:
        dp = Period.parse(at)
    except ValueError:
        dp = None
    stale = value is not None and is_stale(ind, dp, period, sc.staleness.grace_months)
    position, comp_period = _position(cfg, ind, inputs, at, value)
    return IndicatorScore(
        indicator_id=ind.id, name=ind.name, outcome_id=o_id, sub_outcome_id=s_id, aim_id=ind.aim, department=ind.department,
        unit=ind.unit, polarity=ind.polarity, statutory=ind.statutory, value=value,
        target=rating.inputs.get("target") if current else None,  # the one the rating was made against
        data_period=at if current else None, rating=rating, short_term=short,
        long_term=long, trend=trend, previous_value=previous, last_year_value=last_year,
        stale=stale, position=position, comparator_group=ind.comparator, comparator_period=comp_period,
        commentary=current.commentary if current else None,
        source=current.source if current else "", history=[(k, v) for k, v, _ in points][-20:])


def _target_for_figure(ind: Indicator, period: Period, at: str, current: Observation, all_obs: list[Observation],
                       inputs: ScoreInputs) -> tuple[dict[str, Any] | None, float | None, str, str]:
    """(agreed target, the return's target, the year they are for, the year the figure covers).

    A figure that covers an earlier financial year than the one reported (published data lag a year or two) is
    rated against that year's target: the year's agreed one, else the target the returns made during that year gave.
    Rating a 2022/23 figure against a 2025/26 target would judge a year against a target never set for it. Where
    neither exists, this year's target is used, and the caller says so.
    """
    this_year = period.year_label
    try:
        covers = Period.parse(at).year_label
    except ValueError:
        covers = this_year
    if covers < this_year:
        agreed = inputs.agreed_years.get(ind.id, {}).get(covers)
        given = [o for o in all_obs if o.reporting_period and o.target is not None
                 and Period.parse(o.reporting_period).year_label == covers]
        reported = max(given, key=lambda o: o.reporting_period or "").target if given else None
        if agreed or reported is not None:
            return agreed, reported, covers, covers
    return inputs.agreed.get(ind.id), current.target, this_year, covers


def _position(cfg: Any, ind: Indicator, inputs: ScoreInputs, at: str, value: float | None) -> tuple[Position | None, str | None]:
    """Rank among the comparator group in the latest period where the council has a published or reported value."""
    from plan_reports.history import is_aggregate
    from plan_reports.periods import period_end, span_or_none

    by_period = inputs.comparators.get(ind.id, {})
    ours = cfg.organisation.council.area_code
    group = next((g for g in cfg.organisation.comparator_groups if g.id == ind.comparator), None)
    if not by_period or group is None or not group.ranks():
        return None, None
    members = None if group.members is None else {*group.members, ours}
    candidates = []
    for p, areas in by_period.items():
        vals = {a: v for a, v in areas.items() if not is_aggregate(a) and (members is None or a in members)}
        if ours not in vals or vals[ours] is None:
            if p == at and value is not None:
                vals[ours] = value
            else:
                continue
        if len(vals) > 1:
            candidates.append((period_end(p) or date.min, p, vals))
    if not candidates:
        return None, None
    _, p, vals = max(candidates, key=lambda c: c[0])
    span = span_or_none(p)
    return comparator_position(vals, ours, ind.polarity, group.name, span.label if span else p), p


def score_period(cfg: Any, plan: Plan, period: Period, inputs: ScoreInputs) -> PeriodScores:
    """Every indicator, commitment, aim, sub-outcome and outcome of the plan for one period. Pure."""
    inds = [_score_indicator(cfg, i, o.id, s.id, period, inputs) for o, s, i in plan.indicators()]
    as_of = period.end
    comms = []
    for o, s, c in plan.commitments():
        u = inputs.commitments.get(c.id, {})
        a = assess_commitment(u.get("status"), u.get("percent_complete"), _d(u.get("start_date")), _d(u.get("target_date")),
                              _d(u.get("completion_date")), as_of, cfg.scoring.commitments)
        comms.append(CommitmentScore(commitment_id=c.id, text=c.text, outcome_id=o.id, sub_outcome_id=s.id, aim_id=c.aim,
                     lead=c.lead, role=c.role, assessment=a, percent_complete=u.get("percent_complete"),
                                     target_date=u.get("target_date"), milestone=u.get("milestone"),
                                     achievements=u.get("achievements"), challenges=u.get("challenges"),
                                     priorities=u.get("priorities"), lead_officer=u.get("lead_officer")))
    levels = []
    ru = cfg.scoring.rollup

    def level(kind: str, ident: str, title: str, pick_i: Any, pick_c: Any) -> LevelScore:
        i_items = [x for x in inds if pick_i(x)]
        c_items = [x for x in comms if pick_c(x)]
        i_dirs = [x.short_term for x in i_items]
        ri = rollup([x.rating.status for x in i_items], i_dirs, ru)
        rc = rollup([x.assessment.rag for x in c_items], [], ru)
        return LevelScore(level=kind, id=ident, title=title, indicators=ri, commitments=rc, overall=combine(ri, rc, ru))

    for o in plan.groups():
        for s in o.sub_outcomes:
            for a in s.aims:
                levels.append(level("aim", a.id, a.text, lambda x, a=a: x.aim_id == a.id, lambda x, a=a: x.aim_id == a.id))
            levels.append(level("sub_outcome", s.id, s.title, lambda x, s=s: x.sub_outcome_id == s.id,
                                lambda x, s=s: x.sub_outcome_id == s.id))
        levels.append(level("outcome", o.id, o.title, lambda x, o=o: x.outcome_id == o.id, lambda x, o=o: x.outcome_id == o.id))
    return PeriodScores(str(period), plan.id, inds, comms, levels)


def _d(v: Any) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def load_inputs(con: Any, cfg: Any, plan: Plan, period: Period) -> ScoreInputs:
    """Everything scoring needs, read from the history store (the edge of this stage)."""
    from plan_reports.store import area_values, commitment_updates, indicator_values_through

    inputs = ScoreInputs()
    for r in indicator_values_through(con, str(period)):
        inputs.observations.setdefault(r["indicator_id"], []).append(Observation(
            reporting_period=r["period"], data_period=r["data_period"] or r["period"], value=r["value"], target=r["target"],
            data_status=r["data_status"], reason=r["reason"],
            commentary=r["commentary"], source=f"{r['file_name']} ({r['sha256'][:8]})"))
    ours = cfg.organisation.council.area_code
    for _, _, ind in plan.indicators():
        for r in area_values(con, ind.id):
            if r["area_code"] == ours:
                inputs.observations.setdefault(ind.id, []).append(Observation(reporting_period=None, data_period=r["period"],
                                               value=r["value"],
                                                                               source="published"))
            if r["grp"] in (None, ind.comparator) or r["area_code"] == ours:
                inputs.comparators.setdefault(ind.id, {}).setdefault(r["period"], {})[r["area_code"]] = r["value"]
    inputs.commitments = {k: dict(v) for k, v in commitment_updates(con, str(period)).items()}
    inputs.reported_departments = {r[0] for r in con.execute(
        "SELECT DISTINCT department FROM current_submissions WHERE period = ?", (str(period),))}
    inputs.agreed = agreed_targets_for(con, period)
    for r in con.execute("SELECT * FROM current_agreed_targets WHERE period NOT LIKE '%-%'"):  # whole years only
        inputs.agreed_years.setdefault(r["indicator_id"], {})[r["period"]] = dict(r)
    return inputs


def scores_dict(scores: PeriodScores) -> dict[str, Any]:
    """Scores for tools: every rating with its reason and the inputs used."""
    return {
        "period": scores.period,
        "plan": scores.plan_id,
        "indicators": [asdict(x) for x in scores.indicators],
        "commitments": [asdict(x) for x in scores.commitments],
        "levels": [asdict(x) for x in scores.levels],
    }
