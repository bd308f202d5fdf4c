"""Frozen records: what `dataclass(frozen=True)` gives, with the methods written once instead of per class.

Python 3.11's dataclass compiles six functions for every frozen class. For the ~40 config and score classes that
was a fifth of a command's start-up, paid on every ribbon click and every scheduled run. `@record` keeps the
dataclass fields (so pydantic, `dataclasses.asdict`, `fields` and `replace` work) and `Record` supplies `__init__`,
equality, hashing, `repr` and immutability.
"""

from __future__ import annotations

from dataclasses import MISSING, FrozenInstanceError, dataclass, fields
from typing import Any

record = dataclass(init=False, repr=False, eq=False)

_SPECS: dict[type, tuple[tuple[str, Any, Any], ...]] = {}


def _spec(cls: type) -> tuple[tuple[str, Any, Any], ...]:
    spec = _SPECS[cls] = tuple((f.name, f.default, f.default_factory) for f in fields(cls))  # type: ignore[arg-type]
    return spec


class Record:
    __slots__ = ()

    def __init__(self, *args: Any, **values: Any) -> None:
        spec = _SPECS.get(type(self)) or _spec(type(self))
        if len(args) > len(spec):
            raise TypeError(f"{type(self).__name__}() takes {len(spec)} arguments but {len(args)} were given")
        given = dict(zip([name for name, _, _ in spec], args, strict=False))  # args may be fewer than fields
        for name, default, factory in spec[len(args):]:
            if name in values:
                given[name] = values.pop(name)
            elif default is not MISSING:
                given[name] = default
            elif factory is not MISSING:
                given[name] = factory()
            else:
                raise TypeError(f"{type(self).__name__}() missing argument '{name}'")
        if values:
            name = next(iter(values))
            raise TypeError(f"{type(self).__name__}() got {'multiple values for' if name in given else 'an unexpected'} "
                            f"argument '{name}'")
        self.__dict__.update(given)  # straight into the instance: __setattr__ refuses all changes
        self.__post_init__()

    def __post_init__(self) -> None:
        """Cross-field checks, in the records that have them."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field '{name}'")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field '{name}'")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), *vars(self).values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"
