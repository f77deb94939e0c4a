"""A local GitLab API sandbox over a real registry, for glcr's end-to-end tests, benchmarks, demo.

It follows GitLab's documented REST API for the endpoints glcr uses, signs registry tokens the
way GitLab's /jwt/auth does, and drives one of three real registries: GitLab's own container
registry with its metadata database (the default; `/gitlab/v1/` API, tag-only deletes, renames),
the same registry without it (`gitlab-legacy`: tag-only deletes, nothing else), or Debian's
`docker-registry` (distribution 2.8), a third-party registry, where GitLab deletes tags with its
dummy-manifest workaround. The REST API asks the running registry what it supports, as GitLab
does, and behaves accordingly. Start one with `glcr sandbox up [--registry
gitlab|gitlab-legacy|distribution]` or `glcr_sandbox.runtime.Sandbox.start(state_dir,
registry_kind=...)`.
"""
