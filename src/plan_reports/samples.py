"""Realistic filled trackers for tests, the demo and benchmarks.

Values are a pure function of (seed, indicator, period), so trackers made in separate runs form one coherent history:
they start from the plan's baselines, follow a per-indicator trend with noise, miss some values (with reasons) and
carry commentary where they are Red. The same seed gives the same bytes apart from the file timestamps.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.atomic import atomic_path, set_mtime
from plan_reports.models import FREQUENCY_MONTHS, Indicator, Plan
from plan_reports.periods import Period
from plan_reports.score import better, rate_indicator
from plan_reports.trackers import (
    COMMITMENT_COLUMNS,
    FIRST_ROW,
    SHEET_COMMITMENTS,
    SHEET_INDICATORS,
    Prefill,
    build_tracker,
    col_letter,
    default_data_period,
    indicator_columns,
    plan_prefill,
    target_for,
    tracker_filename,
)
from plan_reports.xlsxout import pin_package

if TYPE_CHECKING:
    from plan_reports.config import Config

DEFAULT_LEVELS = {
    "percent": (20, 85), "percentage_points": (3, 15), "count": (40, 4000), "rate_per_1000": (5, 80),
    "rate_per_10000": (30, 600), "rate_per_100000": (100, 900), "gbp": (15000, 32000), "gbp_millions": (5, 60),
    "tco2e": (2, 12000), "ktco2e": (300, 1500), "kg": (400, 600), "hectares": (10, 60), "score": (7, 40),
    "years": (62, 66), "days": (7, 12), "ratio": (2, 9), "rank": (1, 50),
}
OFFICERS = ("A. Patel", "B. Hughes", "C. Okafor", "D. Smith", "E. Kowalski", "F. Begum", "G. Walsh", "H. Chen",
            "I. Mensah", "J. Taylor", "K. O'Brien", "L. Nowak")


def _rng(*parts: Any) -> random.Random:
    return random.Random(zlib.crc32("|".join(map(str, parts)).encode()))


def _quarter_index(p: Period) -> int:
    q = p.quarters()[0]
    return q.fy * 4 + q.n - 1


@dataclass(frozen=True)
class Profile:
    """An indicator's simulated behaviour: level at the plan's start, yearly drift, noise."""

    level: float
    drift: float  # share per year, signed
    noise: float  # share
    rising: bool = False  # a running total or coverage: never falls


def profile(ind: Indicator, seed: int) -> Profile:
    """How one measure moves, sized like real series: a few per cent a year, not a random walk.

    Real council series change slowly: a survey moves a point or two a year, a rolling 12-month total is smooth
    (each quarter shares nine months with the last), money grows with prices, a running total or coverage only
    grows. A board member who sees a 15% jump between years or a coverage that falls stops believing the chart.
    """
    r = _rng(seed, ind.id, "profile")
    if ind.typical is not None:  # the plan's typical level: believable figures in every chart
        level = ind.typical
    elif ind.range is not None:
        level = (ind.range.low + ind.range.high) / 2
    elif ind.baselines:
        level = ind.baselines[-1].value
    else:
        lo, hi = DEFAULT_LEVELS[ind.unit]
        level = r.uniform(lo, hi)
    drift, noise = r.uniform(-0.03, 0.03), r.uniform(0.003, 0.012)
    if ind.unit in ("gbp", "gbp_millions") and ind.polarity != "data_only":
        drift = r.uniform(0.02, 0.05)  # money per head or secured grows with prices
    elif ind.unit == "years":
        drift = r.uniform(-0.006, 0.006)  # life expectancy moves by months a year, not years
    if ind.unit == "percent":  # a share near its ceiling moves slowly: 92% agreeing does not reach 99% in three years
        drift *= min(1.0, 0.1 * (100 - level) / max(level, 1.0) / 0.03)
    if "rolling 12 months" in ind.name:
        noise *= 0.4
    if ind.typical_growth is not None:  # the pace the measure's real series move at
        drift = ind.typical_growth * r.uniform(0.8, 1.2)
    if ind.cumulative:
        return Profile(level, drift if ind.typical_growth is not None else r.uniform(0.02, 0.08), 0.0, rising=True)
    return Profile(level, drift, noise)


def simulated_value(ind: Indicator, period: Period, seed: int, start: Period) -> float:
    """The value an indicator shows for `period`; annual and six-monthly measures hold across their span."""
    prof = profile(ind, seed)
    months = FREQUENCY_MONTHS[ind.frequency]
    span = Period.containing(period.start, "Y" if months == 12 else "H" if months == 6 else "Q")
    t = (_quarter_index(span) - _quarter_index(start)) / 4
    noise = max(-2.0, min(2.0, _rng(seed, ind.id, str(span)).gauss(0, 1))) * prof.noise  # no freak quarter
    v = prof.level * (1 + prof.drift * t + noise)
    return _bounded(ind, v, reflect=not prof.rising)


def _bounded(ind: Indicator, v: float, *, reflect: bool = True) -> float:
    """A simulated figure kept within what a real value can be: the indicator's plausible range, else its unit's.

    Reflected back inside, short of the bound: a figure pinned at the edge (100% every quarter) is not believable.
    A rising measure is held at the inner bound instead, since reflecting would make it fall.
    """
    if ind.plausible is not None:
        lo, hi = ind.plausible.low, ind.plausible.high
        inner_lo, inner_hi = lo + 0.02 * (hi - lo), hi - 0.02 * (hi - lo)
        if reflect and v > inner_hi:
            v = inner_hi - (v - inner_hi)
        elif reflect and v < inner_lo:
            v = inner_lo + (inner_lo - v)
        v = min(inner_hi, max(inner_lo, v))
    elif ind.unit == "percent":
        v = min(99.5, max(0.2, v))
    v = max(v, 0.0) if ind.unit not in ("percentage_points", "gbp", "gbp_millions", "score") and \
        (ind.plausible is None or ind.plausible.low >= 0) else v
    return round(v) if ind.unit == "count" else round(v, ind.decimals)


def simulated_target(ind: Indicator, period: Period, seed: int, start: Period) -> float | None:
    """The target a service sets for `period`'s year, as services do: a little better than where things stood when
    the year began (last year's final quarter), never looser than last year's target while that is still within
    reach, and a round figure. Set from the level before the year, so a figure is rarely exactly on target."""
    planned = target_for(ind, period)
    if planned is not None or ind.polarity in ("data_only", "within_range"):
        return planned
    r = _rng(seed, ind.id, "target", period.fy)
    if r.random() < 0.08:
        return None  # a few indicators without a target this year
    base = simulated_value(ind, Period(period.fy, "Y", 1).quarters()[0].shift(-1), seed, start)
    # Up to a twentieth of the level better, and never more than half the headroom to the plausible bound, so no
    # target asks for 100% or a level no area reaches; a running total's target is never below where it stands.
    p = ind.plausible
    lo, hi = (p.low, p.high) if p is not None else (0.0, abs(base) * 2)
    headroom = (hi - base) if ind.polarity == "higher_better" else (base - lo)
    step = r.uniform(0.2 if ind.cumulative else 0.05, 1.0) * min(0.5 * max(headroom, 0.0), 0.015 * abs(base))
    step = max(step, min(10 ** -ind.decimals, 0.5 * max(headroom, 0.0)))  # at least one shown unit: 33% after 32%
    t = base + step if ind.polarity == "higher_better" else base - step
    if period.fy > start.fy:  # last year's target stands if it was more ambitious and is still within 5% of the level
        before = simulated_target(ind, Period(period.fy - 1, "Y", 1).quarters()[0], seed, start)
        if before is not None and better(ind.polarity, before, t) and abs(before - base) <= 0.05 * abs(base):
            t = before
    if ind.unit in ("count", "gbp") and abs(t) >= 1000:  # a target is set as a round figure: 2,320,000, not 2,323,742
        t = round(t, 2 - len(str(int(abs(t)))) + 1)
    return _bounded(ind, t)


@dataclass(frozen=True)
class Scenario:
    """Real-life trouble to plant in a set of submissions."""

    missing_share: float = 0.07
    invalid: bool = False  # plant errors a validator must catch


def _indicator_row(ind: Indicator, period: Period, seed: int, start: Period, cutoff: int, cfg: Config,
                   team: str, scen: Scenario) -> dict[str, Any]:
    r = _rng(seed, ind.id, str(period), team, "row")
    row: dict[str, Any] = {"data_period": default_data_period(ind, period, cutoff)}
    target = simulated_target(ind, period, seed, start)
    row["target"] = target
    if r.random() < scen.missing_share:
        row["data_status"] = "Not yet available"
        row["reason"] = f"Awaiting publication by {ind.source}; expected before the next return."
        return row
    # The figure belongs to the period it covers, not to the return: a lagged annual figure reported in three
    # returns is the same figure three times, not three silent revisions of it.
    covered = Period.parse(row["data_period"])
    value = simulated_value(ind, covered, seed, start)
    if ind.rate:
        den = max(1, round(_rng(seed, ind.id, str(covered), team, "denominator").uniform(200, 20000)))
        num = round(value * den / ind.rate.multiplier, 2)
        row["numerator"], row["denominator"] = num, den
        value = round(num / den * ind.rate.multiplier, ind.decimals)
    row["value"] = value
    row["data_status"] = "Provisional" if r.random() < 0.2 else "Final"
    last_year = simulated_value(ind, covered.year_earlier(), seed, start)
    rating = rate_indicator(ind, cfg.scoring.rag.rule_for(ind.id), value, target, last_year=last_year)
    # The lead's words name no figure and no target, and claim no direction: the board may rate against another
    # target (the agreed one, or the year the figure covers) and words that contradict the RAG cost trust.
    if rating.status == "Red":
        row["commentary"] = r.choice(["Recovery actions agreed with the service; progress reported to the Outcome Board "
                                      "next quarter.", "A recovery plan is in place and is reviewed monthly by the "
                                      "service's management team."])
    elif rating.status == "Amber" and r.random() < 0.6:
        row["commentary"] = "The service is monitoring this closely; actions are in hand where needed."
    elif rating.status == "Green" and r.random() < 0.25:
        row["commentary"] = "In line with expectations."
    return row


def _commitment_row(c: Any, period: Period, plan_start: date, plan_end: date, seed: int, team: str) -> dict[str, Any]:
    """One quarter's update to a commitment, from a story drawn once per commitment: when it starts and ends,
    whether and when it hits trouble or is deferred. Each quarter reads that story at its end date, so a commitment
    reported Completed stays Completed, and the words never contradict the status (a disrupted commitment is not
    "launched on schedule")."""
    r = _rng(seed, c.id, str(period), team, "commitment")
    base = _rng(seed, c.id, "dates")
    start = plan_start + timedelta(days=base.randrange(0, 540))
    target = min(plan_end, start + timedelta(days=base.randrange(540, 1460)))  # most run most of the plan
    span = max((target - start).days, 1)
    fate, drift = base.random(), base.uniform(-0.06, 0.06)
    trouble_from = start + timedelta(days=round(span * base.uniform(0.2, 0.7)))
    trouble_to = trouble_from + timedelta(days=base.randrange(270, 600))
    done = target if fate >= 0.04 else None  # the deferred ones never finish inside the plan
    if done and base.random() < 0.15:
        done = start + timedelta(days=round(span * base.uniform(0.6, 0.9)))  # a few finish early
    today = period.end
    elapsed = min(1.0, max(0.0, (today - start).days / span))
    if start > today:
        status, pct = "Not started", 0.0
    elif done and done <= today:
        status, pct = "Completed", 1.0
    elif fate < 0.04 and today >= trouble_from:
        status, pct = "Deferred", round(min(elapsed, (trouble_from - start).days / span) * 0.8, 2)
    elif fate < 0.45 and trouble_from <= today <= trouble_to:
        status = "Major disruption" if fate < 0.14 else "Minor disruption"
        pct = round(max(0.0, elapsed - (0.3 if fate < 0.14 else 0.12)), 2)
    else:
        status, pct = "On track", round(min(0.95, max(0.05, elapsed + drift)), 2)
    row: dict[str, Any] = {
        "lead_officer": OFFICERS[base.randrange(len(OFFICERS))], "status": status, "percent_complete": pct,
        "start_date": start, "target_date": target if status == "Completed" else max(target, today + timedelta(days=30)),
        "milestone": r.choice(["Delivery plan reviewed at the departmental management team.",
                               "Partner workshop held and actions agreed.", "Business case approved.",
                               "Mid-point review completed; no change to scope."]),
    }
    if status == "Completed":
        row["completion_date"] = done
        row["achievements"] = base.choice(["Completed as planned; the outcome has been reported to the departmental "
                                           "management team.", "Delivered in full and now part of the service's "
                                           "day-to-day work.", "Completed; an evaluation of its impact is under way."])
    elif status == "On track":
        row["achievements"] = r.choice(["Milestones for the period met.",
                                        "Engagement with partners and residents completed as planned.",
                                        "Pilot completed successfully; wider roll-out agreed.",
                                        "New service model launched on schedule."])
        row["priorities"] = r.choice(["Complete the next phase and evaluate the impact with service users.",
                                      "Agree funding for the next stage and confirm the delivery timetable.",
                                      "Embed the new approach across teams and report outcomes to the Outcome Board."])
    elif status in ("Minor disruption", "Major disruption", "Deferred"):
        row["challenges"] = base.choice([
            "Recruitment to two key posts has been slower than planned.",
            "Contractor capacity has delayed delivery; a revised programme is being agreed.",
            "Partner funding decisions are awaited; contingency options are being prepared.",
            "Rising demand has diverted staff to frontline work.",
            "A change in national guidance means the approach is being redesigned.",
        ])
        row["priorities"] = ("Agree with the Outcome Board whether and when to restart." if status == "Deferred" else
                             r.choice(["Recover the programme: a revised timetable goes to the next Outcome Board.",
                                       "Fill the vacant posts and bring the milestones back on track.",
                                       "Agree the revised scope with partners and confirm funding."]))
        if status == "Minor disruption":
            row["achievements"] = "Some milestones met; the rest have been re-planned."
    return row


def _fill(ws: Any, columns: list[Any], row_values: dict[str, dict[str, Any]]) -> None:
    from plan_reports.xlsxout import put

    letters = {c.key: col_letter(columns, c.key) for c in columns}
    r = FIRST_ROW
    while ws.cell(r, 1).value:
        for key, v in row_values.get(ws.cell(r, 1).value, {}).items():
            if v is not None:
                put(ws[f"{letters[key]}{r}"], v)
        r += 1


def _history(plan: Plan, dept: str, period: Period, seed: int, start: Period) -> Prefill:
    """The simulated previous and same-period-last-year values, over the plan's baselines."""
    history = {(ind.id, str(p)): simulated_value(ind, p, seed, start)
               for _, _, ind in plan.indicators() if ind.department == dept
               for p in (period.previous(), period.year_earlier()) if p.start >= start.start}
    return plan_prefill(plan, dept, history)


def plant_errors(ws_ind: Any, ws_com: Any, period: Period) -> None:
    """Typical mistakes: text in a number cell, n/a, a Major disruption with no explanation."""
    from plan_reports.xlsxout import put

    cols = indicator_columns(period)
    put(ws_ind[f"{col_letter(cols, 'value')}{FIRST_ROW}"], "n/a")
    put(ws_ind[f"{col_letter(cols, 'value')}{FIRST_ROW + 1}"], "about 40")
    put(ws_com[f"{col_letter(COMMITMENT_COLUMNS, 'status')}{FIRST_ROW}"], "Major disruption")
    ws_com[f"{col_letter(COMMITMENT_COLUMNS, 'challenges')}{FIRST_ROW}"] = None


def write_sample(cfg: Config, dept: str, period: Period, out: Path, seed: int, team: str = "",
                 scenario: Scenario = Scenario()) -> Path:
    plan = cfg.plan_for_period(period)
    start = Period.parse(plan.starts).quarters()[0]
    cutoff = cfg.calendar.board_meeting_days_after_period_end
    stamp = datetime.combine(cfg.submission_deadline(period) - timedelta(days=3), datetime.min.time(), UTC)
    wb = build_tracker(cfg, plan, dept, period, _history(plan, dept, period, seed, start), stamp, team)
    ind_rows = {i.id: _indicator_row(i, period, seed, start, cutoff, cfg, team, scenario)
                for _, _, i in plan.indicators() if i.department == dept}
    plan_start, plan_end = Period.parse(plan.starts).start, Period.parse(plan.ends).end
    com_rows = {c.id: _commitment_row(c, period, plan_start, plan_end, seed, team)
                for _, _, c in plan.commitments() if c.lead == dept}
    _fill(wb[SHEET_INDICATORS], indicator_columns(period), ind_rows)
    _fill(wb[SHEET_COMMITMENTS], COMMITMENT_COLUMNS, com_rows)
    if scenario.invalid:
        plant_errors(wb[SHEET_INDICATORS], wb[SHEET_COMMITMENTS], period)
    target = Path(out) / tracker_filename(dept, period, team)
    with atomic_path(target) as tmp:
        wb.save(tmp)
        pin_package(tmp, stamp)  # the same seed gives the same bytes
    set_mtime(target, stamp)  # arrived three days before the deadline
    return target


def write_samples(cfg: Config, period: Period, out: Path, *, count: int | None = None, seed: int = 1,
                  departments: list[str] | None = None, progress: Any = None) -> list[Path]:
    """One filled tracker per department, or `count` trackers from distinct service teams across departments."""
    depts = departments or [d.id for d in cfg.organisation.departments]
    jobs = [(d, "") for d in depts] if count is None else \
        [(depts[i % len(depts)], f"T{i + 1:04d}") for i in range(count)]
    tick = progress or (lambda: None)
    if len(jobs) < 12:
        written = []
        for dept, team in jobs:
            written.append(write_sample(cfg, dept, period, out, seed, team))
            tick()
        return written
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(min(os.cpu_count() or 1, 4), mp_context=multiprocessing.get_context(method)) as ex:
        futures = [ex.submit(write_sample, cfg, dept, period, out, seed, team) for dept, team in jobs]
        written = []
        for f in futures:
            written.append(f.result())
            tick()
    return written


def simulated_area_codes(n: int = 15) -> list[str]:
    """Codes of the demo's anonymised comparator areas: never a real council's (real codes start E, W, S or N)."""
    return [f"X{k + 1:08d}" for k in range(n)]


def write_comparators(cfg: Config, plan: Plan, years: list[Period], out: Path, seed: int, areas: int = 15) -> dict[str, Path]:
    """Simulated published figures for anonymised comparator areas, one tidy CSV per group (the council's own
    figures are its returns).

    The areas are named "Comparator county A" and so on: invented values are never put against a real council.
    """
    import csv

    start = Period.parse(plan.starts).quarters()[0]
    files: dict[str, Path] = {}
    groups = {g.id for g in cfg.organisation.comparator_groups} - {"none", "england"}
    for group in sorted(groups):
        rows = []
        for _, _, ind in plan.indicators():
            if ind.comparator != group or ind.polarity == "data_only":
                continue
            for y in years:
                # The council's own figures come from its returns only: a second, different "published" figure
                # for the same period would make the decks and reports disagree about which one is true.
                council = simulated_value(ind, y.quarters()[-1], seed, start)
                for k, code in enumerate(simulated_area_codes(areas)):
                    r = _rng(seed, ind.id, str(y), group, k)
                    v = _bounded(ind, council * (1 + r.gauss(0, 0.15)))
                    rows.append((code, f"Comparator county {chr(65 + k)}", str(y), ind.id,
                                 None if r.random() < 0.05 else v))
        target = Path(out) / f"comparators_{group}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp, open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["area_code", "area_name", "period", "indicator", "value"])
            w.writerows((a, n, p, i, "" if v is None else v) for a, n, p, i, v in rows)
        files[group] = target
    return files
