"""Typed models of the plan, the organisation, the calendar and the settings.

Plain frozen dataclasses, so every command can use them (and unpickle the cached config) without importing
pydantic: pydantic validates them only when the YAML changes (`config.parse_model`). The constraints below are
pydantic's own hooks, built on first validation. Strict (`extra="forbid"`) so a misspelt key in a config file is an
error, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import field
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from plan_reports.periods import Period, is_period_ref
from plan_reports.records import Record, record

Unit = Literal[
    "percent", "percentage_points", "count", "rate_per_1000", "rate_per_10000", "rate_per_100000",
    "gbp", "gbp_millions", "tco2e", "ktco2e", "kg", "hectares", "score", "years", "days", "ratio",
]
Polarity = Literal["higher_better", "lower_better", "within_range", "data_only"]
Frequency = Literal["quarterly", "six_monthly", "annual"]

UNIT_LABELS: dict[str, str] = {
    "percent": "%", "percentage_points": "percentage points", "count": "number", "rate_per_1000": "per 1,000",
    "rate_per_10000": "per 10,000", "rate_per_100000": "per 100,000", "gbp": "£", "gbp_millions": "£m",
    "tco2e": "tCO2e", "ktco2e": "ktCO2e", "kg": "kg", "hectares": "hectares", "score": "score",
    "years": "years", "days": "days", "ratio": "ratio",
}
POLARITY_LABELS: dict[str, str] = {
    "higher_better": "Higher is better", "lower_better": "Lower is better",
    "within_range": "Within a range", "data_only": "Data only",
}
FREQUENCY_LABELS: dict[str, str] = {"quarterly": "Quarterly", "six_monthly": "Six-monthly", "annual": "Annual"}
FREQUENCY_MONTHS: dict[str, int] = {"quarterly": 3, "six_monthly": 6, "annual": 12}


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


class Model(Record):
    """A config model: a frozen record that pydantic validates strictly when a config file changes."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}


@record
class PeriodValue(Model):
    value: float
    period: PeriodRef
    note: str | None = None


@record
class Target(PeriodValue):
    period: PeriodId  # targets are set for reporting periods, so trackers can pick this period's


@record
class Range(Model):
    low: float
    high: float

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")


@record
class Rate(Model):
    numerator: str
    denominator: str
    multiplier: int = 100


@record
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
    source_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.polarity == "within_range" and self.range is None:
            raise ValueError("polarity within_range needs a range: {low: ..., high: ...}")


@record
class Aim(Model):
    id: Id
    text: str


@record
class Commitment(Model):
    id: Id
    text: str
    aim: Id
    lead: Id
    role: Literal["lead", "partner"]
    partners: list[str] = field(default_factory=list)


@record
class SubOutcome(Model):
    id: Id
    ref: str | None = None
    title: str
    aims: list[Aim]
    commitments: list[Commitment] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)


@record
class Board(Model):
    id: Id
    name: str
    lead_department: Id


@record
class Outcome(Model):
    id: Id
    title: str
    description: str = ""
    board: Board
    sub_outcomes: list[SubOutcome]


@record
class Approval(Model):
    by: str
    date: date
    note: str = ""


@record
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


@record
class Contact(Model):
    name: str
    email: str


@record
class Department(Model):
    id: Id
    name: str
    contact: Contact


@record
class ComparatorGroup(Model):
    id: Id
    name: str
    description: str = ""


@record
class Council(Model):
    name: str
    area_code: str


@record
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


@record
class PeriodDates(Model):
    submission_deadline: date | None = None
    board_meeting: date | None = None


@record
class Calendar(Model):
    submission_deadline_days_after_period_end: Annotated[int, _between(0, 120)]
    board_meeting_days_after_period_end: Annotated[int, _between(0, 180)]
    weekend_dates_move_to: Literal["monday", "friday"] = "monday"
    overrides: dict[PeriodId, PeriodDates] = field(default_factory=dict)


