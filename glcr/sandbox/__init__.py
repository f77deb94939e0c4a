"""A local GitLab API sandbox over a real registry, for glcr's end-to-end tests, benchmarks, demo.

It follows GitLab's documented REST API for the endpoints glcr uses, signs registry tokens the
way GitLab's /jwt/auth does, and drives Debian's `docker-registry` (distribution 2.8), a
third-party registry: no GitLab registry API, tag deletion by GitLab's dummy-manifest workaround.
Start one with `glcr sandbox up` or `glcr.sandbox.runtime.Sandbox.start(state_dir)`.
"""
