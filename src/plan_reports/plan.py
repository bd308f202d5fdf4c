"""The plan stage: the plan as a tree for people (`plan show`) and for tools (`plan show --json`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan_reports.models import POLARITY_LABELS, UNIT_LABELS, Indicator, Outcome, PeriodValue, Plan, SubOutcome

if TYPE_CHECKING:
    from plan_reports.config import Config, ConfigProblem

# A stated figure names the seed file (000-004, see ../shared/seeds/README.md) and where in it: a section such as
# 7.4, a paragraph, a page, a table row or pillar. "003 s7.4 para 1", "000 Carbon Reduction pillar", "002 para 37".
SEED_FILE = re.compile(r"\b00[0-4]\b")
SEED_PLACE = re.compile(r"\b(para|paras|section|s\d|p\.|page|row|pillar|table|\d+\.\d+)", re.I)


def indicator_dict(i: Indicator) -> dict[str, Any]:
    return asdict(i)


def sub_outcome_dict(s: SubOutcome) -> dict[str, Any]:
    return {
        "id": s.id,
        "ref": s.ref,
        "title": s.title,
        "aims": [asdict(a) for a in s.aims],
        "commitments": [asdict(c) for c in s.commitments],
        "indicators": [indicator_dict(i) for i in s.indicators],
    }


def outcome_dict(o: Outcome) -> dict[str, Any]:
    return {
        "id": o.id,
        "title": o.title,
        "description": o.description,
        "board": asdict(o.board),
        "sub_outcomes": [sub_outcome_dict(s) for s in o.sub_outcomes],
    }


def plan_tree(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "title": plan.title,
        "status": plan.status,
        "starts": plan.starts,
        "ends": plan.ends,
        "vision": plan.vision,
        "outcomes": [outcome_dict(o) for o in plan.outcomes],
        "enabling": outcome_dict(plan.enabling) if plan.enabling else None,
        "counts": plan_counts(plan),
    }


def plan_counts(plan: Plan) -> dict[str, int]:
    subs = [s for o in plan.outcomes for s in o.sub_outcomes]
    return {
        "outcomes": len(plan.outcomes),
        "sub_outcomes": len(subs),
        "aims": sum(len(s.aims) for s in subs),
        "commitments": sum(len(s.commitments) for s in subs),
        "indicators": sum(len(s.indicators) for s in subs),
        "enabling_sections": len(plan.enabling.sub_outcomes) if plan.enabling else 0,
    }


def render_tree(plan: Plan) -> Any:
    """A rich Tree: outcomes, then sub-outcomes, then aims with their indicators and commitments."""
    from rich.tree import Tree

    root = Tree(f"[bold]{plan.title}[/bold] ({plan.id}, {plan.status})\n[italic]{plan.vision}[/italic]")
    for o in plan.groups():
        ot = root.add(f"[bold cyan]{o.id}  {o.title}[/bold cyan]  [dim]board: {o.board.name}[/dim]")
        for s in o.sub_outcomes:
            st = ot.add(f"[bold]{s.id}[/bold]  {s.title}")
            for a in s.aims:
                at = st.add(f"[green]aim {a.id}[/green]  {a.text}")
                for i in s.indicators:
                    if i.aim == a.id:
                        stat = " [magenta]statutory[/magenta]" if i.statutory else ""
                        it = at.add(f"[yellow]{i.id}[/yellow]  {i.name}  [dim]({UNIT_LABELS[i.unit]}, "
                                    f"{POLARITY_LABELS[i.polarity].lower()}, {i.frequency}, {i.department}){stat}[/dim]")
                        if i.holds:
                            it.add(f"[dim]records: {i.holds}[/dim]")
                        for kind, _, v in _figures(i):  # every stated figure with where it comes from
                            it.add(_figure_line({"baselines": "baseline", "targets": "target"}.get(kind, kind), i, v))
                n = sum(1 for c in s.commitments if c.aim == a.id)
                if n:
                    leads = sorted({c.lead for c in s.commitments if c.aim == a.id})
                    at.add(f"[dim]{n} commitment(s), led by {', '.join(leads)}[/dim]")
    return root


def _figures(ind: Indicator) -> Iterator[tuple[str, int, PeriodValue]]:
    for kind in ("baselines", "targets", "context"):
        for k, v in enumerate(getattr(ind, kind)):
            yield kind, k, v


def figure_problem(v: PeriodValue) -> str | None:
    """Why a baseline, target or context figure is not traceable, or None when it is."""
    if not v.source:
        return "no source: name the seed file and the page, section or paragraph (e.g. '003 s7.4 para 1')"
    if v.basis == "stated" and not (SEED_FILE.search(v.source) and SEED_PLACE.search(v.source)):
        return (f"source '{v.source}' does not name a seed file (000-004) and a place in it; a figure of ours is "
                "basis: derived or assumed, with the reasoning in note")
    if v.basis != "stated" and not (v.note and len(v.note) >= 20):
        return f"a {v.basis} figure needs its reasoning in note"
    return None


def audit_items(plan: Plan) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Provenance and plausibility problems, each with the key path of the YAML item (for file:line messages)."""
    groups: list[tuple[tuple[str | int, ...], Outcome]] = [(("outcomes", i), o) for i, o in enumerate(plan.outcomes)]
    if plan.enabling:
        groups.append((("enabling",), plan.enabling))
    for gloc, g in groups:
        for si, s in enumerate(g.sub_outcomes):
            for ii, ind in enumerate(s.indicators):
                iloc = (*gloc, "sub_outcomes", si, "indicators", ii)
                if ind.plausible is None:
                    yield iloc, f"indicator {ind.id} has no plausible range (plausible: {{low: ..., high: ...}})"
                if ind.typical is None:
                    yield iloc, f"indicator {ind.id} has no typical level (typical: ...)"
                for kind, k, v in _figures(ind):
                    why = figure_problem(v)
                    if why:
                        yield (*iloc, kind, k), f"{ind.id} {kind[:-1] if kind != 'context' else 'context figure'}: {why}"
                    elif kind != "context" and ind.plausible and not ind.plausible.low <= v.value <= ind.plausible.high:
                        yield (*iloc, kind, k, "value"), (f"{ind.id} {kind[:-1]} {v.value} is outside its plausible range "
                                                          f"{ind.plausible.low}-{ind.plausible.high}")


def plan_file(cfg: Config, plan_id: str) -> Path | None:
    from plan_reports.config import read_yaml

    for pf in sorted((cfg.root / "plans").glob("*.yaml")):
        if read_yaml(pf).data.get("id") == plan_id:
            return pf
    return None


def audit_problems(cfg: Config, plans: list[Plan]) -> list[ConfigProblem]:
    """What `plan check` adds to the loader's checks: every figure traceable, every indicator with plausible bounds."""
    from plan_reports.config import read_yaml

    problems: list[ConfigProblem] = []
    for plan in plans:
        pf = plan_file(cfg, plan.id)
        doc = read_yaml(pf) if pf else None
        for loc, message in audit_items(plan):
            if doc is not None:
                problems.append(doc.problem(loc, message))
            else:
                from plan_reports.config import ConfigProblem

                problems.append(ConfigProblem(str(cfg.root / "plans"), 1, "", message))
    return problems


def _figure_line(kind: str, ind: Indicator, v: PeriodValue) -> str:
    unit = UNIT_LABELS[v.unit or ind.unit]
    basis = "" if v.basis == "stated" else f" [{v.basis}]"
    note = f"; {v.note}" if v.note else ""
    return f"[dim]{kind} {v.value:g} {unit} ({v.period}){basis}: {v.source or 'NO SOURCE'}{note}[/dim]"
