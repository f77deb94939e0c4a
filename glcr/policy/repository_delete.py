"""Will GitLab's repository delete finish? PURE: what `glcr repos delete` warns about first.

GitLab deletes a repository in the background (ContainerRegistry::DeleteContainerRepositoryWorker):
each pass runs the cleanup service over it as a policy would (name_regex_delete `.*`,
keep_latest false, no user, so EVERY tag protection rule applies), and a pass that leaves any
tag counts as a failure; after ContainerRepository::MAX_DELETION_FAILURES (10) failed passes,
with a growing backoff in between, the repository ends `delete_failed` and GitLab stops trying.
Two cases never finish:
- tags a protection rule keeps: no pass deletes them;
- a third-party registry (or GitLab's without its metadata database) holding more tags than 10
  passes can take: the third-party cleanup reads at most max_list_size tags a pass (200 unless an
  administrator changed `container_registry_cleanup_tags_service_max_list_size`), and keep_n is
  unset here, so a pass deletes at most that many.
"""

from __future__ import annotations

from collections.abc import Mapping

# ContainerRepository::MAX_DELETION_FAILURES
MAX_DELETION_FAILURES = 10
# ApplicationSetting container_registry_cleanup_tags_service_max_list_size: its default.
DEFAULT_MAX_LIST_SIZE = 200


def repository_delete_warnings(*, gitlab_api: bool | None, tags_count: int | None,
                               protected: Mapping[str, str],
                               max_list_size: int = DEFAULT_MAX_LIST_SIZE) -> list[str]:
    """One sentence per reason GitLab's delete worker will not finish. `gitlab_api`: the
    registry has GitLab's API (None: unknown); `protected`: {tag: the rule's pattern}."""
    warnings = []
    if protected:
        names = sorted(protected)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        warnings.append(
            f"{len(names)} tag(s) are protected ({shown}): GitLab's delete worker applies every protection "
            f"rule, so it never deletes them and the repository ends `delete_failed` after "
            f"{MAX_DELETION_FAILURES} attempts; remove or narrow the rule first (glcr protection list)")
    capacity = MAX_DELETION_FAILURES * max_list_size
    if gitlab_api is False and tags_count is not None and tags_count > capacity:
        warnings.append(
            f"{tags_count} tags on a registry without GitLab's API: GitLab's delete worker removes at most "
            f"{max_list_size} a pass and gives up after {MAX_DELETION_FAILURES} passes (about {capacity}), so "
            "the repository would end `delete_failed`; delete most tags first (glcr tags plan + glcr tags "
            "apply), then the repository")
    return warnings
