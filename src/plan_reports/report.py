"""Terminal reports for people: readable, grouped, and never colour alone (every severity is also a word)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plan_reports.consolidate import ConsolidationResult
    from plan_reports.score import PeriodScores
    from plan_reports.validate import FileReport


def print_validation(reports: Sequence[FileReport], annotated: dict[str, str]) -> None:
    """Clean files get one plain line each (fast for hundreds); files with issues get a table."""
    console = None
    for rep in reports:
        errors = sum(1 for i in rep.issues if i.severity.value == "error")
        warnings = len(rep.issues) - errors
        verdict = "VALID    " if rep.valid else "NOT VALID"
        who = f"{rep.department or '?'}{' ' + rep.team if rep.team else ''} {rep.period or ''}".strip()
        print(f"{verdict}  {rep.path}  ({who}; {errors} error(s), {warnings} warning(s))")
        if rep.issues:
            from rich.console import Console
            from rich.table import Table

            console = console or Console()
            t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
            for col in ("Severity", "Code", "Where", "What to fix"):
                t.add_column(col, overflow="fold")
            for i in rep.issues:
                sev = "[red]ERROR[/red]" if i.severity.value == "error" else "[yellow]warning[/yellow]"
                t.add_row(sev, i.code, i.location, i.message)
            console.print(t)
        if str(rep.path) in annotated:
            print(f"  marked-up copy: {annotated[str(rep.path)]}")
    valid = sum(r.valid for r in reports)
    print(f"\n{len(reports)} file(s): {valid} valid, {len(reports) - valid} with errors")


def print_scores(scores: PeriodScores) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"Strategic Plan judgements, {scores.period}", header_style="bold", show_lines=False)
    t.add_column("Outcome / sub-outcome", max_width=30, overflow="ellipsis", no_wrap=True)
    t.add_column("Judgement", no_wrap=True, min_width=17)
    t.add_column("G/A/R/none", no_wrap=True, min_width=10)
    t.add_column("Cover", no_wrap=True, justify="right", min_width=5)
    t.add_column("Up/down", no_wrap=True, min_width=7)
    for lv in scores.levels:
        if lv.level == "aim":
            continue
        r = lv.overall
        name = f"[bold]{lv.id} {lv.title}[/bold]" if lv.level == "outcome" else f"  {lv.id} {lv.title}"
        t.add_row(name, r.judgement, f"{r.counts['Green']}/{r.counts['Amber']}/{r.counts['Red']}/{r.no_data}",
                  f"{r.coverage_pct:.0f}%", f"{r.improving}/{r.worsening}")
    console.print(t)


def print_consolidation(result: ConsolidationResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"Returns for {result.period} (deadline {result.deadline})", header_style="bold")
    for col in ("Department", "Team", "Status", "File", "Errors", "Warnings"):
        t.add_column(col, overflow="fold")
    for s in result.statuses:
        t.add_row(s.department, s.team, s.status, s.file_name or "-", str(s.n_errors), str(s.n_warnings))
    console.print(t)
    if result.scores:
        print_scores(result.scores)
    console.print(f"{result.new_submissions} new file(s) recorded, {result.already_recorded} already in the store "
                  f"({result.store}).")
    if result.workbook:
        console.print(f"Consolidated workbook: {result.workbook}")
