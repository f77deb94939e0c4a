"""What is in use, as found: a commit or ref GitLab says is in use, or an image reference."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InUse:
    """A commit and/or ref in use, and why (shown after "in use: ").

    `sha`: the commit (`{sha}`, `{short_sha}`); `ref`: the branch or tag name it was built from
    (`{ref_slug}`); `tag`: a git tag's name (`{tag}`, releases only)."""

    why: str
    sha: str | None = None
    ref: str | None = None
    tag: str | None = None
    source: str = ""  # deployed, open-mr, release, protected-branch, default-branch


@dataclass(frozen=True)
class ImageInUse:
    """An image reference in use (from --keep-images-from): by tag, by digest, or both.
    `host` None: the reference named no registry, so only the path is compared."""

    path: str
    why: str
    host: str | None = None
    tag: str | None = None
    digest: str | None = None

    def names(self, repository_path: str, repository_location: str) -> bool:
        """Whether this reference names the repository (paths are lowercase in GitLab's registry)."""
        if self.path.lower() != repository_path.lower():
            return False
        if self.host is None:
            return True
        return repository_location.lower() == f"{self.host}/{self.path}".lower()
