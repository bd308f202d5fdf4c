"""Records behave as frozen dataclasses do: the shared methods are only a faster way to get them."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from plan_reports.models import RagRule, Range
from plan_reports.records import Record, record
from plan_reports.score import Rating


@record
class Point(Record):
    x: float
    y: float = 0.0
    tags: list[str] = dataclasses.field(default_factory=list)


def test_construction_positional_keyword_and_defaults() -> None:
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2)
    p = Point(3)
    assert (p.x, p.y, p.tags) == (3, 0.0, [])
    assert Point(1).tags is not Point(1).tags  # a fresh default per instance
    for bad in (lambda: Point(), lambda: Point(1, 2, [], 4), lambda: Point(1, x=2), lambda: Point(1, z=3)):
        with pytest.raises(TypeError):
            bad()


def test_frozen_equal_hashable_and_printable() -> None:
    p = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.y
    assert p != Point(1, 3) and p != (1, 2, [])
    assert hash(Range(low=1, high=2)) == hash(Range(low=1, high=2))
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=[])"


def test_dataclass_helpers_and_pickle_still_work() -> None:
    rule = RagRule(type="floor", floor=30)
    assert dataclasses.replace(rule, floor=40).floor == 40 and rule.floor == 30
    assert dataclasses.asdict(Rating("Red", "why", {"value": 1})) == {"status": "Red", "reason": "why",
                                                                       "inputs": {"value": 1}}
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tags"]
    assert pickle.loads(pickle.dumps(rule)) == rule


def test_cross_field_checks_run_on_construction() -> None:
    with pytest.raises(ValueError, match="above high"):
        Range(low=3, high=1)
    with pytest.raises(ValueError, match="floor"):
        RagRule(type="floor")
