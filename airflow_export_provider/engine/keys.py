"""Object keys: folder and file-name templates rendered from the spec and the window.

Every variable comes from the spec or the window, never from the wall clock, so a
re-run of a window writes exactly the keys it wrote before (invariant 2).

Template syntax: ``{variable}``. ``{{Variable}}`` as written in commercial export tools
is accepted too: names match case-insensitively and ignore ``_``/``-``, so ``{{AccountID}}``
and ``{account_id}`` are the same variable. The export never passes these templates
through Jinja (they are not templated fields), so Airflow's own ``{{ }}`` does not collide.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

VARIABLES = {
    "accountid": "account_id",
    "account": "account_id",
    "exportid": "export_id",
    "export": "export_id",
    "timestamp": "timestamp",
    "windowtimestamp": "timestamp",
    "instanceid": "instance_id",
    "instance": "instance_id",
    "shardid": "instance_id",
    "date": "date",
    "eventname": "event_name",
    "event": "event_name",
    "fileindex": "file_index",
    "hour": "hour",
    "h": "hour",
    "hh": "hour_padded",
}
WINDOW_VARIABLES = {"timestamp", "date", "hour", "hour_padded"}
EventNameStyle = Literal["encoded", "hyphenated"]
Split = Literal["event", "window"]
FOLDER_PRESETS = {
    "data_type": "events",
    "date": "{date}",
    "export_id": "{export_id}",
    "event_name": "{event_name}",
}
DEFAULT_FILE_TEMPLATE = "{event_name}-{date}-{account_id}-{export_id}-{timestamp}-{instance_id}-{file_index}"
DEFAULT_WINDOW_FILE_TEMPLATE = "{date}-{account_id}-{export_id}-{timestamp}-{instance_id}-{file_index}"
"""The default name of a window's one series (``split: window``): the default without the event."""
_TOKEN = re.compile(r"\{\{\s*([A-Za-z_-]+)\s*\}\}|\{\s*([A-Za-z_-]+)\s*\}")
# Literal text: safe in S3 keys and local file names. '=' makes Hive-style folders
# (``date=2025-03-01``); '#' appears in Amplitude's file names (URL-encode it as %23 in
# HTTP URLs, where it starts a fragment).
_FOLDER_LITERAL = re.compile(r"[A-Za-z0-9/_=-]*")
_FILE_LITERAL = re.compile(r"[A-Za-z0-9_#-]*")
# Kept as they are in keys: safe in S3 keys, URLs and local file names on every OS.
_KEPT = "-_."
_MAX_ENCODED_NAME = 100
EMPTY_EVENT_NAME = "%empty"
NULL_EVENT_NAME = "%null"

Token = tuple[str, str]  # ("literal", text) or ("variable", canonical name)


def parse_template(template: str, *, allow_folders: bool = True) -> list[Token]:
    """Split a template into literal text and variables, rejecting anything unsafe in a key."""
    tokens: list[Token] = []
    position = 0
    for match in _TOKEN.finditer(template):
        tokens.extend(_literal(template[position : match.start()], template, allow_folders))
        raw_name = match.group(1) or match.group(2)
        canonical = VARIABLES.get(raw_name.lower().replace("_", "").replace("-", ""))
        if canonical is None:
            known = ", ".join(sorted(set(VARIABLES.values())))
            raise ValueError(f"unknown variable {match.group(0)!r} in template {template!r}; known: {known}")
        tokens.append(("variable", canonical))
        position = match.end()
    tokens.extend(_literal(template[position:], template, allow_folders))
    return tokens


def _literal(text: str, template: str, allow_folders: bool) -> list[Token]:
    if not text:
        return []
    allowed_pattern = _FOLDER_LITERAL if allow_folders else _FILE_LITERAL
    if not allowed_pattern.fullmatch(text):
        allowed = "letters, digits, '/', '=', '-', '_'" if allow_folders else "letters, digits, '#', '-', '_'"
        bad = sorted({char for char in text if not allowed_pattern.fullmatch(char)})
        raise ValueError(
            f"template {template!r} contains {bad}; only {allowed} and {{variables}} are allowed"
        )
    return [("literal", text)]


def _variables(tokens: list[Token]) -> set[str]:
    return {value for kind, value in tokens if kind == "variable"}


