"""Rewrite the README's table of issue codes from the registry (`plan_reports.issues.CODES`).

    .venv/bin/python scripts/readme_codes.py

tests/test_issue_codes.py fails while the README and the registry disagree.
"""

from __future__ import annotations

from pathlib import Path

from plan_reports.issues import codes_markdown

START, END = "<!-- codes: generated from plan_reports.issues.CODES by scripts/readme_codes.py -->", "<!-- codes: end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> None:
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{codes_markdown()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
