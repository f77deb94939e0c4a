"""Progress on stderr, only on a terminal (scripts and CI logs get none)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


class _Counter:
    def __init__(self, progress, task) -> None:
        self._progress = progress
        self._task = task

    def set_total(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def advance(self, step: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, step)


@contextmanager
def counting_progress(console, description: str) -> Iterator[_Counter]:
    if not console.is_terminal:
        yield _Counter(None, None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield _Counter(progress, task)
