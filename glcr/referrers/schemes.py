"""The tag names that attach an artifact to an image by the image's digest.

- cosign (sigstore/cosign pkg/oci/remote/remote.go `SignatureTag`, `AttestationTag`, `SBOMTag`):
  `sha256-<64 hex>.sig`, `.att`, `.sbom`: the subject's digest with `:` made `-`, plus a suffix.
- the OCI 1.1 referrers tag schema (distribution-spec, "Referrers Tag Schema"): a client pushing
  to a registry without the referrers API keeps an index of the referrers under the tag
  `<alg>-<ref>`, i.e. `sha256-<64 hex>` with nothing after it; it is an index.

The match is exact: a lowercase hex digest of exactly 64 characters and one of the known
suffixes, nothing before or after. `sha256-<hex>.sig.bak`, `SHA256-...`, a 63-character digest
or `.SIG` are ordinary tags to glcr (a policy treats them as any other tag), since taking an
ordinary tag for a referrer would delete it with an image, or keep it forever. Only sha256 is
recognised: it is what registries and cosign compute for manifests.
"""

from __future__ import annotations

from dataclasses import dataclass

from glcr.models import INDEX_MEDIA_TYPES

COSIGN_SUFFIXES = ("sig", "att", "sbom")
_PREFIX = "sha256-"
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class ReferrerTag:
    tag: str
    subject: str  # the digest of the image it belongs to: sha256:<hex>
    scheme: str  # "cosign" or "referrers-tag"
    kind: str  # sig, att, sbom, or index (the referrers-tag schema)


def _digest(hex_part: str) -> str | None:
    return f"sha256:{hex_part}" if len(hex_part) == 64 and set(hex_part) <= _HEX else None


def parse_referrer_tag(name: str, media_type: str | None = None) -> ReferrerTag | None:
    """The referrer a tag name says it is, or None. `media_type`: the tag's manifest type when
    known; a `sha256-<hex>` tag is a referrers-tag index only when it is an index (unknown: by
    its name, which the schema reserves)."""
    if not name.startswith(_PREFIX):
        return None
    rest = name[len(_PREFIX):]
    hex_part, dot, suffix = rest.partition(".")
    subject = _digest(hex_part)
    if subject is None:
        return None
    if not dot:
        if media_type is not None and media_type not in INDEX_MEDIA_TYPES:
            return None
        return ReferrerTag(name, subject, "referrers-tag", "index")
    if suffix in COSIGN_SUFFIXES:
        return ReferrerTag(name, subject, "cosign", suffix)
    return None
