"""One registry of issue codes, each with one severity; the README's table is the registry's."""

from __future__ import annotations

import re
from pathlib import Path

from plan_reports.issues import CODES, Severity, codes_markdown, severity_of

REPO = Path(__file__).resolve().parents[1]
RAISED = re.compile(r"""(?:\.add\(|Finding\(|ReadProblem\(|issue\(\s*)"([FSCX]\d{3})\"""")


def test_the_readme_table_is_generated_from_the_registry() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("by scripts/readme_codes.py -->\n", 1)[1].split("\n<!-- codes: end -->", 1)[0]
    assert block == codes_markdown()
    for code, (severity, what) in CODES.items():
        assert f"| {code} | {what}{' (warning)' if severity is Severity.WARNING else ''} |" in block


def test_every_code_raised_is_registered_and_every_registered_code_is_raised() -> None:
    raised = set()
    for f in (REPO / "src" / "plan_reports").rglob("*.py"):
        raised |= set(RAISED.findall(f.read_text(encoding="utf-8")))
    assert raised == set(CODES), (raised - set(CODES), set(CODES) - raised)


def test_a_code_has_one_severity_wherever_it_is_raised() -> None:
    from plan_reports.validate import parse_date, parse_number

    assert severity_of("C005") is Severity.WARNING
    assert parse_date("31/03/2026").finding.severity is Severity.WARNING  # a date typed as text, read
    number = parse_number("31/03/2026").finding  # a date where a number is expected: not readable, an error
    assert number.code == "C001" and number.severity is Severity.ERROR
    assert severity_of("C007") is Severity.WARNING and severity_of("C006") is Severity.ERROR
