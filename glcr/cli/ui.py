"""glcr.api.ui.UI on the terminal: what every command that runs a long operation hands the library."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Callable, Mapping

from glcr.api.ui import Bar
from glcr.cli.context import AppContext


class ConsoleUI:
    """Questions by the command's `--yes` rule (AppContext.confirm: no terminal and no --yes
    refuses), notes and bars on stderr (bars only on a terminal), and each reviewed item handed
    to the command's renderer for its kind (`reviews`: type -> function); other kinds are not shown.
    """

    def __init__(self, app_ctx: AppContext, *, yes: bool, console: Any = None,
                 reviews: Mapping[type, Callable[[Any], None]] | None = None) -> None:
        self.app_ctx = app_ctx
        self.yes = yes
        self.console = console if console is not None else app_ctx.stderr()
        self.reviews = dict(reviews or {})

    def confirm(self, question: str) -> None:
        self.app_ctx.confirm(question, self.yes)

    def review(self, item: object) -> None:
        for kind, show in self.reviews.items():
            if isinstance(item, kind):
                show(item)
                return

    def progress(self, description: str) -> AbstractContextManager[Bar]:
        from glcr.render.progress import counting_progress

        return counting_progress(self.console, description)

    def note(self, message: str) -> None:
        from rich.markup import escape

        self.console.print(f"[yellow]{escape(message)}[/yellow]", highlight=False)
