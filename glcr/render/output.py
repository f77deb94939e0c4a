"""Writers for stdout (data) and stderr (talk)."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence, TextIO


def write_json(data: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    # One write: json.dump writes every token separately (88,000 writes for 2,000 tags, 0.4 s).
    out.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def write_plain(lines: Iterable[str], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for line in lines:
        out.write(f"{line}\n")


def write_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                out: TextIO | None = None, *, justify_right: Sequence[str] = ()) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out or sys.stdout, soft_wrap=False)
    # The title is a line of its own: as a table title rich would wrap it to the table's width.
    table = Table(header_style="bold", box=None, pad_edge=False)
    for column in columns:
        table.add_column(column, justify="right" if column in justify_right else "left", overflow="fold")
    for row in rows:
        # Cells are data (tag names, regexes like `^v[a-z]+`), never rich markup.
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    if title:
        console.print(Text(title, style="table.title"))
    console.print(table)
