"""Terminal reports for people: readable, grouped, and never colour alone (every severity is also a word)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plan_reports.consolidate import ConsolidationResult
    from plan_reports.history import ImportResult
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


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[str] = ()) -> None:
    """A plain aligned table: instant for hundreds of rows, and the same on a terminal, in a log or in a pipe."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if h in right else c.ljust(w) for c, w, h in zip(cells, widths, headers, strict=True)).rstrip()

    print(title)
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))


def print_scores(scores: PeriodScores) -> None:
    rows = []
    for lv in scores.levels:
        if lv.level == "aim":
            continue
        r = lv.overall
        name = f"{lv.id} {lv.title}" if lv.level == "outcome" else f"  {lv.id} {lv.title}"
        rows.append([name if len(name) <= 40 else name[:39] + "…", r.judgement,
                     f"{r.counts['Green']}/{r.counts['Amber']}/{r.counts['Red']}/{r.no_data}", f"{r.coverage_pct:.0f}%",
                     f"{r.improving}/{r.worsening}"])
    table(f"Strategic Plan judgements, {scores.period}", ["Outcome / sub-outcome", "Judgement", "G/A/R/none", "Cover",
                                                          "Up/down"], rows, right=["Cover"])


def print_consolidation(result: ConsolidationResult) -> None:
    table(f"Returns for {result.period} (deadline {result.deadline})",
          ["Department", "Team", "Status", "File", "Errors", "Warnings"],
          [[s.department, s.team, s.status, s.file_name or "-", str(s.n_errors), str(s.n_warnings)] for s in result.statuses],
          right=["Errors", "Warnings"])
    if result.scores:
        print()
        print_scores(result.scores)
    print(f"\n{result.new_submissions} new file(s) recorded, {result.already_recorded} already in the store "
          f"({result.store}).")
    if result.published_version is not None:
        state = "locked" if result.locked else "unlocked"
        print(f"{result.period} is published (version {result.published_version}, {state}): "
              f"{result.restatements_recorded} change(s) recorded as restatements by this run, "
              f"{result.restatements_total} in all; the published figures are unchanged (plan-reports restatements).")
    if result.workbook:
        print(f"Consolidated workbook: {result.workbook}")


def print_imports(results: Sequence[ImportResult]) -> None:
    """One paragraph per file: what was stored, what was left out and why, or why the file was refused."""
    for r in results:
        if r.status == "refused":
            print(f"{r.file}: REFUSED. {r.message}")
            continue
        if r.status == "already imported":
            print(f"{r.file}: already imported ({r.message}); nothing to do")
            continue
        left = [f"{n:,} {what}" for n, what in ((r.filtered_out, "row(s) left out by --where or as breakdown rows"),
                                                 (r.not_members, "row(s) for areas outside the comparator group"),
                                                 (sum(r.unmatched.values()), "row(s) of titles or breakdowns no indicator uses"),
                                                 (r.duplicates, "identical repeated row(s) kept once")) if n]
        verb = "replaced its earlier import with" if r.status == "replaced" else "imported"
        print(f"{r.file}: {verb} {r.stored:,} value(s) for {', '.join(sorted(r.indicators))}"
              + (f"; {'; '.join(left)}" if left else ""))


def print_restatements(rows: Sequence[dict[str, Any]]) -> None:
    """Each figure that differs from what was published: as published, now, and the file and cell that changed it."""
    for r in rows:
        where = r["file_name"] or "no current return"
        if r.get("cell"):
            where += f" {r['sheet']}!{r['cell']}"
        print(f"{r['period']} v{r['version']}  {r['kind']} {r['id']}: {r['published_text']} -> {r['current_text']}  "
              f"({', '.join(r['changed'])} changed; {where}, recorded {r['recorded_at'] or '?'})")
    print(f"{len(rows)} restatement(s)")
