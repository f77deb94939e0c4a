"""GitLab's REST and GraphQL APIs.

- `rest.py`: python-gitlab for single resources (projects, policy, transfer, settings, rules);
- `graphql.py`: tag protection rules through GraphQL (python-gitlab's GraphQL client);
- `protection.py`: which rules apply, from GraphQL, REST or the registry token, said once;
- `caller.py`: the caller's role as GitLab computes it (Admin Mode, shared groups);
- `api.py`: async httpx for the hot paths (paginated lists, per-tag calls);
- `inuse.py`: what a project has in use (deployments, merge requests, releases, branches);
- `convert.py` (pure): GitLab's JSON into glcr's models.
Every call, whichever library makes it, follows glcr.transport's one policy.
"""
