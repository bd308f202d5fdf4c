"""The tracker's formulas, built once and rendered twice: as Excel formulas and as Python evaluation.

The RAG preview follows `config/scoring.yaml` for each indicator's own rule (tolerance, floor, improvement, range),
polarity and tolerance, with the scorer's comparisons (`score.rate_indicator`: at-least/at-most with the same 1e-9
slack). The Checks columns say in words what `validate` would reject ("Fix: ..."), question ("Check: ...") or what
is still to do ("To do: ..."); "OK" only when nothing is found.

Each formula is a small expression tree: `xl()` renders Excel 2016 / LibreOffice 7.4 syntax (IF, AND, OR, NOT,
ISNUMBER, ISTEXT, ABS, MAX, MIN, INT, LEN, ROUND, TRIM, TODAY and &; no IFS, SWITCH, LET...), `ev()` evaluates it
with Excel's rules for blanks and mixed types, which gives the cached values written into the workbook (so Excel's
Protected View shows them) and lets tests compare the preview with the scorer without opening an office suite.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from plan_reports.models import Indicator, RagRule

EXCEL_EPOCH = date(1899, 12, 30)
EPS = 1e-9  # score.EPS: the scorer's at-least/at-most slack
OK, FIX, CHECK, TODO = "OK", "Fix:", "Check:", "To do:"


class XlError(Exception):
    """#VALUE! and friends, during Python evaluation."""


Env = Mapping[str, Any]  # column key -> cell value (None for blank; dates as Excel serial numbers)


def serial(d: date | datetime) -> float:
    if isinstance(d, datetime):
        return (d - datetime(1899, 12, 30)).total_seconds() / 86400
    return float((d - EXCEL_EPOCH).days)


class X:
    """An expression."""

    def xl(self, ref: Callable[[str], str]) -> str:
        raise NotImplementedError

    def ev(self, env: Env) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Ref(X):
    key: str

    def xl(self, ref: Callable[[str], str]) -> str:
        return ref(self.key)

    def ev(self, env: Env) -> Any:
        v = env.get(self.key)
        return serial(v) if isinstance(v, (date, datetime)) else v


@dataclass(frozen=True)
class Lit(X):
    value: Any

    def xl(self, ref: Callable[[str], str]) -> str:
        v = self.value
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, str):
            return '"' + v.replace('"', '""') + '"'
        return repr(float(v)).upper().removesuffix(".0") if float(v).is_integer() else repr(float(v)).upper()

    def ev(self, env: Env) -> Any:
        return self.value