@record
class TrackerSettings(Model):
    protection_password: str = ""
    template_version: str = "1.0"
    rag_preview_tolerance: Annotated[float, _between(0, 1)] = 0.10


@record
class ScheduleSettings(Model):
    reminder_days_before_deadline: Annotated[int, _between(0, 60)] = 5
    reminder_days_after_deadline: Annotated[int, _between(0, 60)] = 2
    consolidate_days_after_deadline: Annotated[int, _between(0, 60)] = 2
    decks_days_before_board: Annotated[int, _between(0, 60)] = 7
    run_at_hour: Annotated[int, _between(0, 23)] = 7


@record
class EmailSettings(Model):
    host: str = ""
    port: Annotated[int, _between(1, 65535)] = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: str = "performance@example.gov.uk"
    username_env: str = "PLAN_REPORTS_SMTP_USER"
    password_env: str = "PLAN_REPORTS_SMTP_PASSWORD"


@record
class Settings(Model):
    store: str = "workbooks/history.sqlite"
    outputs: str = "workbooks/out"
    inbox: str = "workbooks/inbox"
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    email: EmailSettings = field(default_factory=EmailSettings)


@record
class RagRule(Model):
    """tolerance: Amber within tolerance_pct of target. floor: Amber at or better than `floor`.
    improvement: short of target is Amber only if better than the same period last year."""

    type: Literal["tolerance", "floor", "improvement"]
    tolerance_pct: Annotated[float, _between(0, 100)] = 10
    floor: float | None = None

    def __post_init__(self) -> None:
        if self.type == "floor" and self.floor is None:
            raise ValueError("a floor rule needs `floor: <value>`")


@record
class RagConfig(Model):
    default: RagRule
    indicators: dict[str, RagRule] = field(default_factory=dict)

    def rule_for(self, indicator_id: str) -> RagRule:
        return self.indicators.get(indicator_id, self.default)


@record
class DirectionConfig(Model):
    no_change_threshold_pct: Annotated[float, _between(0, 100)] = 1.0
    trend_points: Annotated[int, _between(0, 20)] = 0

    def __post_init__(self) -> None:
        if self.trend_points in (1, 2):
            raise ValueError("trend_points is 0 (compare two points) or at least 3")


@record
class StalenessConfig(Model):
    grace_months: Annotated[int, _between(0, 24)] = 3


@record
class CommitmentScoring(Model):
    behind_margin_pct: Annotated[float, _between(0, 100)] = 20
    ahead_margin_pct: Annotated[float, _between(0, 100)] = 40


@record
class Thresholds(Model):
    Green: float
    Amber: float


@record
class RollupJudgement(Model):
    points: Thresholds
    share_green: Thresholds


@record
class RollupConfig(Model):
    method: Literal["points", "share_green"] = "points"
    points: dict[Literal["Green", "Amber", "Red"], float] = field(default_factory=lambda: {"Green": 3, "Amber": 2, "Red": 1})
    judgement: RollupJudgement
    minimum_coverage_pct: Annotated[float, _between(0, 100)] = 50


@record
class Scoring(Model):
    rag: RagConfig
    direction: DirectionConfig = field(default_factory=DirectionConfig)
    staleness: StalenessConfig = field(default_factory=StalenessConfig)
    commitments: CommitmentScoring = field(default_factory=CommitmentScoring)
    rollup: RollupConfig


@record
class Committee(Model):
    id: Id
    name: str
    outcomes: list[Id] = field(default_factory=list)
    sub_outcomes: list[Id] = field(default_factory=list)
    indicators: list[Id] = field(default_factory=list)

    def covers(self, outcome_id: str, sub_outcome_id: str, indicator_id: str) -> bool:
        return outcome_id in self.outcomes or sub_outcome_id in self.sub_outcomes or indicator_id in self.indicators


@record
class Committees(Model):
    plan: str
    committees: list[Committee]
