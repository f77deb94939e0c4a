"""Tag plans: decide first, then act.

- `model`: the `Plan` saved as JSON, its validation, and the repository check.
- `listfile`: the plain one-tag-a-line list (GitLab docs' `list_o_tags.out`), or a plan.
- `build`: plans from rules (`PlanRules`) or from a list; multi-arch safety warnings.
- `semver`: the semantic-version ordering `--keep-semver-latest` uses.
- `journal_records`: journal records, what is still pending on a resumed apply, and the summary.
- `tag_filters`: selecting and ordering tags for `glcr tags list` (--match, --older-than, --sort).
- `group`: a cleanup over a whole group: rows, shards, and the group journal's replay.
- `usage`: storage by project and repository, and what a policy would reclaim.
- `backup`: the manifests a delete removes, saved first for `glcr tags restore` (file I/O).
- `journal`: the append-only JSON-lines journal and the human log (the only file I/O here).

Everything but `journal` and `backup` is pure: no HTTP, no files, no terminal; the clock is a parameter.
This file imports nothing, so importing a pure module does not pull in `journal`.
"""
