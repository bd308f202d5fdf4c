"""The command line's grammar: every command, option and help text. `cli` holds what each command does.

`--config` is accepted before or after the command (`plan-reports --config DIR plan check` and
`plan-reports plan check --config DIR` are the same).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from plan_reports import __version__

HISTORY_IMPORT_HELP = """\
Import published comparator and history figures into the store.

Layouts:
  tidy        area_code, area_name, period, indicator, value (+ any breakdown columns: measure, sex, ...)
  Fingertips  the OHID Fingertips "all data" CSV as downloaded (Indicator ID, Indicator Name, ..., Area Code,
              Area Name, Area Type, Sex, Age, Category Type, Category, Time period, Value, ...). Rows are matched
              by Fingertips indicator id and Sex/Age as set in each indicator's `series`; deprivation-decile and
              other Category rows are left out unless a series asks for them.

Periods understood (each becomes dates; "latest" is the latest end date):
  2021/22, 2021-22, 2021/2022 (financial years); 2019 (calendar year); 2010 - 12, 2018/19 - 22/23 (pooled
  years); 2021-07, April 2021 (months); Jan 2012-Dec 2012 (rolling 12 months); Q1 2023/24, 2023/24-Q1
  (financial quarters), 2023 Q1 (calendar quarter); 2021-06-30, 30/06/2021 (dates).

A file is refused whole, nothing stored, exit 1, when:
  - rows give the same area, period and indicator different values: the message names the columns that tell
    them apart and a ready --where (e.g. --where measure=Percentage);
  - a value is outside its indicator's plausible range, or a period or value cannot be read (rows named);
  - no row matches a plan indicator (the file's titles are listed: add one to the indicator's source_names).
