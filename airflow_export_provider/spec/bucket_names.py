"""Amazon S3's naming rules for general purpose buckets, each checked with its own message.

A name AWS would refuse must fail when the DAG file is parsed, not when the first
window is written. The rules, from the S3 user guide ("General purpose bucket naming
rules"): 3-63 characters; lowercase letters, digits, ``.`` and ``-``; a letter or digit
first and last; no two adjacent dots; not an IP address; none of the prefixes and
suffixes AWS reserves.
"""

from __future__ import annotations

import ipaddress
import re

_ALLOWED = re.compile(r"[a-z0-9.-]*")
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid bucket name (the rule, in words), or None when it is."""
    if not 3 <= len(name) <= 63:
        return f"must be 3 to 63 characters long (it has {len(name)})"
    if not _ALLOWED.fullmatch(name):
        bad = sorted({char for char in name if not _ALLOWED.fullmatch(char)})
        return f"may only contain lowercase letters, digits, '.' and '-' (found {bad})"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must begin and end with a lowercase letter or a digit"
    if ".." in name:
        return "must not contain two adjacent dots"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not be formatted as an IP address"
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with {prefix!r} (reserved by AWS)"
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with {suffix!r} (reserved by AWS)"
    return None
