from __future__ import annotations

import dataclasses
import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from plan_reports.config import Config, validate_model
from plan_reports.models import Indicator, RagRule, Range, RollupConfig
from plan_reports.periods import Period
from plan_reports.rollup import combine
from plan_reports.score import (
    assess_commitment,
    comparator_position,
    direction,
    is_stale,
    rate_indicator,
    rollup,
    trend_direction,
)


def ind(polarity: str = "higher_better", unit: str = "percent", rng: tuple[float, float] | None = None,
        frequency: str = "quarterly", lag: int = 1) -> Indicator:
    return Indicator(id="T-01", name="Test", aim="T.A1", unit=unit, polarity=polarity, decimals=1, frequency=frequency,
                     source="test", lag_months=lag, comparator="none", department="ET",
                     range=Range(low=rng[0], high=rng[1]) if rng else None)


TOL = RagRule(type="tolerance", tolerance_pct=10)
FLOOR = RagRule(type="floor", floor=30)
FLOOR_LOWER = RagRule(type="floor", floor=5)
IMPROVE = RagRule(type="improvement")


@pytest.mark.parametrize(
    ("polarity", "rule", "value", "target", "last_year", "expected"),
    [
        # tolerance, higher is better
        ("higher_better", TOL, 40, 40, None, "Green"),  # exactly at target
        ("higher_better", TOL, 45, 40, None, "Green"),
        ("higher_better", TOL, 36, 40, None, "Amber"),  # exactly at tolerance
        ("higher_better", TOL, 35.99, 40, None, "Red"),
        # tolerance, lower is better
        ("lower_better", TOL, 10, 10, None, "Green"),
        ("lower_better", TOL, 11, 10, None, "Amber"),  # exactly at tolerance
        ("lower_better", TOL, 11.01, 10, None, "Red"),
        ("lower_better", TOL, 0, 0, None, "Green"),  # a zero target
        ("lower_better", TOL, 0.1, 0, None, "Red"),
        # floor
        ("higher_better", FLOOR, 40, 40, None, "Green"),
        ("higher_better", FLOOR, 30, 40, None, "Amber"),  # exactly at the floor
        ("higher_better", FLOOR, 29.9, 40, None, "Red"),
        ("lower_better", FLOOR_LOWER, 4, 3, None, "Amber"),
        ("lower_better", FLOOR_LOWER, 5.5, 3, None, "Red"),
        # improvement-dependent
        ("higher_better", IMPROVE, 45, 40, 50, "Green"),  # met target: Green whatever last year
        ("higher_better", IMPROVE, 35, 40, 30, "Amber"),  # improved on last year
        ("higher_better", IMPROVE, 35, 40, 35, "Red"),  # a tie is not an improvement
        ("higher_better", IMPROVE, 35, 40, None, "Red"),  # nothing to show improvement against
        ("lower_better", IMPROVE, 3.0, 2.7, 3.2, "Amber"),
        ("lower_better", IMPROVE, 3.0, 2.7, 2.9, "Red"),
        # no data, no target, data only
        ("higher_better", TOL, None, 40, None, "No data"),
        ("higher_better", TOL, 40, None, None, "No target"),
        ("data_only", TOL, 12, 10, None, "Data only"),
        ("data_only", TOL, None, None, None, "Data only"),
    ],
)
def test_rag_rules(polarity: str, rule: RagRule, value: float | None, target: float | None, last_year: float | None,
                   expected: str) -> None:
    r = rate_indicator(ind(polarity), rule, value, target, last_year=last_year, missing_reason="survey delayed")
    assert r.status == expected
    assert r.reason.startswith(expected)
    assert r.inputs["value"] == value and r.inputs["rule"] == rule.type


@pytest.mark.parametrize(("value", "expected"), [(30, "Green"), (45, "Green"), (29, "Amber"), (27, "Amber"),
                                                 (26.9, "Red"), (49.5, "Amber"), (50, "Red")])
