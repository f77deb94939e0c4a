"""GitLab REST access. `rest.py`: python-gitlab for single resources (projects, policy,
transfer, settings). `api.py`: async httpx for the hot paths (lists and per-tag calls)."""
