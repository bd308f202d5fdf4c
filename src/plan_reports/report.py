"""Terminal reports for people: readable, grouped, and never colour alone (every severity is also a word)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plan_reports.validate import FileReport


def print_validation(reports: Sequence[FileReport], annotated: dict[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for rep in reports:
        errors = sum(1 for i in rep.issues if i.severity.value == "error")
        warnings = len(rep.issues) - errors
        verdict = "[green]VALID[/green]" if rep.valid else "[red]NOT VALID[/red]"
        who = f"{rep.department or '?'} {rep.period or ''}".strip()
        console.print(f"\n{verdict}  [bold]{rep.path}[/bold]  ({who}; {errors} error(s), {warnings} warning(s))")
        if rep.issues:
            t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
            for col in ("Severity", "Code", "Where", "What to fix"):
                t.add_column(col, overflow="fold")
            for i in rep.issues:
                sev = "[red]ERROR[/red]" if i.severity.value == "error" else "[yellow]warning[/yellow]"
                t.add_row(sev, i.code, i.location, i.message)
            console.print(t)
        if str(rep.path) in annotated:
            console.print(f"  marked-up copy: {annotated[str(rep.path)]}")
    valid = sum(r.valid for r in reports)
    console.print(f"\n{len(reports)} file(s): {valid} valid, {len(reports) - valid} with errors")
