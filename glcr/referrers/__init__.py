"""PURE: which tags are signatures, attestations and SBOMs of which image, and what a deletion
does to them (glcr keeps them with their image). No I/O; tested by tables."""

from glcr.referrers.cascade import (Cascade, ReferrerWarnings, cascade, group_by_image, referrer_map,
                                    warn_gitlab_run)
from glcr.referrers.schemes import ReferrerTag, parse_referrer_tag

__all__ = ["Cascade", "ReferrerTag", "ReferrerWarnings", "cascade", "group_by_image", "parse_referrer_tag", "referrer_map",
           "warn_gitlab_run"]
