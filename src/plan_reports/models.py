"""Typed models of the plan, the organisation, the calendar and the settings.

Strict (`extra="forbid"`) so a misspelt key in a config file is an error, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from plan_reports.periods import Period, is_period_ref

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


PeriodRef = Annotated[str, AfterValidator(_period_ref)]
PeriodId = Annotated[str, AfterValidator(_period)]
Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=40)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # build validators only when validating


class PeriodValue(Model):
    value: float
    period: PeriodRef
    note: str | None = None


class Target(PeriodValue):
    period: PeriodId  # targets are set for reporting periods, so trackers can pick this period's


class Range(Model):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class Rate(Model):
    numerator: str
    denominator: str
    multiplier: int = 100


class Indicator(Model):
    id: Id
    name: str
    aim: Id
    unit: Unit
    polarity: Polarity
    decimals: int = Field(ge=0, le=4)
    frequency: Frequency
    statutory: bool = False
    source: str
    lag_months: int = Field(ge=0, le=60)
    comparator: Id
    department: Id
    range: Range | None = None
    rate: Rate | None = None
    baselines: list[PeriodValue] = []
    targets: list[Target] = []
    source_names: list[str] = []

    @model_validator(mode="after")
    def _range_needed(self) -> Indicator:
        if self.polarity == "within_range" and self.range is None:
            raise ValueError("polarity within_range needs a range: {low: ..., high: ...}")
        return self


class Aim(Model):
    id: Id
    text: str


class Commitment(Model):
    id: Id
    text: str
    aim: Id
    lead: Id
    role: Literal["lead", "partner"]
    partners: list[str] = []


class SubOutcome(Model):
    id: Id
    ref: str | None = None
    title: str
    aims: list[Aim]
    commitments: list[Commitment] = []
    indicators: list[Indicator] = []


class Board(Model):
    id: Id
    name: str
    lead_department: Id


class Outcome(Model):
    id: Id
    title: str
    description: str = ""
    board: Board
    sub_outcomes: list[SubOutcome]


class Approval(Model):
    by: str
    date: date
    note: str = ""


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


class Contact(Model):
    name: str
    email: str


class Department(Model):
    id: Id
    name: str
    contact: Contact


class ComparatorGroup(Model):
    id: Id
    name: str
    description: str = ""


class Council(Model):
    name: str
    area_code: str


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


class PeriodDates(Model):
    submission_deadline: date | None = None
    board_meeting: date | None = None


class Calendar(Model):
    submission_deadline_days_after_period_end: int = Field(ge=0, le=120)
    board_meeting_days_after_period_end: int = Field(ge=0, le=180)
    weekend_dates_move_to: Literal["monday", "friday"] = "monday"
    overrides: dict[PeriodId, PeriodDates] = {}


class TrackerSettings(Model):
    protection_password: str = ""
    template_version: str = "1.0"
    rag_preview_tolerance: float = Field(0.10, ge=0, le=1)


class ScheduleSettings(Model):
    reminder_days_before_deadline: int = Field(5, ge=0, le=60)
    reminder_days_after_deadline: int = Field(2, ge=0, le=60)
    consolidate_days_after_deadline: int = Field(2, ge=0, le=60)
    decks_days_before_board: int = Field(7, ge=0, le=60)
    run_at_hour: int = Field(7, ge=0, le=23)


class EmailSettings(Model):
    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: str = "performance@example.gov.uk"
    username_env: str = "PLAN_REPORTS_SMTP_USER"
    password_env: str = "PLAN_REPORTS_SMTP_PASSWORD"


class Settings(Model):
    store: str = "workbooks/history.sqlite"
    outputs: str = "workbooks/out"
    inbox: str = "workbooks/inbox"
    tracker: TrackerSettings = TrackerSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    email: EmailSettings = EmailSettings()


class RagRule(Model):
    """tolerance: Amber within tolerance_pct of target. floor: Amber at or better than `floor`.
    improvement: short of target is Amber only if better than the same period last year."""

    type: Literal["tolerance", "floor", "improvement"]
    tolerance_pct: float = Field(10, ge=0, le=100)
    floor: float | None = None

    @model_validator(mode="after")
    def _floor_needed(self) -> RagRule:
        if self.type == "floor" and self.floor is None:
            raise ValueError("a floor rule needs `floor: <value>`")
        return self


class RagConfig(Model):
    default: RagRule
    indicators: dict[str, RagRule] = {}

    def rule_for(self, indicator_id: str) -> RagRule:
        return self.indicators.get(indicator_id, self.default)


class DirectionConfig(Model):
    no_change_threshold_pct: float = Field(1.0, ge=0, le=100)
    trend_points: int = Field(0, ge=0, le=20)

    @model_validator(mode="after")
    def _points(self) -> DirectionConfig:
        if self.trend_points in (1, 2):
            raise ValueError("trend_points is 0 (compare two points) or at least 3")
        return self


class StalenessConfig(Model):
    grace_months: int = Field(3, ge=0, le=24)


class CommitmentScoring(Model):
    behind_margin_pct: float = Field(20, ge=0, le=100)
    ahead_margin_pct: float = Field(40, ge=0, le=100)


class Thresholds(Model):
    Green: float
    Amber: float


class RollupJudgement(Model):
    points: Thresholds
    share_green: Thresholds


class RollupConfig(Model):
    method: Literal["points", "share_green"] = "points"
    points: dict[Literal["Green", "Amber", "Red"], float] = {"Green": 3, "Amber": 2, "Red": 1}
    judgement: RollupJudgement
    minimum_coverage_pct: float = Field(50, ge=0, le=100)


class Scoring(Model):
    rag: RagConfig
    direction: DirectionConfig = DirectionConfig()
    staleness: StalenessConfig = StalenessConfig()
    commitments: CommitmentScoring = CommitmentScoring()
    rollup: RollupConfig


class Committee(Model):
    id: Id
    name: str
    outcomes: list[Id] = []
    sub_outcomes: list[Id] = []
    indicators: list[Id] = []

    def covers(self, outcome_id: str, sub_outcome_id: str, indicator_id: str) -> bool:
        return outcome_id in self.outcomes or sub_outcome_id in self.sub_outcomes or indicator_id in self.indicators


class Committees(Model):
    plan: str
    committees: list[Committee]
