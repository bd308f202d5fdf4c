"""The validate stage: every problem in a submission, located and explained in plain English, in one pass.

- `parsers`: pure parsing of what a lead typed (numbers, dates, fractions, text);
- `rules`: the checks, pure over the values read (`check_submission`);
- `batch`: reading submissions in isolated worker processes and checking them (`validate_files`);
- `cache`: reports of files already checked;
- `annotate`: marked-up copies for departments.

Nothing here ever changes a submitted file.
"""

from plan_reports.validate.annotate import annotate, annotate_all
from plan_reports.validate.batch import find_submissions, validate_file, validate_files, validate_paths
from plan_reports.validate.cache import ValidationCache
from plan_reports.validate.parsers import parse_date, parse_fraction, parse_number, parse_text, resolve_percent
from plan_reports.validate.returns import CommitmentReturn, FileReport, IndicatorReturn
from plan_reports.validate.rules import check_submission

__all__ = [
    "CommitmentReturn", "FileReport", "IndicatorReturn", "ValidationCache", "annotate", "annotate_all",
    "check_submission", "find_submissions", "parse_date", "parse_fraction", "parse_number", "parse_text",
    "resolve_percent", "validate_file", "validate_files", "validate_paths",
]