Importing the same file again with other options, or after the mapping changed, replaces what it contributed
before (both imports stay in the history). Several files: each is its own transaction; exit is the worst status.
"""



def _common() -> argparse.ArgumentParser:
    """Options every command also takes after its name; SUPPRESS keeps a value given before the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="config folder (default: ./config)")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; each command names its handler, `cli.cmd_<handler>`."""
    p = argparse.ArgumentParser(prog="plan-reports", description="Strategic Plan performance reporting.")
    p.add_argument("--version", action="version", version=f"plan-reports {__version__}")
    p.add_argument("--config", type=Path, default=None, help="config folder (default: ./config)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    c = _common()

    plan = sub.add_parser("plan", parents=[c], help="show or check the Strategic Plan config")
    psub = plan.add_subparsers(dest="plan_command", metavar="SUBCOMMAND")
    show = psub.add_parser("show", parents=[c], help="print outcomes, sub-outcomes, aims, commitments and indicators")
    show.add_argument("plan", nargs="?", help="plan id or file, e.g. 2022-26 or config/plans/2022-26.yaml (default: the current plan)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler="plan_show")
    check = psub.add_parser("check", parents=[c], help="check the config; exit 0 if valid, 1 if not")
    check.add_argument("plan", nargs="?", help="plan id or file (default: every plan)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler="plan_check")

    tr = sub.add_parser("trackers", parents=[c], help="write one tracker workbook per department for a period")
    tr.add_argument("--period", required=True, help="reporting quarter, e.g. 2025/26-Q2")
    tr.add_argument("--out", required=True, help="folder to write the workbooks to")
    tr.add_argument("--department", help="only this department id, e.g. ET")
    tr.add_argument("--store", help="history store to roll forward from (default from config/settings.yaml, if it exists)")
    tr.add_argument("--previous", metavar="DIR", help="roll forward from last period's returns in DIR (no store needed)")
    tr.add_argument("--teams", type=int, help="one tracker per service team: N teams spread across the departments")
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(handler="trackers")

    sm = sub.add_parser("sample-submissions", parents=[c], help="write filled, realistic trackers (tests, demo, benchmarks)")
    sm.add_argument("--period", required=True)
    sm.add_argument("--out", required=True)
    sm.add_argument("--count", type=int, help="write N trackers from distinct service teams (scale tests)")
    sm.add_argument("--seed", type=int, default=1)
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(handler="sample_submissions")

    va = sub.add_parser("validate", parents=[c], help="check submitted trackers; exit 0 valid, 1 problems, 2 nothing readable")
    va.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="workbook or folder (searched recursively)")
    va.add_argument("--period", help="the period the submissions must be for, e.g. 2025/26-Q2")
    va.add_argument("--annotate", metavar="DIR", help="write a marked-up copy of each workbook here for the department")
    va.add_argument("--no-cache", action="store_true", help="check every file again, even if unchanged since last time")
    va.add_argument("--json", action="store_true")
    va.set_defaults(handler="validate")

    co = sub.add_parser("consolidate", parents=[c], help="validate, record and score a period's returns; write the consolidated workbook")
    co.add_argument("--period", required=True)
    co.add_argument("--submissions", required=True, metavar="DIR", help="folder of returns (searched recursively)")
    co.add_argument("--store", help="history store (default from config/settings.yaml)")
    co.add_argument("--out", help="folder for the consolidated workbook (default from config/settings.yaml)")
    co.add_argument("--no-cache", action="store_true", help="re-check every return, even if unchanged since last time")
    co.add_argument("--json", action="store_true")
    co.set_defaults(handler="consolidate")

    sc = sub.add_parser("score", parents=[c], help="rate indicators, commitments and aims for a period from the history store")
    sc.add_argument("--period", required=True)
    sc.add_argument("--store")
    sc.add_argument("--live", action="store_true", help="score the store as it is now, not the published snapshot")
    sc.add_argument("--json", action="store_true", help="every rating with its reason, inputs and source file and cell")
    sc.set_defaults(handler="score")

    pu = sub.add_parser("publish", parents=[c], help="freeze a scored period as reported (locks it; a new version after unlock)")
    pu.add_argument("--period", required=True)
    pu.add_argument("--note", help="why it is published, e.g. 'Outcome Board 20 November 2025'")
    pu.add_argument("--store")
    pu.add_argument("--json", action="store_true")
    pu.set_defaults(handler="publish")
    ul = sub.add_parser("unlock", parents=[c], help="open a published period so the next publish makes a new version")
    ul.add_argument("--period", required=True)
    ul.add_argument("--reason", required=True, help="why: recorded in the audit log")
    ul.add_argument("--store")
    ul.add_argument("--json", action="store_true")
    ul.set_defaults(handler="unlock")
    rs = sub.add_parser("restatements", parents=[c], help="differences between published snapshots and the data now")
    rs.add_argument("--period", help="only this published period")
    rs.add_argument("--store")
    rs.add_argument("--json", action="store_true")
    rs.set_defaults(handler="restatements")
    au = sub.add_parser("audit", parents=[c], help="the audit log: submissions, imports, publishes and unlocks in time order")
    au.add_argument("--period", help="only this reporting period (imports are listed whatever the period)")
    au.add_argument("--store")
    au.add_argument("--json", action="store_true")
    au.set_defaults(handler="audit")

    de = sub.add_parser("decks", parents=[c], help="write the Outcome Board highlight decks and the corporate summary")
    de.add_argument("--period", required=True, help="half-year, e.g. 2025/26-H1")
    which = de.add_mutually_exclusive_group()
    which.add_argument("--board", help="one board: its id (e.g. CG-OB) or its outcome id (e.g. CG)")
    which.add_argument("--all", action="store_true", help="every board plus the corporate summary (the default)")
    de.add_argument("--out", required=True)
    de.add_argument("--template", help="a .pptx with the layouts Title, Section, Title and Content, Two Content, Table, Chart")
    de.add_argument("--store")
    de.add_argument("--json", action="store_true")
    de.set_defaults(handler="decks")

    sr = sub.add_parser("scrutiny", parents=[c], help="quarterly performance reports for the Overview and Scrutiny Committees")
    sr.add_argument("--period", required=True, help="quarter, e.g. 2025/26-Q2")
    who = sr.add_mutually_exclusive_group()
    who.add_argument("--committee", help="one committee id from config/committees.yaml")
    who.add_argument("--all", action="store_true", help="every committee (the default)")
    sr.add_argument("--out", required=True)
    sr.add_argument("--store")
    sr.add_argument("--json", action="store_true")
    sr.set_defaults(handler="scrutiny")
    an = sub.add_parser("annual-report", parents=[c], help="the Annual Performance Report for a financial year")
    an.add_argument("--year", required=True, help="financial year, e.g. 2025/26")
    an.add_argument("--out", required=True)
    an.add_argument("--store")
    an.add_argument("--json", action="store_true")
    an.set_defaults(handler="annual_report")

    dm = sub.add_parser("demo", parents=[c], help="run the whole pipeline on realistic sample data (the README's main job)")
    dm.add_argument("--out", default="workbooks/demo", help="output folder (default: workbooks/demo)")
    dm.add_argument("--json", action="store_true")
    dm.set_defaults(handler="demo")

    sch = sub.add_parser("schedule", parents=[c], help="scheduled quarterly runs: reminders, consolidation, decks")
    ssub = sch.add_subparsers(dest="schedule_command", metavar="SUBCOMMAND")
    srun = ssub.add_parser("run", parents=[c], help="run the scheduler service (stop with Ctrl-C or SIGTERM)")
    srun.add_argument("--tick-seconds", type=float, default=3600, help="how often to check what is due (default hourly)")
    srun.add_argument("--now", help=argparse.SUPPRESS)
    srun.set_defaults(handler="schedule_run")
    sonce = ssub.add_parser("once", parents=[c], help="run what is due now, once (for cron, Task Scheduler or a systemd timer)")
    sonce.add_argument("--job", help="only this job: reminder, consolidate or decks")
    sonce.add_argument("--period", help="run the job for this period now, whether due or not")
    sonce.add_argument("--dry-run", action="store_true", help="list what would run; run nothing")
    sonce.add_argument("--now", help="pretend it is this time, e.g. 2025-10-23T07:00")
    sonce.add_argument("--json", action="store_true")
    sonce.set_defaults(handler="schedule_once")
    snext = ssub.add_parser("next", parents=[c], help="list upcoming jobs with their dates")
    snext.add_argument("--days", type=int, default=120)
    snext.add_argument("--now", help="pretend it is this time")
    snext.add_argument("--json", action="store_true")
    snext.set_defaults(handler="schedule_next")
    sstat = ssub.add_parser("status", parents=[c], help="the last runs from the run log")
    sstat.add_argument("--limit", type=int, default=20)
    sstat.add_argument("--json", action="store_true")
    sstat.set_defaults(handler="schedule_status")

    ad = sub.add_parser("addin", parents=[c], help="build or install the Excel ribbon add-in")
    asub = ad.add_subparsers(dest="addin_command", metavar="SUBCOMMAND")
    ab = asub.add_parser("build", parents=[c], help="write the add-in kit; on Windows with Excel, build PlanReports.xlam")
    ab.add_argument("--out", default="build/addin")
    ab.add_argument("--json", action="store_true")
    ab.set_defaults(handler="addin_build")
    ai = asub.add_parser("install", help="install PlanReports.xlam for this user (XLSTART) and record the interpreter")
    ai.add_argument("--xlam", default="build/addin/PlanReports.xlam")
    ai.add_argument("--dir", help="copy the add-in here instead of Excel's XLSTART folder")
    ai.add_argument("--config", help="the config folder the ribbon should use (default: this project's)")
    ai.set_defaults(handler="addin_install")

    tg = sub.add_parser("targets", parents=[c], help="agreed targets, set once a year: export proposals, import the agreed ones")
    tsub = tg.add_subparsers(dest="targets_command", metavar="SUBCOMMAND")
    tex = tsub.add_parser("export", parents=[c], help="write one workbook per department for proposing a year's targets")
    tex.add_argument("--year", required=True, help="financial year, e.g. 2026/27")
    tex.add_argument("--out", required=True, help="folder to write the workbooks to")
    tex.add_argument("--department", help="only this department id")
    tex.add_argument("--store", help="history store for last year's values (default from config/settings.yaml)")
    tex.add_argument("--json", action="store_true")
    tex.set_defaults(handler="targets_export")
    tim = tsub.add_parser("import", parents=[c], help="load agreed targets workbooks; report new / changed / unchanged; "
                                                      "exit 1 if anything was refused")
    tim.add_argument("files", nargs="+", metavar="FILE")
    tim.add_argument("--agreed-by", help="who agreed them (default: the workbook's 'Agreed by' cell)")
    tim.add_argument("--store")
    tim.add_argument("--json", action="store_true")
    tim.set_defaults(handler="targets_import")

    hi = sub.add_parser("history", parents=[c], help="load or query past values and comparator figures")
    hsub = hi.add_subparsers(dest="history_command", metavar="SUBCOMMAND")
    imp = hsub.add_parser("import", parents=[c], help="import published figures: tidy CSV/xlsx or an OHID Fingertips 'all data' CSV",
        formatter_class=argparse.RawDescriptionHelpFormatter, description=HISTORY_IMPORT_HELP)
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--group", help="the comparator group these areas form (only its members and the council are kept)")
    imp.add_argument("--where", action="append", metavar="COL=VALUE",
                     help="keep only rows where COL equals VALUE (repeat for several columns)")
    imp.add_argument("--store")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(handler="history_import")
    show_h = hsub.add_parser("show", parents=[c], help="list stored values of an indicator")
    show_h.add_argument("indicator")
    show_h.add_argument("--period")
    show_h.add_argument("--store")
    show_h.add_argument("--json", action="store_true")
    show_h.set_defaults(handler="history_show")
    return p