def test_within_range(value: float, expected: str) -> None:
    assert rate_indicator(ind("within_range", rng=(30, 45)), TOL, value, None).status == expected


def test_reasons_explain() -> None:
    r = rate_indicator(ind(), TOL, 38.98, 40)
    assert r.reason == ("Amber: 38.98% vs target 40.0% (1.0 percentage points below target, 2.6% worse than it; "
                        "within the Amber band of 10% of target)")
    assert rate_indicator(ind(), TOL, 35.9, 40).reason.endswith("10.3% worse than it; outside the Amber band of 10% of target)")
    waits = ind("lower_better", unit="count", lag=1)
    assert rate_indicator(waits, TOL, 640, 600).reason == ("Amber: 640.0 vs target 600.0 (40.0 above target, 6.7% worse "
                                                           "than it; within the Amber band of 10% of target)")
    assert "(15.0 better than target)" in rate_indicator(waits, TOL, 585, 600).reason
    assert rate_indicator(ind(), TOL, None, 40, missing_reason="survey delayed").reason == "No data: survey delayed"
    assert "below the floor of 30.0%" in rate_indicator(ind(), FLOOR, 20, 40).reason


def test_stale_values_are_flagged() -> None:
    q = Period.parse("2025/26-Q2")
    assert not is_stale(ind(frequency="quarterly", lag=1), Period.parse("2025/26-Q1"), q, 3)
    assert is_stale(ind(frequency="quarterly", lag=1), Period.parse("2024/25-Q2"), q, 3)
    assert not is_stale(ind(frequency="annual", lag=12), Period.parse("2023/24"), q, 3)
    assert is_stale(ind(frequency="annual", lag=12), Period.parse("2021/22"), q, 3)


@pytest.mark.parametrize(
    ("polarity", "earlier", "later", "expected"),
    [("higher_better", 40, 44, "Improving"), ("higher_better", 40, 36, "Worsening"), ("higher_better", 40, 40.2, "No change"),
     ("lower_better", 40, 36, "Improving"), ("lower_better", 40, 44, "Worsening"), ("data_only", 40, 44, "Increasing"),
     ("higher_better", None, 44, "Not comparable")],
)
def test_direction_of_travel(polarity: str, earlier: float | None, later: float, expected: str) -> None:
    assert direction(polarity, earlier, later, threshold_pct=1.0) == expected  # type: ignore[arg-type]


def test_trend_over_points() -> None:
    assert trend_direction("higher_better", [40, 38, 43, 45, 47], 1.0) == "Improving"
    assert trend_direction("lower_better", [40, 38, 43, 45, 47], 1.0) == "Worsening"
    assert trend_direction("higher_better", [40, 41, 39, 40], 5.0) == "No change"


VALUES = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(VALUES, VALUES, st.sampled_from([TOL, FLOOR, IMPROVE]), st.one_of(st.none(), VALUES))
def test_mirroring_values_and_swapping_polarity_gives_the_same_rating(v: float, t: float, rule: RagRule,
                                                                      ly: float | None) -> None:
    mirrored = RagRule(type=rule.type, tolerance_pct=rule.tolerance_pct, floor=-rule.floor if rule.floor is not None else None)
    a = rate_indicator(ind("higher_better", unit="score"), rule, v, t, last_year=ly).status  # a signed unit: any value
    b = rate_indicator(ind("lower_better", unit="score"), mirrored, -v, -t, last_year=-ly if ly is not None else None).status
    assert a == b


@given(VALUES, VALUES)
def test_swapping_polarity_swaps_green_and_red(v: float, t: float) -> None:
    strict = RagRule(type="tolerance", tolerance_pct=0)
    assume(abs(v - t) > 1e-9 * max(1.0, abs(t)))  # values equal within floating-point noise are "on target"
    a = rate_indicator(ind("higher_better", unit="score"), strict, v, t).status
    b = rate_indicator(ind("lower_better", unit="score"), strict, v, t).status
    assert {a, b} == {"Green", "Red"}


