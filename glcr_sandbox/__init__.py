"""A local GitLab API sandbox over a real registry, for glcr's end-to-end tests, benchmarks, demo.

It follows GitLab's documented REST API for the endpoints glcr uses, signs registry tokens the
way GitLab's /jwt/auth does, and drives one of two real registries: GitLab's own container
registry with its metadata database (the default; `/gitlab/v1/` API, tag-only deletes, renames),
or Debian's `docker-registry` (distribution 2.8), a third-party registry without them, where
GitLab deletes tags with its dummy-manifest workaround. The REST API behaves as GitLab does
with whichever runs. Start one with `glcr sandbox up [--registry gitlab|distribution]` or
`glcr_sandbox.runtime.Sandbox.start(state_dir, registry_kind=...)`.
"""
