"""The Typer layer: one module per command group (`*_cmd.py`), the entry point with its lazily
loaded command table (`entry.py`), shared options and context (`options.py`, `context.py`) and
completion (`complete.py`). It parses, prompts and prints; decisions live in the pure packages
(glcr.policy, glcr.plan, glcr.inuse) and the work in glcr.api."""
