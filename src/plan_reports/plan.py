"""The plan stage: the plan as a tree for people (`plan show`) and for tools (`plan show --json`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from plan_reports.models import POLARITY_LABELS, UNIT_LABELS, Indicator, Outcome, Plan, SubOutcome


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
                        at.add(f"[yellow]{i.id}[/yellow]  {i.name}  [dim]({UNIT_LABELS[i.unit]}, "
                               f"{POLARITY_LABELS[i.polarity].lower()}, {i.frequency}, {i.department}){stat}[/dim]")
                n = sum(1 for c in s.commitments if c.aim == a.id)
                if n:
                    leads = sorted({c.lead for c in s.commitments if c.aim == a.id})
                    at.add(f"[dim]{n} commitment(s), led by {', '.join(leads)}[/dim]")
    return root