@given(VALUES, st.one_of(st.none(), VALUES), st.sampled_from([TOL, FLOOR, IMPROVE]),
       st.sampled_from(["percent", "count", "rate_per_100000", "score"]), st.sampled_from(["higher_better", "lower_better"]))
def test_a_value_the_measure_cannot_plausibly_take_is_questioned_never_rated(v: float, t: float | None, rule: RagRule,
                                                                             unit: str, polarity: str) -> None:
    i = Indicator(id="T-01", name="Test", aim="T.A1", unit=unit, polarity=polarity, decimals=1, frequency="annual",
                  source="test", lag_months=1, comparator="none", department="ET", plausible=Range(low=5, high=300))
    status = rate_indicator(i, rule, v, t).status
    assert (status == "Check value") == (not 5 <= v <= 300), (v, unit)  # the declared range is the believable one


ROLLUP = validate_model(RollupConfig, {"method": "points", "points": {"Green": 3, "Amber": 2, "Red": 1},
                                           "judgement": {"points": {"Green": 2.5, "Amber": 1.75},
                                                         "share_green": {"Green": 0.75, "Amber": 0.5}},
                                           "minimum_coverage_pct": 50})
STATUSES = st.sampled_from(["Green", "Amber", "Red", "No data", "No target", "Data only"])


@given(st.lists(STATUSES, max_size=40), st.lists(st.sampled_from(["Improving", "Worsening", "No change"]), max_size=40),
       st.randoms())
def test_rollup_counts_match_items_and_ignore_order(items: list[str], dirs: list[str], rnd: random.Random) -> None:
    r = rollup(items, dirs, ROLLUP)
    assert r.counts == {k: items.count(k) for k in ("Green", "Amber", "Red")}
    assert r.no_data == items.count("No data") + items.count("No target")
    assert r.improving == dirs.count("Improving") and r.worsening == dirs.count("Worsening")
    shuffled = items[:]
    rnd.shuffle(shuffled)
    assert rollup(shuffled, dirs[::-1], ROLLUP) == r


@given(st.dictionaries(st.text("ABCDEFGH", min_size=1, max_size=3), st.one_of(st.none(), st.integers(0, 20).map(float)),
                       min_size=1, max_size=20), st.randoms())
def test_comparator_position_ignores_order(values: dict[str, float | None], rnd: random.Random) -> None:
    ours = next(iter(values))
    items = list(values.items())
    rnd.shuffle(items)
    assert comparator_position(dict(items), ours, "higher_better") == comparator_position(values, ours, "higher_better")


def test_rollup_judgements() -> None:
    assert rollup(["Green"] * 3 + ["Amber"], [], ROLLUP).judgement == "Green"  # 2.75
    assert rollup(["Green", "Red"], [], ROLLUP).judgement == "Amber"  # 2.0
    assert rollup(["Red", "Red", "Amber"], [], ROLLUP).judgement == "Red"
    low = rollup(["Green", "No data", "No data", "No data"], [], ROLLUP)
    assert (low.judgement, low.coverage_pct) == ("Insufficient data", 25.0)
    share = dataclasses.replace(ROLLUP, method="share_green")
    assert rollup(["Green", "Green", "Amber", "Red"], [], share).judgement == "Amber"  # 50% Green


RANK = {"Red": 1, "Amber": 2, "Green": 3}


def _points_judgement(items: list[str]) -> str:
    """The rating nearest the average points of the rated items, computed here without the scorer (ROLLUP's rule)."""
    rated = [RANK[x] for x in items if x in RANK]
    avg = sum(rated) / len(rated)
    return "Green" if avg >= 2.5 else "Amber" if avg >= 1.75 else "Red"


