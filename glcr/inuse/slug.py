"""GitLab CI's own variables for a commit and a ref, computed exactly as GitLab computes them.

CI_COMMIT_REF_SLUG is `Gitlab::Utils.slugify(ref)` (lib/gitlab/utils.rb, the variant without
dots): lowercased, every character outside [a-z0-9] replaced by `-`, cut to 63 characters
(`[0..62]`), and only then leading and trailing `-` stripped; so a slug may be shorter than 63
when the cut left a dash at its end. CI_COMMIT_SHORT_SHA is the first 8 characters of the sha
(Ci::Pipeline#short_sha, `Commit.truncate_sha`-like `sha[0...8]`).
"""

from __future__ import annotations

import re

_NOT_SLUG = re.compile(r"[^a-z0-9]")
_EDGE_DASHES = re.compile(r"\A-+|-+\Z")
SLUG_MAX = 63  # a DNS label: the slug is meant for URLs and host names
SHORT_SHA_LENGTH = 8


def ref_slug(ref: str) -> str:
    """CI_COMMIT_REF_SLUG of a branch or tag name."""
    # Ruby's downcase is Unicode-aware like str.lower(); any non-ASCII letter it leaves becomes `-`.
    return _EDGE_DASHES.sub("", _NOT_SLUG.sub("-", ref.lower())[:SLUG_MAX])


def short_sha(sha: str) -> str:
    """CI_COMMIT_SHORT_SHA."""
    return sha[:SHORT_SHA_LENGTH]
