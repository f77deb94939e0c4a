"""`glcr migrate-project`: move or rename a project whose registry holds images, losing nothing.

GitLab refuses to transfer or rename a project while its registry holds tags,
unless its registry has the metadata database and the move stays in the top-level namespace.
So glcr copies every tag to a holding place, verifies it there, deletes the tags, moves the
project, restores the tags under the new path, verifies each digest, and only then removes the
holding copies. Every step is journaled before and after it runs; `--resume` finishes a killed
run, and a refused transfer puts the images back where they were.

Layers, each calling only the one below:
  model.py           PURE: the inventory, facts, findings, steps and journal entries
  planner.py         PURE: inventory and facts in, findings and ordered steps out
  replay.py          PURE: where a migration stands, from its journal
  report.py          PURE: per repository and per tag, the digest before and after
  inventory.py       reads: the project, its repositories, tags, manifests, referrers, the checks
  copy.py            byte-exact manifest/blob copy (cross-repository mount), OCI layout read/write
  executor.py        runs steps, journal before/after each, resume and rollback
  journal.py         the migration directory: plan.json, journal.jsonl, a lock
  route.py           which way a move goes: GitLab moves the images itself, or glcr does
  service.py         prepare / start / execute: what the CLI, tests and the benchmark call
GitLab and registry calls go through the shared clients (glcr.gitlab.api, glcr.registry.client);
the tables and JSON are glcr.render.migrate.
"""
