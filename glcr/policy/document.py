"""Reading a policy file's text (JSON or YAML) into `container_expiration_policy_attributes`.

The caller reads the file; this only parses. Accepted shapes:
  {"cadence": "7d", "enabled": true, ...}                           GitLab's field names
  {"container_expiration_policy_attributes": {...}}                  the PUT /projects/:id body
  {"container_expiration_policy": {..., "next_run_at": "..."}}       what GET /projects/:id shows;
                                                                     next_run_at is read-only and dropped
"""

from __future__ import annotations

import json
from typing import Any

from glcr.errors import InvalidInputError
from glcr.policy.values import POLICY_FIELDS, READ_ONLY_POLICY_FIELDS

WRAPPERS = ("container_expiration_policy_attributes", "container_expiration_policy")
FORMATS = ("json", "yaml")


def parse_policy_text(text: str | bytes, fmt: str, *, source: str = "policy file") -> dict[str, Any]:
    """Parse and return the attribute dict; InvalidInputError names the offending key."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{source} is not a text file (not UTF-8 at byte {exc.start})",
                                    hint="give a JSON or YAML policy") from None
    fmt = fmt.lower()
    if fmt == "yml":
        fmt = "yaml"
    if fmt not in FORMATS:
        raise InvalidInputError(f"{source}: unknown format `{fmt}`; use json or yaml")
    data = _load(text, fmt, source)
    if data is None:
        raise InvalidInputError(f"{source}: empty; expected a mapping of policy fields ({', '.join(POLICY_FIELDS)})")
    if not isinstance(data, dict):
        raise InvalidInputError(f"{source}: expected a mapping of policy fields, got {type(data).__name__}")
    wrappers = [k for k in data if k in WRAPPERS]
    if wrappers:
        extra = [k for k in data if k not in WRAPPERS]
        if len(wrappers) > 1 or extra:
            key = (wrappers[1:] + extra)[0]
            raise InvalidInputError(
                f"{source}: unexpected key `{key}` next to `{wrappers[0]}`; put every field inside it"
            )
        data = data[wrappers[0]]
        if not isinstance(data, dict):
            raise InvalidInputError(f"{source}: `{wrappers[0]}` must be a mapping of policy fields")
    for key in data:
        if key not in POLICY_FIELDS and key not in READ_ONLY_POLICY_FIELDS:
            raise InvalidInputError(
                f"{source}: unknown key `{key}`; known keys: {', '.join(POLICY_FIELDS)} "
                f"(or a top-level {WRAPPERS[0]})"
            )
    return {k: data[k] for k in POLICY_FIELDS if k in data}


def _load(text: str, fmt: str, source: str) -> Any:
    if fmt == "json":
        try:
            return json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    import yaml  # parsing only; imported here so `import glcr.policy` stays light

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(f"{source}: invalid YAML{where}: {problem}") from None
