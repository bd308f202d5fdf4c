"""Typed models of the plan, the organisation, the calendar and the settings.

Plain frozen dataclasses, so every command can use them (and unpickle the cached config) without importing
pydantic: pydantic validates them only when the YAML changes (`config.parse_model`). The constraints below are
pydantic's own hooks, built on first validation. Strict (`extra="forbid"`) so a misspelt key in a config file is an
error, never silently ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from plan_reports.periods import Period, is_period_ref

Day = date
Unit = Literal[
    "percent", "percentage_points", "count", "rate_per_1000", "rate_per_10000", "rate_per_100000",
    "gbp", "gbp_millions", "tco2e", "ktco2e", "kg", "hectares", "score", "years", "days", "ratio", "rank",
]
Polarity = Literal["higher_better", "lower_better", "within_range", "data_only"]
Frequency = Literal["quarterly", "six_monthly", "annual"]

UNIT_LABELS: dict[str, str] = {
    "percent": "%", "percentage_points": "percentage points", "count": "number", "rate_per_1000": "per 1,000",
    "rate_per_10000": "per 10,000", "rate_per_100000": "per 100,000", "gbp": "£", "gbp_millions": "£m",
    "tco2e": "tCO2e", "ktco2e": "ktCO2e", "kg": "kg", "hectares": "hectares", "score": "score",
    "years": "years", "days": "days", "ratio": "ratio", "rank": "rank",
}
POLARITY_LABELS: dict[str, str] = {
    "higher_better": "Higher is better", "lower_better": "Lower is better",
    "within_range": "Within a range", "data_only": "Data only",
}
FREQUENCY_LABELS: dict[str, str] = {"quarterly": "Quarterly", "six_monthly": "Six-monthly", "annual": "Annual"}
FREQUENCY_MONTHS: dict[str, int] = {"quarterly": 3, "six_monthly": 6, "annual": 12}
SIGNED_UNITS = ("percentage_points", "gbp", "gbp_millions", "score", "ratio")  # may be negative by their nature


def _span(low: float, high: float) -> str:
    return f"{low:g} to {high:g}" if high != math.inf else f"{low:g} or more"


def _period_ref(v: str) -> str:
    if not is_period_ref(v):
        raise ValueError(f"'{v}' is not a period: use 2021/22, 2021/22-Q1, 2021/22-H1 or a calendar year")
    return v


def _period(v: str) -> str:
    Period.parse(v)
    return v


class _Check:
    """A validator run after the type's own (pydantic's AfterValidator, without importing pydantic here)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.fn, handler(source))


class _Limits:
    """Constraints merged into the type's schema: ge/le for numbers, pattern/max_length for text."""

    def __init__(self, **limits: Any) -> None:
        self.limits = limits

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return {**handler(source), **self.limits}


PeriodRef = Annotated[str, _Check(_period_ref)]
PeriodId = Annotated[str, _Check(_period)]
Id = Annotated[str, _Limits(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=40)]


def _between(low: float, high: float) -> _Limits:
    return _Limits(ge=low, le=high)


class Model:
    """A config model: a frozen dataclass that pydantic validates strictly when a config file changes."""

    __slots__ = ()

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodValue(Model):
    value: float
    period: PeriodRef
    note: str | None = None
    # Where the figure comes from: the seed file and its page, section or paragraph ("003 s7.4 para 1").
    source: str | None = None
    # "stated" when the source states it; "derived" or "assumed" when it is our reading, the reasoning in `note`.
    basis: Literal["stated", "derived", "assumed"] = "stated"
    unit: Unit | None = None  # a context figure in another unit than its indicator's


@dataclass(frozen=True, slots=True, kw_only=True)
class Target(PeriodValue):
    period: PeriodId  # targets are set for reporting periods, so trackers can pick this period's


