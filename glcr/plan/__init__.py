"""Tag plans: decide first, then act.

- `model`: the `Plan` saved as JSON, its validation, and the repository check.
- `listfile`: the plain one-tag-a-line list (GitLab docs' `list_o_tags.out`), or a plan.
- `build`: plans from rules (`PlanRules`) or from a list; multi-arch safety warnings.
- `semver`: the semantic-version ordering `--keep-semver-latest` uses.
- `progress`: journal records, what is still pending on a resumed apply, and the summary.
- `journal`: the append-only JSON-lines journal and the human log (the only file I/O here).

Everything but `journal` is pure: no HTTP, no files, no terminal; the clock is a parameter.
This file imports nothing, so importing a pure module does not pull in `journal`.
"""