@given(st.lists(STATUSES, max_size=20), st.lists(STATUSES, max_size=20))
def test_a_level_is_never_judged_better_than_its_indicators_or_its_commitments(inds: list[str], comms: list[str]) -> None:
    ri, rc = rollup(inds, [], ROLLUP), rollup(comms, [], ROLLUP)
    overall = combine(ri, rc, ROLLUP)
    rated = [x for x in inds + comms if x in RANK]
    unrated = [x for x in inds + comms if x in ("No data", "No target")]
    if not rated or 100 * len(rated) / (len(rated) + len(unrated)) < ROLLUP.minimum_coverage_pct:
        assert overall.judgement == "Insufficient data"
    else:  # each part judged on what it rated, whatever its own coverage; the lower one wins
        parts = [_points_judgement(x) for x in (inds, comms) if any(i in RANK for i in x)]
        assert overall.judgement == min(parts, key=RANK.__getitem__)
    assert overall.counts == {k: inds.count(k) + comms.count(k) for k in RANK}  # the table beside it adds up
    assert "indicators " in overall.reason and "commitments " in overall.reason


def test_commitments_on_track_do_not_make_a_level_green_while_its_indicators_miss() -> None:
    # The deck case a board member queried: 1 of 3 indicators on target, every commitment on track.
    ri, rc = rollup(["Green", "Amber", "Amber"], [], ROLLUP), rollup(["Green"] * 4, [], ROLLUP)
    assert (ri.judgement, rc.judgement) == ("Amber", "Green")
    lower = combine(ri, rc, ROLLUP)
    assert lower.judgement == "Amber" and lower.reason.startswith("Amber: the lower of indicators Amber")
    pooled = combine(ri, rc, dataclasses.replace(ROLLUP, combine="pooled"))
    assert pooled.judgement == "Green"  # (3 + 2 + 2 + 4 * 3) / 7 = 2.71: the rule the council chose not to use
    # The second case: one Amber indicator beside two with no data, five commitments on track. The indicators'
    # own coverage (33%) is low, but the one rated figure still holds the sub-outcome at Amber.
    thin = combine(rollup(["Amber", "No data", "No data"], [], ROLLUP), rollup(["Green"] * 5, [], ROLLUP), ROLLUP)
    assert thin.judgement == "Amber" and thin.coverage_pct == 75.0
    only_commitments = combine(rollup(["No data"] * 3, [], ROLLUP), rc, ROLLUP)
    assert only_commitments.judgement == "Green" and "indicators no data" in only_commitments.reason


def test_commitment_status_checked_against_time() -> None:
    from plan_reports.models import CommitmentScoring

    cfg = CommitmentScoring(behind_margin_pct=20, ahead_margin_pct=40)
    s, t = date(2024, 4, 1), date(2026, 4, 1)
    a = assess_commitment("On track", 0.2, s, t, None, date(2025, 10, 1), cfg)
    assert a.rag == "Green" and a.flag and "75%" in a.flag and a.status == "On track"  # flagged, not overridden
    assert assess_commitment("On track", 0.7, s, t, None, date(2025, 10, 1), cfg).flag is None
    assert assess_commitment("Major disruption", 0.2, s, t, None, date(2025, 10, 1), cfg).rag == "Red"
    assert assess_commitment("Completed", 0.8, s, t, date(2025, 9, 1), date(2025, 10, 1), cfg).flag
    assert assess_commitment("Deferred", 0.1, s, t, None, date(2025, 10, 1), cfg).rag == "Not rated"
    assert "target date" in assess_commitment("On track", 0.9, s, date(2025, 6, 1), None, date(2025, 10, 1), cfg).flag
    assert assess_commitment(None, None, None, None, None, date(2025, 10, 1), cfg).rag == "No data"


def test_ties_share_the_better_rank() -> None:
    p = comparator_position({"a": 5, "b": 7, "c": 7, "d": 9, "e": None}, "b", "higher_better", "group", "2024/25")
    assert (p.rank, p.group_size, p.tied_with, p.quartile) == (2, 4, 1, 2)
    assert "1 with no value" in p.reason
    low = comparator_position({"a": 5, "b": 7, "c": 7, "d": 9}, "a", "lower_better")
    assert (low.rank, low.quartile) == (1, 1)
    assert comparator_position({"a": 5}, "z", "higher_better") is None


