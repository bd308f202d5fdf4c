"""`plan-reports demo`: the whole pipeline on realistic sample data, with the trouble a real quarter brings.

Two years of quarterly returns for every department (2023/24-Q3 to 2025/26-Q2) start from the plan's baselines.
In the latest quarter one department is late, one sends an invalid return and some indicators are Red. The demo
then consolidates and scores each quarter, loads comparator figures, writes next quarter's trackers rolled forward
from the store, and builds the Outcome Board decks for 2025/26-H1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from plan_reports.atomic import set_mtime
from plan_reports.periods import Period
from plan_reports.samples import Scenario, simulated_area_codes, write_comparators, write_sample

if TYPE_CHECKING:
    from plan_reports.config import Config

LATEST = Period.parse("2025/26-Q2")
QUARTERS = 8
LATE_DEPARTMENT, INVALID_DEPARTMENT = "ET", "CR"
DEMO_COMMITTEE = "ECC-OSC"


@dataclass
class DemoResult:
    out: Path
    store: Path
    returns: Path
    trackers: list[Path] = field(default_factory=list)
    consolidated: Path | None = None
    decks: list[Path] = field(default_factory=list)
    annotated: list[Path] = field(default_factory=list)
    comparators: list[Path] = field(default_factory=list)
    latest_statuses: list[str] = field(default_factory=list)
    extra: dict[str, list[Path]] = field(default_factory=dict)


def demo_config(cfg: Config) -> Config:
    """The config with each ranked comparator group made of the demo's anonymised areas.

    The demo's comparator figures are simulated, so they are never put against real councils; the shipped groups'
    real member lists (and the CIPFA list the council has yet to add) would leave every simulated area out.
    """
    from dataclasses import replace

    codes = simulated_area_codes()
    groups = [g if g.id in ("none", "england") else
              replace(g, members=codes, members_source="the demo's simulated comparator areas", members_note="")
              for g in cfg.organisation.comparator_groups]
    return replace(cfg, organisation=replace(cfg.organisation, comparator_groups=groups))


def run_demo(cfg: Config, out: Path, *, seed: int = 1, step: Callable[[str], None] | None = None) -> DemoResult:
    from plan_reports.consolidate import consolidate
    from plan_reports.decks import write_decks
    from plan_reports.history import import_history
    from plan_reports.store import connect
    from plan_reports.trackers import write_trackers
    from plan_reports.validate import annotate_all

    say = step or (lambda _m: None)
    cfg = demo_config(cfg)
    out = Path(out)
    res = DemoResult(out, out / "history.sqlite", out / "returns")
    # Each run simulates the whole history again from the plan as it is now, so it starts from an empty store: a
    # store left by an earlier run (under an older config) would show its figures as "changed since published".
    for part in ("", "-wal", "-shm"):
        res.store.with_name(res.store.name + part).unlink(missing_ok=True)
    quarters = [LATEST.shift(-k) for k in range(QUARTERS - 1, -1, -1)]
    plan = cfg.plan_for_period(LATEST)
    say("Loading comparator figures")
    years = [Period(y, "Y", 1) for y in range(LATEST.fy - 4, LATEST.fy)]
    con = connect(res.store)
    try:
        for group, path in write_comparators(cfg, plan, years, out / "comparators", seed).items():
            import_history(con, path, cfg, group=group)
            res.comparators.append(path)
    finally:
        con.close()
    today = cfg.board_meeting(LATEST.half())  # the demo is run as at the Outcome Board meeting
    for q in quarters:
        say(f"Returns for {q}: writing, validating, consolidating")
        folder = res.returns / str(q).replace("/", "-")
        for d in cfg.organisation.departments:
            invalid = q == LATEST and d.id == INVALID_DEPARTMENT
            path = write_sample(cfg, d.id, q, folder, seed, scenario=Scenario(invalid=invalid))
            if q == LATEST and d.id == LATE_DEPARTMENT:
                late = datetime.combine(cfg.submission_deadline(q) + timedelta(days=4), datetime.min.time(), UTC)
                set_mtime(path, late.replace(hour=10))
        result = consolidate(cfg, q, folder, res.store, out if q == LATEST else None, today=today)
        if q == LATEST:
            res.consolidated = Path(result.workbook) if result.workbook else None
            res.latest_statuses = [f"{s.department}: {s.status}" for s in result.statuses]
            marked = annotate_all([r for r in result.reports if not r.valid], out / "annotated")
            res.annotated.extend(Path(p) for p in marked.values())
    year = Period(LATEST.next().fy, "Y", 1)
    say(f"Targets for {year}: proposals exported, filled in, agreed and imported")
    res.extra["targets"] = agree_demo_targets(cfg, year, out / "targets", res.store)
    say(f"Trackers for {LATEST.next()}, rolled forward from the history store")
    res.trackers = write_trackers(cfg, LATEST.next(), out / "trackers", store=res.store)
    say(f"Outcome Board decks for {LATEST.half()}")
    res.decks = write_decks(cfg, LATEST.half(), res.store, out / "decks")
    from plan_reports.scrutiny import write_annual_report, write_scrutiny

    say(f"A Scrutiny report for {LATEST} and the Annual Performance Report for {LATEST.fy - 1}/{LATEST.fy % 100:02d}")
    rep = write_scrutiny(cfg, LATEST, res.store, out / "scrutiny", committee=DEMO_COMMITTEE)[0]
    res.extra["scrutiny"] = [p for p in (rep.docx, rep.pdf, rep.xlsx) if p]
    docx, pdf = write_annual_report(cfg, Period(LATEST.fy - 1, "Y", 1), res.store, out / "annual")
    res.extra["annual"] = [p for p in (docx, pdf) if p]
    return res


def agree_demo_targets(cfg: Config, year: Period, out: Path, store: Path) -> list[Path]:
    """Targets set as a council sets them: export the proposal workbooks, fill in each department's proposals (the
    plan's target, else the target the department's returns this year work to, else last year's, else the typical
    level), and import them as agreed. Agreeing what the returns work to keeps the leads' own view of their figures
    true of the target the board rates against."""
    import openpyxl

    from plan_reports.store import connect
    from plan_reports.targets import (
        AGREED_AT_ROW,
        AGREED_BY_ROW,
        COLUMNS,
        FIRST_ROW,
        SHEET_TARGETS,
        export_targets,
        import_targets,
    )

    plan = cfg.plan_for_period(year)
    inds = {i.id: i for _, _, i in plan.indicators()}
    col = {c.key: n for n, c in enumerate(COLUMNS, 1)}
    agreed = []
    quarters = [str(q) for q in year.quarters()]
    con = connect(store)
    try:
        working = {r["indicator_id"]: r["target"] for r in con.execute(
            "SELECT v.indicator_id, v.target FROM indicator_values v JOIN current_submissions s ON s.id = v.submission_id"
            f" WHERE v.period IN ({', '.join('?' * len(quarters))}) AND v.target IS NOT NULL ORDER BY v.period",
            quarters)}
    finally:
        con.close()
    for path in export_targets(cfg, year, out, store):
        wb = openpyxl.load_workbook(path)
        ws = wb[SHEET_TARGETS]
        for r in range(FIRST_ROW, ws.max_row + 1):
            ind = inds.get(ws.cell(r, col["id"]).value)
            if ind is None or ws.cell(r, col["proposed"]).protection.locked:
                continue
            v = next((x for x in (ws.cell(r, col["plan_target"]).value, working.get(ind.id), ws.cell(r, col["current"]).value,
                                  ind.typical) if isinstance(x, int | float)), None)
            if v is not None and ind.plausibility(v) is None:
                ws.cell(r, col["proposed"], round(v) if ind.unit == "count" else round(v, ind.decimals))
        ws[f"B{AGREED_BY_ROW}"], ws[f"B{AGREED_AT_ROW}"] = "Corporate Management Team", datetime(year.fy, 3, 1)
        agreed.append(out / "agreed" / path.name)
        agreed[-1].parent.mkdir(parents=True, exist_ok=True)
        wb.save(agreed[-1])
    con = connect(store)
    try:
        import_targets(con, agreed, cfg)
    finally:
        con.close()
    return agreed
