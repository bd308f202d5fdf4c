"""Run a function over untrusted files in isolated worker processes, so one file can never take a run down.

Every item is handled by a worker of the standard library's `ProcessPoolExecutor`, started with the *spawn* method
on every platform (what Windows users get, so CI runs the same path), whatever the batch size, one item included.
Each worker has an address-space cap where the platform allows it (POSIX `RLIMIT_AS`; Windows has none in the
standard library, and the reader's own size limits bound what is read there).

What can go wrong with an item, and what the caller gets for it (`Failed`, never an exception):
- `fn` raises anything at all, `BaseException` included (a Rust panic in a reader is one): that item alone fails;
- the worker dies (a crash, an abort, the memory cap): the pool breaks. The items in flight are the suspects, and
  each is retried alone in a fresh pool, so only the one that kills its worker again fails; the items not yet
  started go to a fresh pool as before;
- no item in flight finishes within `timeout` seconds: the workers are stopped, and the items in flight are retried
  alone like the suspects of a crash; one that times out alone fails.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

DEFAULT_MEMORY_BYTES = 1024 * 1024 * 1024  # a worker that needs more than this is stopped, not the machine
DEFAULT_TIMEOUT_SECONDS = 60.0  # a tracker takes well under a second; this is a file built to hang the reader
IN_FLIGHT_PER_WORKER = 2  # one in hand and one queued, so no worker waits for the parent; few suspects if one dies
_DIED = "the worker reading it stopped abruptly (a crash or its memory limit)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Failed:
    """An item that did not produce a result: `why` says how, in words for the officer's log."""

    why: str


def _start_worker(memory_bytes: int | None, init: Callable[..., None] | None, args: tuple[Any, ...]) -> None:
    if memory_bytes:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        except (ImportError, ValueError, OSError):
            pass  # Windows: no per-process cap in the standard library (see the module docstring)
    if init is not None:
        init(*args)


def isolated_map(fn: Callable[[Any], Any], items: Sequence[Any], *, workers: int = 2,
                 init: Callable[..., None] | None = None, init_args: tuple[Any, ...] = (),
                 memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Iterator[tuple[int, Any]]:
    """(index, result or `Failed`) for every item, in completion order. `fn` and `init` must be module-level functions
    and the items and `init_args` must pickle, since workers are spawned."""
    todo = list(range(len(items)))
    suspects: list[int] = []
    while todo:
        todo, lost = yield from _run(fn, items, todo, min(workers, len(todo)), init, init_args, memory_bytes, timeout)
        suspects.extend(i for i, _ in lost)
    for i in suspects:  # alone, so whatever happens is this item's own doing
        _, lost = yield from _run(fn, items, [i], 1, init, init_args, memory_bytes, timeout)
        for j, why in lost:
            yield j, Failed(why=why)


def _run(fn: Callable[[Any], Any], items: Sequence[Any], todo: list[int], workers: int,
         init: Callable[..., None] | None, init_args: tuple[Any, ...], memory_bytes: int | None,
         timeout: float) -> Any:
    """One pool over `todo`, with a few items in flight per worker so that the suspects of a crash are few.

    Yields finished items; returns (items never started, [(item in flight when the pool broke or stalled, why)]).
    """
    pending = list(reversed(todo))
    in_flight: dict[Future[Any], int] = {}
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max(1, workers), mp_context=ctx, initializer=_start_worker,
                               initargs=(memory_bytes, init, init_args))
    lost: list[tuple[int, str]] = []
    try:
        while pending or in_flight:
            while pending and len(in_flight) < IN_FLIGHT_PER_WORKER * max(1, workers):
                i = pending.pop()
                try:
                    in_flight[pool.submit(fn, items[i])] = i
                except BrokenProcessPool:  # a worker died starting up: this item is a suspect like those in flight
                    lost = [(j, _DIED) for j in (i, *in_flight.values())]
                    return list(reversed(pending)), lost
            done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                lost = [(i, f"no result after {timeout:g} seconds: the reader was stopped") for i in in_flight.values()]
                _stop(pool)
                return list(reversed(pending)), lost
            broken = False
            for fut in done:
                i = in_flight.pop(fut)
                exc = fut.exception()
                if exc is None:
                    yield i, fut.result()
                elif isinstance(exc, BrokenProcessPool):
                    broken = True
                    lost.append((i, _DIED))
                else:
                    yield i, Failed(why=f"{type(exc).__name__}: {exc}"[:300])
            if broken:
                lost.extend((i, _DIED) for i in in_flight.values())
                return list(reversed(pending)), lost
        return [], lost
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now. Python 3.14 has `terminate_workers`; before it, the pool's own process table."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.kill()