def encode_event_name(name: str | None) -> str:
    """Make an event name safe as one key segment, reversibly.

    Letters, digits, ``-``, ``_`` and ``.`` stay; every other character becomes
    ``%XX`` per UTF-8 byte (``/`` → ``%2F``, space → ``%20``, ``%`` → ``%25``). A leading
    dot is encoded too, so ``..`` never walks up a folder and no file is hidden. The empty name is
    ``%empty`` and a missing name ``%null``: neither is a valid ``%XX`` sequence, so no
    real name encodes to them. Names whose encoding exceeds 100 characters are cut to
    80 and suffixed with ``~`` and a hash; the manifest records the original name.
    """
    if name is None:
        return NULL_EVENT_NAME
    if name == "":
        return EMPTY_EVENT_NAME
    encoded = quote(name, safe=_KEPT)
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded) > _MAX_ENCODED_NAME:
        cut = encoded[:80]
        cut = cut[: cut.rfind("%")] if "%" in cut[-2:] else cut
        encoded = f"{cut}~{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    return encoded


def spell_event_name(name: str | None, style: EventNameStyle) -> str:
    """An event name as one key segment: ``encoded`` (reversible) or ``hyphenated`` (CleverTap's).

    ``hyphenated`` writes each space as ``-`` (``App Launched`` → ``App-Launched``) and
    encodes the rest as ``encoded`` does, so the segment is still safe; it is not
    reversible, and two names can meet (see :func:`event_name_segments`).
    """
    if style == "hyphenated" and name:
        return encode_event_name(name.replace(" ", "-"))
    return encode_event_name(name)


COLLISION_MARK = "%~"
"""Starts the suffix that keeps apart names spelled alike: never produced by encoding, where
``%`` is always followed by two hex digits (or ``empty``/``null``)."""


def event_name_segments(names: Iterable[str | None], style: EventNameStyle) -> dict[str | None, str]:
    """Every name's key segment, no two alike.

    Names whose spellings meet (``App Launched`` and ``App-Launched`` under ``hyphenated``)
    are told apart: the name spelled as itself keeps the plain segment (else the first in
    order), every other gets :data:`COLLISION_MARK` and 16 hex digits of its SHA-256. The
    manifest lists the original name of every file.
    """
    by_segment: dict[str, list[str | None]] = {}
    for name in set(names):
        by_segment.setdefault(spell_event_name(name, style), []).append(name)
    segments: dict[str | None, str] = {}
    for segment, meeting in by_segment.items():
        ordered = sorted(meeting, key=lambda n: (n != _unspelled(n, segment), n is not None, n or ""))
        segments[ordered[0]] = segment
        for name in ordered[1:]:
            digest = hashlib.sha256(("" if name is None else name).encode()).hexdigest()[:16]
            segments[name] = f"{segment}{COLLISION_MARK}{digest}"
    return segments


def _unspelled(name: str | None, segment: str) -> str | None:
    """``name`` if ``segment`` is its plain encoding (the name is spelled as itself)."""
    return name if encode_event_name(name) == segment else None


def decode_event_name(encoded: str) -> str | None:
    """Invert :func:`encode_event_name` (hashed long names excepted: read those from the manifest)."""
    if encoded == NULL_EVENT_NAME:
        return None
    if encoded == EMPTY_EVENT_NAME:
        return ""
    if "~" in encoded:
        raise ValueError(
            f"{encoded!r} is a shortened long name; the manifest lists each file's original event name"
        )
    return unquote(encoded, errors="strict")


