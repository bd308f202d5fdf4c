"""Performance reporting for a council's Strategic Plan.

Kept import-free so that `plan-reports --version` and an Excel ribbon click start fast.
"""

__version__ = "0.1.0"