@dataclass(frozen=True, slots=True, kw_only=True)
class Range(Model):
    low: float
    high: float
    # Why these bounds, when no seed states them (a rating band the council sets itself): never shown as the plan's.
    note: str | None = None

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate(Model):
    numerator: str
    denominator: str
    multiplier: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Series(Model):
    """One published series that is this indicator: matched by its title or its OHID Fingertips indicator id, and
    by the breakdown it needs (`where`: column -> value, e.g. {Sex: Female} or {measure: Percentage})."""

    title: str | None = None
    fingertips_id: int | None = None
    where: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.title is None and self.fingertips_id is None:
            raise ValueError("a series needs a title or a fingertips_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class Indicator(Model):
    id: Id
    name: str
    aim: Id
    unit: Unit
    polarity: Polarity
    decimals: Annotated[int, _between(0, 4)]
    frequency: Frequency
    statutory: bool = False
    source: str
    lag_months: Annotated[int, _between(0, 60)]
    comparator: Id
    department: Id
    range: Range | None = None
    rate: Rate | None = None
    baselines: list[PeriodValue] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    source_names: list[str] = field(default_factory=list)  # published titles of the whole series (no breakdown)
    series: list[Series] = field(default_factory=list)  # published series with the breakdown that is this indicator
    # What a real value of this measure can be (a percentage in 0-100 by its unit; a typical level's band by this):
    # history import refuses values outside it and validate questions them (C018), so a typo is never rated.
    plausible: Range | None = None
    typical: float | None = None  # the level a real value is usually near (sample data and the demo start here)
    # Other figures the plan states about this measure (an England average, an earlier count): context, never rated.
    context: list[PeriodValue] = field(default_factory=list)
    # A running total or a coverage that does not fall (plans adopted to date, premises with gigabit): sample data
    # grows it steadily instead of letting it wander, so no demo chart shows a coverage going backwards.
    cumulative: bool = False
    # The yearly change real series of this measure show (0.25: a quarter a year, as public EV chargers): sample data
    # moves at this pace instead of a few per cent, so a fast-growing measure does not draw a flat line.
    typical_growth: Annotated[float, _between(-0.5, 1.0)] | None = None
    # What exactly is recorded, where the published measure's name covers several things ("alerts raised and %
    # assessed") or leaves its window open (a quarterly rate as a rolling year): the tracker shows it beside the name,
    # so a lead enters the one figure the unit and plausible range are set for.
    holds: str | None = None

    def limits(self) -> tuple[float, float]:
        """What a value of this measure can be at all, by its unit: a percentage 0-100, a count or rate not negative.

        A plausible range beyond those (spend as a % of budget, a variance) declares a measure that can leave them.
        Values outside are impossible (an error in validate); values inside but outside `plausible` are questioned.
        """
        low, high = (0.0, 100.0) if self.unit == "percent" else \
            (-math.inf, math.inf) if self.unit in SIGNED_UNITS else (0.0, math.inf)
        if self.plausible is not None:
            low, high = min(low, self.plausible.low), max(high, self.plausible.high)
        return low, high

    def plausibility(self, value: float) -> str | None:
        """Why `value` is not believable for this measure, in words for a lead; None when it is."""
        low, high = self.limits()
        if not low <= value <= high:
            what = "a percentage runs from 0 to 100" if self.unit == "percent" and (low, high) == (0, 100) else \
                f"this measure cannot be {'negative' if value < low and low == 0 else 'outside ' + _span(low, high)}"
            return f"{value:g} is impossible: {what}"
        p = self.plausible
        if p is not None and not p.low <= value <= p.high:
            return (f"{value:g} is outside the plausible range {_span(p.low, p.high)} for this measure "
                    f"({UNIT_LABELS[self.unit]}): check the figure and its unit")
        return None

    def __post_init__(self) -> None:
        if self.polarity == "within_range" and self.range is None:
            raise ValueError("polarity within_range needs a range: {low: ..., high: ...}")
        if self.typical is not None and self.plausible is not None \
                and not self.plausible.low <= self.typical <= self.plausible.high:
            raise ValueError(f"typical {self.typical} is outside plausible {self.plausible.low}-{self.plausible.high}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Aim(Model):
    id: Id
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Commitment(Model):
    id: Id
    text: str
    aim: Id
    lead: Id
    role: Literal["lead", "partner"]
    partners: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubOutcome(Model):
    id: Id
    ref: str | None = None
    title: str
    aims: list[Aim]
    commitments: list[Commitment] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Board(Model):
    id: Id
    name: str
    lead_department: Id


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome(Model):
    id: Id
    title: str
    description: str = ""
    board: Board
    sub_outcomes: list[SubOutcome]


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval(Model):
    by: str
    date: Day  # the field's name would shadow the type inside the class
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan(Model):
    id: Id
    title: str
    status: Literal["draft", "approved", "superseded"]
    approved: Approval | None = None
    starts: PeriodId
    ends: PeriodId
    vision: str
    outcomes: list[Outcome]
    enabling: Outcome | None = None
    # A council may keep reporting on a plan after it ends, e.g. until its successor is approved: the last period
    # it is extended to, and why (trackers, validation and the scheduler then use it without warning).
    extended_until: PeriodId | None = None
    extension_note: str = ""

    def last_period(self) -> Period:
        """The last reporting period the plan covers: its end, or the end of its extension."""
        end = Period.parse(self.ends)
        if self.extended_until:
            end = max(end, Period.parse(self.extended_until), key=lambda p: p.end)
        return end

    def covers(self, period: Period) -> bool:
        return Period.parse(self.starts).start <= period.start <= self.last_period().end

    def groups(self) -> Iterator[Outcome]:
        """Outcomes, then the enabling section: everything departments report on."""
        yield from self.outcomes
        if self.enabling:
            yield self.enabling

    def sub_outcomes(self) -> Iterator[tuple[Outcome, SubOutcome]]:
        for o in self.groups():
            for s in o.sub_outcomes:
                yield o, s

    def indicators(self) -> Iterator[tuple[Outcome, SubOutcome, Indicator]]:
        for o, s in self.sub_outcomes():
            for i in s.indicators:
                yield o, s, i

    def commitments(self) -> Iterator[tuple[Outcome, SubOutcome, Commitment]]:
        for o, s in self.sub_outcomes():
            for c in s.commitments:
                yield o, s, c

    def aim_text(self, aim_id: str) -> str:
        for _, s in self.sub_outcomes():
            for a in s.aims:
                if a.id == aim_id:
                    return a.text
        raise KeyError(aim_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact(Model):
    name: str
    email: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Department(Model):
    id: Id
    name: str
    contact: Contact


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparatorGroup(Model):
    """A group the council is ranked in. `members` are its area codes (the council need not be listed): None means
    every area in the imported file (England-wide), an empty list a group whose list is not available yet."""

    id: Id
    name: str
    description: str = ""
    members: list[str] | None = None
    members_source: str = ""  # who published the list, and which year's
    members_note: str = ""

    def ranks(self) -> bool:
        return self.id != "none" and self.members != []


@dataclass(frozen=True, slots=True, kw_only=True)
class Council(Model):
    name: str
    area_code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Organisation(Model):
    council: Council
    departments: list[Department]
    performance_team: Contact
    comparator_groups: list[ComparatorGroup]

    def department(self, dept_id: str) -> Department:
        for d in self.departments:
            if d.id == dept_id:
                return d
        raise KeyError(dept_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodDates(Model):
    submission_deadline: date | None = None
    board_meeting: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Calendar(Model):
    submission_deadline_days_after_period_end: Annotated[int, _between(0, 120)]
    board_meeting_days_after_period_end: Annotated[int, _between(0, 180)]
    weekend_dates_move_to: Literal["monday", "friday"] = "monday"
    overrides: dict[PeriodId, PeriodDates] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerSettings(Model):
    protection_password: str = ""
    template_version: str = "1.0"
    rag_preview_tolerance: Annotated[float, _between(0, 1)] = 0.10


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleSettings(Model):
    reminder_days_before_deadline: Annotated[int, _between(0, 60)] = 5
    reminder_days_after_deadline: Annotated[int, _between(0, 60)] = 2
    consolidate_days_after_deadline: Annotated[int, _between(0, 60)] = 2
    decks_days_before_board: Annotated[int, _between(0, 60)] = 7
    run_at_hour: Annotated[int, _between(0, 23)] = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailSettings(Model):
    host: str = ""
    port: Annotated[int, _between(1, 65535)] = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: str = "performance@example.gov.uk"
    username_env: str = "PLAN_REPORTS_SMTP_USER"
    password_env: str = "PLAN_REPORTS_SMTP_PASSWORD"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(Model):
    store: str = "workbooks/history.sqlite"
    outputs: str = "workbooks/out"
    inbox: str = "workbooks/inbox"
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    email: EmailSettings = field(default_factory=EmailSettings)


@dataclass(frozen=True, slots=True, kw_only=True)
class RagRule(Model):
    """tolerance: Amber within tolerance_pct of target. floor: Amber at or better than `floor`.
    improvement: short of target is Amber only if better than the same period last year."""

    type: Literal["tolerance", "floor", "improvement"]
    tolerance_pct: Annotated[float, _between(0, 100)] = 10
    floor: float | None = None

    def __post_init__(self) -> None:
        if self.type == "floor" and self.floor is None:
            raise ValueError("a floor rule needs `floor: <value>`")


@dataclass(frozen=True, slots=True, kw_only=True)
class RagConfig(Model):
    default: RagRule
    indicators: dict[str, RagRule] = field(default_factory=dict)

    def rule_for(self, indicator_id: str) -> RagRule:
        return self.indicators.get(indicator_id, self.default)


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectionConfig(Model):
    no_change_threshold_pct: Annotated[float, _between(0, 100)] = 1.0
    trend_points: Annotated[int, _between(0, 20)] = 0

    def __post_init__(self) -> None:
        if self.trend_points in (1, 2):
            raise ValueError("trend_points is 0 (compare two points) or at least 3")


@dataclass(frozen=True, slots=True, kw_only=True)
class StalenessConfig(Model):
    grace_months: Annotated[int, _between(0, 24)] = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitmentScoring(Model):
    behind_margin_pct: Annotated[float, _between(0, 100)] = 20
    ahead_margin_pct: Annotated[float, _between(0, 100)] = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds(Model):
    Green: float
    Amber: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupJudgement(Model):
    points: Thresholds
    share_green: Thresholds


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupConfig(Model):
    method: Literal["points", "share_green"] = "points"
    combine: Literal["lower", "pooled"] = "lower"  # indicators and commitments: the lower judgement, or all pooled
    points: dict[Literal["Green", "Amber", "Red"], float] = field(default_factory=lambda: {"Green": 3, "Amber": 2, "Red": 1})
    judgement: RollupJudgement
    minimum_coverage_pct: Annotated[float, _between(0, 100)] = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class Scoring(Model):
    rag: RagConfig
    direction: DirectionConfig = field(default_factory=DirectionConfig)
    staleness: StalenessConfig = field(default_factory=StalenessConfig)
    commitments: CommitmentScoring = field(default_factory=CommitmentScoring)
    rollup: RollupConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class Committee(Model):
    id: Id
    name: str
    outcomes: list[Id] = field(default_factory=list)
    sub_outcomes: list[Id] = field(default_factory=list)
    indicators: list[Id] = field(default_factory=list)

    def covers(self, outcome_id: str, sub_outcome_id: str, indicator_id: str) -> bool:
        return outcome_id in self.outcomes or sub_outcome_id in self.sub_outcomes or indicator_id in self.indicators


@dataclass(frozen=True, slots=True, kw_only=True)
class Committees(Model):
    plan: str
    committees: list[Committee]