def shard_of(event_name: str | None, shards: int) -> int:
    """The shard that exports an event's rows: a stable hash of its name, the same on every
    machine, Python version and run (SHA-256, not ``hash()``, which is salted per process).

    Events without a name go to shard 0. With one shard, everything is shard 0.
    """
    if shards <= 1 or event_name is None:
        return 0
    digest = hashlib.sha256(event_name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


@dataclass(frozen=True)
class KeyValues:
    """The window's values for every template variable except the event name and file index."""

    account_id: str
    export_id: str
    date: str
    timestamp: int
    instance_id: int
    hour: int = 0  # the window start's local hour, like ``date``


@dataclass(frozen=True)
class FileIndexStyle:
    """How ``{file_index}`` is written: the first file's number and the zero-padded width."""

    start: int = 0
    digits: int = 4

    def render(self, index: int) -> str:
        return f"{self.start + index:0{self.digits}d}" if self.digits else str(self.start + index)


class ObjectLayout:
    """Renders object keys for one window; knows the key pattern to find its own objects again.

    A template is used as written when it is unique on its own: it names the window
    (``{timestamp}``, or ``{date}`` with ``{hour}``/``{HH}`` or daily windows), the series
    (``{event_name}``, or ``split: window``) and the file (``{file_index}``). Otherwise
    every missing part is appended: ``-{event_name}`` (split by event), ``-{timestamp}``,
    ``-{instance_id}`` and ``-{file_index}``. A template used as written without
    ``{instance_id}`` lets only instance 0 write.

    With ``shards`` > 1 the window's events are split into that many shards by
    :func:`shard_of`, and each event's files carry its shard as ``{instance_id}``, whichever
    task writes them: one task for the whole window or one per shard write the same keys.
    The window itself (manifest, lease, journal) stays instance 0: it has one manifest.
    """

    def __init__(
        self,
        *,
        prefix: str,
        folder_template: str,
        file_template: str | None,
        extension: str,
        values: KeyValues,
        split: Split = "event",
        every_hours: int = 24,
        file_index: FileIndexStyle = FileIndexStyle(),
        event_names: EventNameStyle = "encoded",
        shards: int = 1,
    ) -> None:
        folder_tokens = parse_template(folder_template, allow_folders=True) if folder_template else []
        default = DEFAULT_FILE_TEMPLATE if split == "event" else DEFAULT_WINDOW_FILE_TEMPLATE
        file_tokens = parse_template(file_template or default, allow_folders=False)
        if split == "window" and "event_name" in _variables(folder_tokens) | _variables(file_tokens):
            raise ValueError(
                "{event_name} cannot appear in keys with split: window (a file holds every event)"
            )
        named = _variables(folder_tokens) | _variables(file_tokens)
        if not _unique_on_its_own(named, split, every_hours):
            required = (["event_name"] if split == "event" else []) + [
                "timestamp",
                "instance_id",
                "file_index",
            ]
            for variable in required:
                if variable not in named:
                    file_tokens += [("literal", "-"), ("variable", variable)]
            named = _variables(folder_tokens) | _variables(file_tokens)
        self._prefix = prefix.strip("/")
        self._folder_tokens = folder_tokens
        self._file_tokens = file_tokens
        self._extension = extension
        self._values = values
        self._file_index = file_index
        self._event_names: EventNameStyle = event_names
        self._segments: Mapping[str | None, str] = {}
        self.split: Split = split
        self.shards = shards
        if "instance_id" not in named and values.instance_id != 0:
            raise ValueError(
                f"instance {values.instance_id} cannot write: the layout's keys have no {{instance_id}}"
            )
        if shards > 1 and split != "event":
            raise ValueError(
                "shards split a window by event name, so they need files per event (split: event); "
                "with split: window every file holds every event"
            )
        if shards > 1 and values.instance_id != 0:
            raise ValueError(
                f"instance {values.instance_id} cannot write an export with shards: its files' "
                "{instance_id} is each event's shard"
            )

    def for_events(self, names: Iterable[str | None]) -> ObjectLayout:
        """This layout with each event's key segment fixed for ``names`` (see :func:`event_name_segments`)."""
        spelled = ObjectLayout.__new__(ObjectLayout)
        spelled.__dict__.update(self.__dict__)
        spelled._segments = event_name_segments(names, self._event_names)
        return spelled

    def event_segment(self, event_name: str | None) -> str:
        found = self._segments.get(event_name)
        return found if found is not None else spell_event_name(event_name, self._event_names)

    def object_key(self, event_name: str | None, file_index: int) -> str:
        """The key of a series' ``file_index``-th file (0-based); ``split: window`` ignores the name."""
        segment = self.event_segment(event_name) if self.split == "event" else ""
        substitutions = self._substitutions(segment, self._file_index.render(file_index))
        if self.shards > 1:
            substitutions["instance_id"] = str(shard_of(event_name, self.shards))
        folder = _render(self._folder_tokens, substitutions).strip("/")
        file_name = _render(self._file_tokens, substitutions) + "." + self._extension
        return "/".join(part for part in (self._prefix, folder, file_name) if part)

    def key_pattern(self) -> tuple[str, re.Pattern[str]]:
        """A listing prefix and a regex matching every key this window can produce.

        Used to find what a killed run left behind. The prefix is the folder path up to
        the first folder that depends on the event name, so listing stays narrow.
        """
        known = self._substitutions("", "")
        pattern_values = {name: re.escape(value) for name, value in known.items()}
        digits = self._file_index.digits
        pattern_values.update(event_name=r"[^/]+", file_index=rf"\d{{{max(digits, 1)},}}")
        if self.shards > 1:
            pattern_values["instance_id"] = r"\d+"
        folder = _render(self._folder_tokens, pattern_values).strip("/")
        file_name = _render(self._file_tokens, pattern_values) + re.escape("." + self._extension)
        pattern = "/".join(part for part in (re.escape(self._prefix), folder, file_name) if part)

        static_folder = ""
        for kind, value in self._folder_tokens:
            if kind == "variable" and (value == "event_name" or (value == "instance_id" and self.shards > 1)):
                static_folder = static_folder[: static_folder.rfind("/") + 1]
                break
            static_folder += known[value] if kind == "variable" else value
        else:
            static_folder += "/"
        listing_prefix = "/".join(part for part in (self._prefix, static_folder.strip("/")) if part)
        return (listing_prefix + "/" if listing_prefix else ""), re.compile(pattern)

    def manifest_key(self) -> str:
        return self._window_key("_manifests", "json")

    def lease_key(self) -> str:
        """The window's one-writer lease; see ``lease.py``. Never under ``_manifests/``, never ``.json``."""
        return self._window_key("_leases", "lease")

    def journal_key(self) -> str:
        """What a committing run is about to publish, so a killed commit can be finished (``commit.py``)."""
        return self._window_key("_commits", "commit")

    def rejected_key(self) -> str:
        """The window's quarantined rows (``rejected_file.py``), outside the data folders."""
        return self._window_key("_rejected", "jsonl.gz")

    def legacy_pending_key(self) -> str:
        """The marker versions before the commit protocol wrote beside the manifest while exporting."""
        return self._window_key("_manifests", "pending.json")

    def shard_plan_key(self, plan_id: str) -> str:
        """A sharded run's plan: the columns every shard follows (``engine/shards.py``)."""
        return f"{self._shard_folder(plan_id)}/plan.json"

    def shard_parts_key(self, plan_id: str, shard: int) -> str:
        """What one shard of a sharded run uploaded and left for the window's commit."""
        return f"{self._shard_folder(plan_id)}/shard-{shard}.json"

    def _shard_folder(self, plan_id: str) -> str:
        return self._window_key("_shards", plan_id)

    def schema_key(self) -> str:
        """The export's decided columns, shared by all its windows; see ``engine/columns.py``.

        A sibling of ``_manifests/`` rather than inside it, so that a reader listing the
        manifests finds only manifests.
        """
        name = f"_schema/{self._values.export_id}.json"
        return f"{self._prefix}/{name}" if self._prefix else name

    def _window_key(self, folder: str, suffix: str) -> str:
        values = self._values
        name = f"{folder}/{values.export_id}/{values.date}/{values.timestamp}-{values.instance_id}.{suffix}"
        return f"{self._prefix}/{name}" if self._prefix else name

    def _substitutions(self, event_name: str, file_index: str) -> dict[str, str]:
        values = self._values
        return {
            "account_id": values.account_id,
            "export_id": values.export_id,
            "date": values.date,
            "timestamp": str(values.timestamp),
            "instance_id": str(values.instance_id),
            "event_name": event_name,
            "file_index": file_index,
            "hour": str(values.hour),
            "hour_padded": f"{values.hour:02d}",
        }


def _unique_on_its_own(named: set[str], split: Split, every_hours: int) -> bool:
    """Whether keys of these variables differ between windows, series and files of a series."""
    names_window = "timestamp" in named or (
        "date" in named and (every_hours == 24 or bool(named & {"hour", "hour_padded"}))
    )
    names_series = split == "window" or "event_name" in named
    return names_window and names_series and "file_index" in named


def _render(tokens: list[Token], substitutions: dict[str, str]) -> str:
    return "".join(substitutions[value] if kind == "variable" else value for kind, value in tokens)
