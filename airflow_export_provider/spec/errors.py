"""pydantic's validation errors in our wording: the key path, the value seen, what is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

_UNION_TAGS = {"source": {"lake", "sql"}, "destination": {"s3", "local"}}


def describe_errors(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        location = _key_path(item["loc"])
        seen = _short(item.get("input"))
        kind = item["type"]
        if kind == "extra_forbidden":
            problems.append(
                f"{location}: unknown key (value {seen}); check the spelling in the spec reference"
            )
        elif kind == "missing":
            problems.append(f"{location}: required key is missing")
        elif kind == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            problems.append(f"{location}: {seen} is not allowed; expected {expected}")
        elif kind == "string_pattern_mismatch":
            problems.append(f"{location}: {seen} {_pattern_advice(location)}")
        elif kind == "union_tag_invalid":
            given = item["input"].get("type") if isinstance(item.get("input"), Mapping) else item.get("input")
            problems.append(
                f"{location}: type {given!r} is not known; expected one of {item['ctx']['expected_tags']}"
            )
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{location}: {message} (got {seen})")
    return problems


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for element in loc:
        if parts and element in _UNION_TAGS.get(parts[-1], ()):
            continue
        parts.append(f"[{element}]" if isinstance(element, int) else str(element))
    return ".".join(parts).replace(".[", "[") or "(top level)"


def _pattern_advice(location: str) -> str:
    if location.endswith("prefix"):
        return "may only contain letters, digits, '/', '.', '-' and '_'"
    return "may only contain letters, digits, '-' and '_' (1 to 64 characters)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