def _num(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    raise XlError("#VALUE!")


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return f"{float(v):.15g}"
    return str(v)


def _rank(v: Any) -> tuple[int, Any]:
    """Excel orders numbers < text < logicals; text compares without case."""
    if isinstance(v, bool):
        return 2, v
    if isinstance(v, (int, float)):
        return 0, float(v)
    return 1, str(v).lower()


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None:
        a = "" if isinstance(b, str) else False if isinstance(b, bool) else 0.0
    if b is None:
        b = "" if isinstance(a, str) else False if isinstance(a, bool) else 0.0
    ra, rb = _rank(a), _rank(b)
    return {"=": ra == rb, "<>": ra != rb, "<": ra < rb, "<=": ra <= rb, ">": ra > rb, ">=": ra >= rb}[op]


@dataclass(frozen=True)
class Op(X):
    op: str
    a: X
    b: X

    def xl(self, ref: Callable[[str], str]) -> str:
        return f"({self.a.xl(ref)}{self.op}{self.b.xl(ref)})" if self.op in "+-&" else \
            f"{self.a.xl(ref)}{self.op}{self.b.xl(ref)}"

    def ev(self, env: Env) -> Any:
        a, b = self.a.ev(env), self.b.ev(env)
        if self.op == "&":
            return _text(a) + _text(b)
        if self.op in ("+", "-", "*", "/"):
            x, y = _num(a), _num(b)
            if self.op == "/" and y == 0:
                raise XlError("#DIV/0!")
            return {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else 0.0}[self.op]
        return _compare(self.op, a, b)


_FUNCS: dict[str, Callable[..., Any]] = {
    "AND": lambda *a: all(bool(_num(x)) for x in a),
    "OR": lambda *a: any(bool(_num(x)) for x in a),
    "NOT": lambda a: not bool(_num(a)),
    "ISNUMBER": lambda a: isinstance(a, (int, float)) and not isinstance(a, bool),
    "ISTEXT": lambda a: isinstance(a, str),
    "ABS": lambda a: abs(_num(a)),
    "MAX": lambda *a: max(_num(x) for x in a),
    "MIN": lambda *a: min(_num(x) for x in a),
    "INT": lambda a: float(int(_num(a) // 1)),
    "LEN": lambda a: len(_text(a)),
    "ROUND": lambda a, d: float(round(_num(a), int(_num(d)))),
    "TRIM": lambda a: " ".join(_text(a).split()),
}


@dataclass(frozen=True)
class Fn(X):
    name: str
    args: tuple[X, ...]

    def xl(self, ref: Callable[[str], str]) -> str:
        return f"{self.name}({','.join(a.xl(ref) for a in self.args)})"

    def ev(self, env: Env) -> Any:
        if self.name == "IF":  # lazy, as in Excel
            return self.args[1].ev(env) if bool(_num(self.args[0].ev(env))) else self.args[2].ev(env)
        if self.name == "TODAY":
            return env["__today__"]
        return _FUNCS[self.name](*(a.ev(env) for a in self.args))


def fn(name: str, *args: X | Any) -> Fn:
    return Fn(name, tuple(a if isinstance(a, X) else Lit(a) for a in args))


def IF(c: X, a: X | Any, b: X | Any) -> Fn:
    return fn("IF", c, a, b)


def op(o: str, a: X | Any, b: X | Any) -> Op:
    return Op(o, a if isinstance(a, X) else Lit(a), b if isinstance(b, X) else Lit(b))


def blank(x: X) -> Op:
    return op("=", x, "")


def given(x: X) -> Op:
    return op("<>", x, "")


def isnum(x: X) -> Fn:
    return fn("ISNUMBER", x)


def guard(x: X, cond: X) -> Fn:
    """cond only when x is a number (AND does not short-circuit in Excel; IF does)."""
    return IF(isnum(x), cond, False)


def at_least(a: X, b: X | float) -> X:
    """score._at_least: a >= b - 1e-9 * max(1, |b|)."""
    if not isinstance(b, X):
        return op(">=", a, b - EPS * max(1.0, abs(b)))
    return op(">=", a, op("-", b, op("*", EPS, fn("MAX", 1, fn("ABS", b)))))


def at_most(a: X, b: X | float) -> X:
    if not isinstance(b, X):
        return op("<=", a, b + EPS * max(1.0, abs(b)))
    return op("<=", a, op("+", b, op("*", EPS, fn("MAX", 1, fn("ABS", b)))))


def checks(items: Sequence[tuple[X, str | X]]) -> X:
    """Every message whose condition holds, in order, or "OK"."""
    if not items:
        return Lit(OK)
    joined: X = IF(items[0][0], _with_space(items[0][1]), "")
    for cond, msg in items[1:]:
        joined = op("&", joined, IF(cond, _with_space(msg), ""))
    return IF(fn("OR", *(c for c, _ in items)), fn("TRIM", joined), OK)


def _with_space(msg: str | X) -> X:
    return Lit(msg + " ") if isinstance(msg, str) else op("&", msg, " ")


# ---- the RAG preview ---------------------------------------------------------------------------------------------

V, T, LY = Ref("value"), Ref("target"), Ref("value_last_year")


def _fmt(x: float) -> str:
    return f"{x:,.10g}"


def rule_text(ind: Indicator, rule: RagRule) -> str:
    """How the indicator is rated, in words, for the 'How it is rated' column."""
    tol = f"{rule.tolerance_pct:g}%"
    if ind.polarity == "data_only":
        return "Not rated: context only."
    if ind.polarity == "within_range":
        assert ind.range is not None
        return (f"Green within {_fmt(ind.range.low)} to {_fmt(ind.range.high)}; Amber within {tol} outside it; "
                "Red otherwise.")
    side = "or above" if ind.polarity == "higher_better" else "or below"
    green = f"Green at {side} target"
    if rule.type == "floor":
        assert rule.floor is not None
        return f"{green}; Amber at {side} the floor of {_fmt(rule.floor)}; Red otherwise."
    if rule.type == "improvement":
        return f"{green}; short of it, Amber only if better than the same period a year earlier; Red otherwise."
    return f"{green}; Amber within {tol} of it; Red otherwise."


def unrated(ind: Indicator) -> list[tuple[X, str]]:
    """Values the scorer questions instead of rating (`Indicator.limits` and `plausible`, as `score.rate_indicator`);
    each condition assumes the value is a number."""
    out: list[tuple[X, str]] = []
    low, high = ind.limits()
    beyond = [c for c in (op("<", V, low) if low > -math.inf else None, op(">", V, high) if high < math.inf else None) if c]
    if beyond:
        what = "a percentage is from 0 to 100" if ind.unit == "percent" and (low, high) == (0, 100) else \
            "a count cannot be negative" if ind.unit == "count" and low == 0 and high == math.inf else \
            "this measure cannot be negative" if low == 0 and high == math.inf else \
            f"this measure runs from {_fmt(low)} to {_fmt(high)}"
        out.append((beyond[0] if len(beyond) == 1 else fn("OR", *beyond), f"{FIX} {what}."))
    p = ind.plausible
    if p is not None:
        out.append((fn("OR", op("<", V, p.low), op(">", V, p.high)),
                    f"{CHECK} outside the plausible range {_fmt(p.low)} to {_fmt(p.high)} for this measure: "
                    "check the figure and the unit."))
    return out


def suspicious(ind: Indicator) -> list[tuple[X, str]]:
    """Values that are rated but look mistyped: told to the lead in the Checks column only."""
    if ind.unit == "percent":
        return [(fn("AND", op(">", fn("ABS", V), 0), op("<", fn("ABS", V), 1)),
                 f"{CHECK} this looks like a fraction: type percentages as 0 to 100 (45.2 for 45.2%).")]
    if ind.unit == "count":
        return [(op("<>", V, fn("INT", V)), f"{CHECK} a count is a whole number.")]
    return []


def preview_expr(ind: Indicator, rule: RagRule) -> X:
    """The board's rating (score.rate_indicator) of this row's value, target and same period last year."""
    if ind.polarity == "data_only":
        return Lit("Data only")
    pol = ind.polarity
    tol = rule.tolerance_pct / 100
    if pol == "within_range":
        assert ind.range is not None
        lo, hi = ind.range.low, ind.range.high
        body: X = IF(fn("AND", at_least(V, lo), at_most(V, hi)), "Green",
                     IF(fn("AND", at_least(V, lo - abs(lo) * tol), at_most(V, hi + abs(hi) * tol)), "Amber", "Red"))
    else:
        higher = pol == "higher_better"
        meets = at_least if higher else at_most
        if rule.type == "floor":
            assert rule.floor is not None
            short: X = IF(meets(V, rule.floor), "Amber", "Red")
        elif rule.type == "improvement":
            short = IF(isnum(LY), IF(op(">" if higher else "<", V, LY), "Amber", "Red"), "Red")
        else:
            edge = op("-" if higher else "+", T, op("*", fn("ABS", T), tol))
            short = IF(meets(V, edge), "Amber", "Red")
        body = IF(blank(T), "No target", IF(fn("NOT", isnum(T)), "Check target", IF(meets(V, T), "Green", short)))
    bad = unrated(ind)
    if bad:
        body = IF(fn("OR", *(c for c, _ in bad)), "Check value", body)
    return IF(blank(V), "No data", IF(fn("NOT", isnum(V)), "Check value", body))


# ---- checks as the lead types ------------------------------------------------------------------------------------

NYA = "Not yet available"


def indicator_checks_expr(ind: Indicator, statuses: Sequence[str], default_period: str) -> X:
    S, R, C, P = Ref("data_status"), Ref("reason"), Ref("commentary"), Ref("data_period")
    items: list[tuple[X, str | X]] = [
        (fn("AND", blank(V), op("=", S, NYA), blank(R)), f"{FIX} give the reason there is no value (and when it is expected)."),
        (fn("AND", blank(V), given(S), op("<>", S, NYA)), f"{FIX} no value: type it, or choose {NYA} and give the reason."),
        (fn("AND", blank(V), blank(S)), f"{TODO} type the value, or choose {NYA} and give the reason."),
        (fn("ISTEXT", V), f"{FIX} the value is text: type the number only (no %, commas, units or words such as n/a)."),
    ]
    items += [(guard(V, c), m) for c, m in (*unrated(ind), *suspicious(ind))]
    items += [
        (fn("AND", given(S), *(op("<>", S, s) for s in statuses)), f"{FIX} data status must be {', '.join(statuses)}."),
        (fn("AND", isnum(V), op("=", S, NYA)), f"{CHECK} there is a value but the data status says {NYA}."),
        (fn("AND", isnum(V), blank(S)), f"{CHECK} choose a data status (Final or Provisional)."),
        (fn("AND", op("=", Ref("rag_preview"), "Red"), blank(C)),
         f"{FIX} Red needs commentary: what is happening and what is being done."),
        (fn("ISTEXT", T), f"{FIX} the target is text: type the number only."),
        (fn("AND", given(P), op("<>", P, default_period)),
         f"{CHECK} the comparison columns are for {default_period}; the performance team will compare with the "
         "period you give."),
    ]
    if ind.rate:
        N, D = Ref("numerator"), Ref("denominator")
        mult, dec = ind.rate.multiplier, ind.decimals
        implied = op("*", op("/", N, D), mult)
        slack = fn("MAX", 0.5 * 10 ** -dec, op("*", 0.005, fn("ABS", V)))
        items += [
            (fn("OR", fn("AND", blank(N), given(D)), fn("AND", given(N), blank(D))),
             f"{FIX} give both the numerator and the denominator, or neither."),
            (fn("OR", fn("ISTEXT", N), fn("ISTEXT", D)), f"{FIX} numerator and denominator are numbers only."),
            (fn("AND", isnum(D), op("=", D, 0), given(N)), f"{FIX} the denominator is 0."),
            (IF(fn("AND", isnum(N), isnum(D), isnum(V)), IF(op("<>", D, 0), op(">", fn("ABS", op("-", implied, V)), slack),
                                                              False), False),
             op("&", op("&", f"{FIX} the value does not match numerator / denominator (",
                        IF(fn("AND", isnum(N), isnum(D)), IF(op("<>", D, 0), fn("ROUND", implied, dec + 1), ""), "")),
                ")."))]
    return checks(items)


COMPLETED, DEFERRED, MAJOR, MINOR, ON_TRACK, NOT_STARTED = (
    "Completed", "Deferred", "Major disruption", "Minor disruption", "On track", "Not started")


def commitment_checks_expr(statuses: Sequence[str], period_end: date, behind_margin_pct: float) -> X:
    S, P, A, B, C, H = (Ref(k) for k in ("status", "percent_complete", "start_date", "target_date", "completion_date",
                                         "challenges"))
    end = serial(period_end)
    expected = fn("MIN", 1, fn("MAX", 0, op("/", op("-", end, A), op("-", B, A))))
    dates = (("start_date", "start date"), ("target_date", "target date"), ("completion_date", "completion date"))
    items: list[tuple[X, str | X]] = [
        (blank(S), f"{TODO} choose a status."),
        (fn("AND", given(S), *(op("<>", S, s) for s in statuses)), f"{FIX} choose a status from the list."),
        (fn("AND", op("=", S, MAJOR), blank(H)), f"{FIX} explain the disruption and the plan to recover under Challenges."),
        (fn("AND", op("=", S, DEFERRED), blank(H)), f"{FIX} say under Challenges why it was deferred, and by whom."),
        (fn("AND", op("=", S, MINOR), blank(H)), f"{CHECK} say what the disruption is under Challenges."),
        (fn("AND", op("=", S, COMPLETED), fn("OR", blank(C), IF(isnum(P), op("<", P, 1 - EPS), True))),
         f"{FIX} Completed needs a completion date and 100% complete."),
        (fn("ISTEXT", P), f"{FIX} % complete is text: type a percentage such as 45%."),
        (guard(P, fn("OR", op("<", P, 0), op(">", P, 1))), f"{FIX} % complete is from 0% to 100%."),
        *((fn("ISTEXT", Ref(k)), f"{FIX} the {label} is not a date Excel recognises: type it as dd/mm/yyyy.")
          for k, label in dates),
        (IF(fn("AND", isnum(A), isnum(C)), op("<", C, A), False), f"{FIX} the completion date is before the start date."),
        (IF(fn("AND", isnum(A), isnum(B)), op("<", B, A), False), f"{FIX} the target date is before the start date."),
        (fn("AND", given(C), given(S), op("<>", S, COMPLETED)),
         f"{CHECK} there is a completion date but the status is not Completed."),
        (fn("AND", op("<>", S, COMPLETED), op("<>", S, DEFERRED), blank(H), guard(B, op("<", B, fn("TODAY")))),
         f"{CHECK} the target date has passed: update it, or explain the delay under Challenges."),
        (fn("AND", op("=", S, ON_TRACK), IF(fn("AND", isnum(P), isnum(A), isnum(B)),
                                            IF(op(">", B, A), op(">", op("-", expected, P), behind_margin_pct / 100), False),
                                            False)),
         f"{CHECK} On track, but % complete is well behind the time elapsed by the end of the period: is the status "
         "right?"),
        (fn("AND", op("=", S, NOT_STARTED), guard(A, op("<", A, end))),
         f"{CHECK} Not started, but the start date is before the end of the period."),
    ]
    return checks(items)


def render(expr: X, letters: Mapping[str, str], row: int) -> str:
    return "=" + expr.xl(lambda key: f"{letters[key]}{row}")


def evaluate(expr: X, env: Env, today: date) -> Any:
    """The value Excel would show for these cells (errors as their text)."""
    try:
        return expr.ev({**env, "__today__": serial(today)})
    except XlError as e:
        return str(e)


# ---- cached values -----------------------------------------------------------------------------------------------

_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f><v\s*(?:/>|>[^<]*</v>)</c>', re.S)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_cached_values(path: Path, sheets: Mapping[str, Mapping[str, Any]], auto_rows: Mapping[str, range]) -> None:
    """Put computed values into formula cells (openpyxl writes none) and let data rows grow with their text.

    `sheets`: worksheet part (e.g. 'xl/worksheets/sheet2.xml') -> coordinate -> value. `auto_rows`: rows whose height
    is a starting size, not a custom one, so Excel and LibreOffice grow them as a lead types.
    """
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i)) for i in z.infolist()]
    tmp = path.with_name(path.name + ".cache")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename in sheets or info.filename in auto_rows:
                data = _fill_sheet(data.decode("utf-8"), sheets.get(info.filename, {}),
                                   auto_rows.get(info.filename, range(0))).encode("utf-8")
            out.writestr(info, data)
    tmp.replace(path)


def _fill_sheet(xml: str, values: Mapping[str, Any], rows: range) -> str:
    def cell(m: re.Match[str]) -> str:
        coord, attrs, formula = m.group(1), m.group(2), m.group(3)
        if coord not in values:
            return m.group(0)
        v = values[coord]
        attrs = re.sub(r'\s+t="[^"]*"', "", attrs)
        if isinstance(v, bool):
            return f'<c r="{coord}"{attrs} t="b"><f>{formula}</f><v>{int(v)}</v></c>'
        if isinstance(v, (int, float)):
            return f'<c r="{coord}"{attrs}><f>{formula}</f><v>{v!r}</v></c>'
        return f'<c r="{coord}"{attrs} t="str"><f>{formula}</f><v>{_escape(str(v))}</v></c>'

    xml = _CELL.sub(cell, xml)
    if rows:
        def row(m: re.Match[str]) -> str:
            return m.group(0).replace(' customHeight="1"', "") if int(m.group(1)) in rows else m.group(0)
        xml = re.sub(r'<row r="([0-9]+)"[^>]*>', row, xml)
    return xml
