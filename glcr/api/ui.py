"""What a long operation of the library asks of the person running it: one small protocol.

The library never prints and never reads a terminal. An operation that needs a person takes a
`UI` and calls:

- `confirm(question)`: before anything changes; returns to go on, raises (AbortedError) to stop;
- `review(item)`: something to show, a typed value of the operation (a prepared plan, a step
  that started or ended); an implementation shows the kinds it knows and ignores the others;
- `progress(description)`: a context manager, a bar with `set_total(n)` and `advance(n=1)`,
  open while many small things happen;
- `note(message)`: one sentence the person should read (a refusal, a fallback taken).

glcr's terminal implementation is glcr.cli.ui.ConsoleUI; `QuietUI` (confirms everything, shows
nothing) is for scripts and benchmarks that decided before calling.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol


class Bar(Protocol):
    def set_total(self, total: int) -> None: ...
    def advance(self, step: int = 1) -> None: ...


class UI(Protocol):
    def confirm(self, question: str) -> None: ...
    def review(self, item: object) -> None: ...
    def progress(self, description: str) -> AbstractContextManager[Bar]: ...
    def note(self, message: str) -> None: ...


class _NoBar:
    def set_total(self, total: int) -> None:
        pass

    def advance(self, step: int = 1) -> None:
        pass


class QuietUI:
    """Says yes, shows nothing: the caller decided before calling. Subclass it to watch one kind."""

    def confirm(self, question: str) -> None:
        pass

    def review(self, item: object) -> None:
        pass

    def progress(self, description: str) -> AbstractContextManager[Bar]:
        return nullcontext(_NoBar())

    def note(self, message: str) -> None:
        pass
