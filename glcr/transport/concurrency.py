"""Bounded fan-out: at most `jobs` calls in flight, results in input order."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Iterable, TypeVar

T = TypeVar("T")


async def gather_bounded(jobs: int, calls: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run every call, at most `jobs` at a time; the first error (or a cancellation, Ctrl-C)
    cancels the rest and waits for them before it propagates.

    Plain `asyncio.gather` returns on the first error and leaves its other children running
    unseen: they would finish, or fail, after the caller's journal and HTTP clients are closed,
    and asyncio would log them at exit ("Task exception was never retrieved").
    """
    semaphore = asyncio.Semaphore(max(1, jobs))

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await call()

    tasks = [asyncio.ensure_future(run(c)) for c in calls]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        await cancel_and_wait(tasks)
        raise


async def cancel_and_wait(tasks: Iterable[asyncio.Future]) -> None:
    """Cancel `tasks` and wait until each has ended; their outcomes are retrieved (so asyncio
    logs none of them). A cancellation of the caller meanwhile is kept for after the wait."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    cancelled = False
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError:
            cancelled = True  # a second cancel of the caller: the children are ending anyway
        pending = [t for t in pending if not t.done()]
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the caller's error is the one that propagates
    if cancelled:
        raise asyncio.CancelledError


async def end_strays() -> None:
    """Cancel and wait for every other task still running on this loop: work that leaves a task
    behind (an error or Ctrl-C half-way) must not have it run on while the session closes."""
    me = asyncio.current_task()
    while True:
        strays = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        if not strays:
            return
        await cancel_and_wait(strays)
