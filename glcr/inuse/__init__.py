"""PURE: what is in use (deployed, in an open merge request, released, a protected branch's head,
listed in a file) and which tags of a repository that keeps. No I/O: glcr.gitlab.inuse reads
GitLab, glcr.api.inuse puts the two together for the cleanup commands.
"""

from glcr.inuse.keep import at_risk, keep_in_use, suggest_keep_regex
from glcr.inuse.match import in_use_tags
from glcr.inuse.model import ImageInUse, InUse
from glcr.inuse.slug import ref_slug, short_sha
from glcr.inuse.templates import DEFAULT_TEMPLATES, Template, parse_template

__all__ = [
    "DEFAULT_TEMPLATES",
    "ImageInUse",
    "InUse",
    "Template",
    "at_risk",
    "in_use_tags",
    "keep_in_use",
    "parse_template",
    "ref_slug",
    "short_sha",
    "suggest_keep_regex",
]