def test_period_scores_over_the_store(config: Config, tmp_path: Path) -> None:
    """Two quarters of returns: directions use the history, roll-ups equal the items beneath them."""
    import json
    import subprocess
    import sys

    from plan_reports.consolidate import consolidate
    from plan_reports.samples import write_samples

    store = tmp_path / "s.sqlite"
    for q in ("2025/26-Q1", "2025/26-Q2"):
        p = Period.parse(q)
        folder = tmp_path / q.replace("/", "-")
        write_samples(config, p, folder, seed=11)
        res = consolidate(config, p, folder, store, None, today=date(2025, 11, 30))
    scores = res.scores
    assert scores is not None
    quarterly = [x for x in scores.indicators if x.value is not None and x.polarity != "data_only"
                 and next(i for _, _, i in config.plans["2022-26"].indicators() if i.id == x.indicator_id).frequency == "quarterly"]
    with_previous = [x for x in quarterly if x.previous_value is not None]
    assert len(with_previous) > len(quarterly) // 2
    assert all(x.short_term in ("Improving", "Worsening", "No change") for x in with_previous)
    assert all(x.short_term == "Not comparable" for x in quarterly if x.previous_value is None)
    for lv in scores.levels:
        if lv.level == "sub_outcome":
            items = [x.rating.status for x in scores.indicators if x.sub_outcome_id == lv.id]
            items += [x.assessment.rag for x in scores.commitments if x.sub_outcome_id == lv.id]
            assert lv.overall.counts == {k: items.count(k) for k in ("Green", "Amber", "Red")}
            assert lv.overall.no_data == items.count("No data") + items.count("No target")
    for o in config.plans["2022-26"].outcomes:
        subs = [scores.level("sub_outcome", s.id).overall for s in o.sub_outcomes]
        assert scores.level("outcome", o.id).overall.counts == {
            k: sum(s.counts[k] for s in subs) for k in ("Green", "Amber", "Red")}
    proc = subprocess.run([sys.executable, "-m", "plan_reports", "score", "--period", "2025/26-Q2", "--store", str(store),
                           "--json"], capture_output=True, text=True)
    data = json.loads(proc.stdout)
    first = data["indicators"][0]
    assert proc.returncode == 0 and first["rating"]["reason"] and "value" in first["rating"]["inputs"]


def test_the_councils_rule_gives_the_rating_nearest_the_average(config: Config) -> None:
    ru = config.scoring.rollup
    assert rollup(["Amber"] * 5, [], ru).judgement == "Amber"  # an area whose indicators are all Amber is Amber
    assert rollup(["Green", "Green", "Amber"], [], ru).judgement == "Green"
    assert rollup(["Green", "Red"], [], ru).judgement == "Amber"
    assert rollup(["Red", "Red", "Amber"], [], ru).judgement == "Red"
    assert ru.combine == "lower"


def test_every_floor_sits_on_the_worse_side_of_the_usual_level(config: Config) -> None:
    """A floor above the level a measure usually reaches makes every target short of it Red: no Amber can exist."""
    plan = config.plans["2022-26"]
    inds = {i.id: i for _, _, i in plan.indicators()}
    floors = {k: r for k, r in config.scoring.rag.indicators.items() if r.type == "floor"}
    assert floors
    for ind_id, rule in floors.items():
        i = inds[ind_id]
        assert i.typical is not None and rule.floor is not None
        worse = rule.floor < i.typical if i.polarity == "higher_better" else rule.floor > i.typical
        assert worse, (ind_id, rule.floor, i.typical, i.polarity)


