"""The thin Typer layer: one module per command group. No logic beyond parsing and printing."""
