"""Options shared by several commands, declared once."""

from __future__ import annotations

import typer

from glcr.render.format import OutputFormat

OUTPUT = typer.Option(OutputFormat.TABLE, "--output", "-o", help="table for people, json for scripts, plain: one name a line")
YES = typer.Option(False, "--yes", "-y", help="do not ask for confirmation (scripts)")