def test_a_figure_for_an_earlier_year_is_rated_against_that_years_target(config: Config) -> None:
    """Published data lag: the 2025/26-Q2 return carries the 2024/25 figure. It is judged against 2024/25's target
    (agreed, else the one the 2024/25 returns gave), not this year's, and the reason says so."""
    from plan_reports.score import Observation, ScoreInputs, score_period

    plan = config.plans["2022-26"]
    q = Period.parse("2025/26-Q2")

    def obs(reporting: str, covers: str, value: float, target: float) -> Observation:
        return Observation(reporting_period=reporting, data_period=covers, value=value, target=target, data_status="Final",
                           reason=None, commentary=None, source=f"Tracker_ET_{reporting}.xlsx")

    history = [obs("2024/25-Q2", "2023/24", 44.0, 46.0), obs("2024/25-Q4", "2023/24", 44.0, 47.0),
               obs("2025/26-Q2", "2024/25", 46.5, 52.0)]
    x = next(i for i in score_period(config, plan, q, ScoreInputs(observations={"CG2-02": history})).indicators
             if i.indicator_id == "CG2-02")
    assert x.target == 47.0 and x.rating.status == "Amber"  # 2024/25's target (the last 2024/25 return's), not 52
    assert "the target is 2024/25's, the year the figure covers" in x.rating.reason
    agreed = {"CG2-02": {"2024/25": {"indicator_id": "CG2-02", "period": "2024/25", "value": 46.0,
                                     "agreed_by": "Cabinet", "agreed_at": "2024-03-01"}}}
    y = next(i for i in score_period(config, plan, q, ScoreInputs(observations={"CG2-02": history}, agreed_years=agreed)
                                     ).indicators if i.indicator_id == "CG2-02")
    assert y.target == 46.0 and y.rating.status == "Green" and "agreed target for 2024/25 (Cabinet" in y.rating.reason
    this_year = [obs("2025/26-Q2", "2025/26-Q1", 46.5, 52.0)]  # a figure for this year keeps this year's target
    z = next(i for i in score_period(config, plan, q, ScoreInputs(observations={"CG2-02": this_year})).indicators
             if i.indicator_id == "CG2-02")
    assert z.target == 52.0 and "the year the figure covers" not in z.rating.reason
    unset = [obs("2025/26-Q2", "2022/23", 46.5, 52.0)]  # no return or agreement for 2022/23: this year's, said so
    w = next(i for i in score_period(config, plan, q, ScoreInputs(observations={"CG2-02": unset})).indicators
             if i.indicator_id == "CG2-02")
    assert w.target == 52.0 and "no target was set for 2022/23, the year the figure covers, so this year's is used" \
        in w.rating.reason


def test_a_figure_not_yet_out_shows_the_latest_known_and_says_where_from(config: Config) -> None:
    """The lead writes 'Not yet available' this quarter: the board sees last quarter's figure, rated and traced to
    the return it came from, not 'No data' beside a figure the annual table prints."""
    from plan_reports.score import Observation, ScoreInputs, score_period

    plan = config.plans["2022-26"]
    q = Period.parse("2024/25-Q4")
    history = [Observation(reporting_period="2024/25-Q3", data_period="2024/25-Q3", value=2_112_705, target=2_110_000,
                           data_status="Final", source="Tracker_AC_2024-25-Q3.xlsx"),
               Observation(reporting_period="2024/25-Q4", data_period="2024/25-Q4", value=None, target=2_110_000,
                           data_status="Not yet available", reason="Awaiting CIPFA", source="Tracker_AC_2024-25-Q4.xlsx")]
    x = next(i for i in score_period(config, plan, q, ScoreInputs(observations={"GC4-02": history})).indicators
             if i.indicator_id == "GC4-02")
    assert (x.value, x.data_period, x.rating.status) == (2_112_705, "2024/25-Q3", "Green")
    assert "not yet available, so the latest, from the 2024/25-Q3 return, is shown" in x.rating.reason
    assert x.source == "Tracker_AC_2024-25-Q3.xlsx"
    only = [history[1]]  # nothing earlier to show: No data, with the lead's reason
    y = next(i for i in score_period(config, plan, q, ScoreInputs(observations={"GC4-02": only})).indicators
             if i.indicator_id == "GC4-02")
    assert y.rating.status == "No data" and "Awaiting CIPFA" in y.rating.reason
