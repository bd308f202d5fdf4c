"""The "Changes since the last report" section: figures reported in an earlier period that have since changed.

Each row is a restatement (see `publish`): what the board was shown, what the figure is now, and the file and cell
that changed it. Shared by the Outcome Board decks (a table slide) and the Scrutiny reports (a table).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

CHANGES_TITLE = "Changes since the last report"
CHANGES_HEADER = ("Period", "Item", "As reported", "Now", "Changed by", "Recorded")
CHANGES_WIDTHS = (1.2, 4.2, 2.3, 2.3, 3.6, 1.3)


def change_rows(changes: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for c in sorted(changes, key=lambda c: (c["period"], c["kind"], c["id"])):
        where = c["file_name"] or "no current return"
        if c.get("cell"):
            where += f", {c['sheet']}!{c['cell']}"
        rows.append([c["period"], f"{c['id']} {c['name']}", c["published_text"], c["current_text"], where,
                     (c["recorded_at"] or "")[:10]])
    return rows


def changes_headline(changes: Sequence[dict[str, Any]]) -> str:
    periods = sorted({c["period"] for c in changes})
    return (f"{len(changes)} figure(s) reported for {', '.join(periods)} have changed since they were published. "
            "The published figures stand in the earlier reports; these are the corrected ones.")


def add_changes_slides(deck: Any, changes: Sequence[dict[str, Any]], scope: str, add_table: Callable[..., Any],
                       table_rows: int, caption_pt: float) -> None:
    """Table slides listing the restatements (none if there are none), paginated like every other table."""
    rows = change_rows(changes)
    for page in range(0, len(rows), table_rows):
        s = deck.slide("Table", f"{CHANGES_TITLE}: {scope}" + (" (continued)" if page else ""))
        deck.text(s, "Headline", [changes_headline(changes)], caption_pt)
        add_table(deck, s, list(CHANGES_HEADER), rows[page:page + table_rows], list(CHANGES_WIDTHS),
                  alt=f"Figures for {scope} reported earlier and changed since, with the file and cell that changed them")
