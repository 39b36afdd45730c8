"""What each exported record carries: the ``fields:`` section of an export spec.

Everything a user can choose about the record's content is declared here and checked
when the DAG file is parsed: which identifiers (and how missing ones fall back), how
the event time is written, which profile, device and preference fields, which events
under which names, and which properties of each event under which names. What cannot
be known before data is seen (the properties an event actually carries) is decided per
window by :mod:`airflow_export_provider.engine.columns` under the chosen evolution mode.

Omitting ``fields`` exports everything the source has; each option narrows it.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from airflow_export_provider.engine.record_fields import COMM_PREF_FIELDS, DEVICE_FIELDS
from airflow_export_provider.engine.windows import check_timezone
from airflow_export_provider.spec.base import SpecModel

TimeZoneName = Annotated[str, AfterValidator(check_timezone)]

STANDARD_IDENTIFIERS = ("identity", "email", "phone")
MAX_PROFILE_PROPERTIES = 5
# Output names become CSV headers (dotted paths), XML keys and Parquet struct members:
# a dot would make ``eventProps.a.b`` ambiguous, control characters break every reader.
_OUTPUT_NAME = re.compile(r"^[^.\x00-\x1f]{1,128}$")
_IDENTIFIER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_GLOB_CHARACTERS = frozenset("*?[")


def _check_output_name(name: str, what: str) -> str:
    if not _OUTPUT_NAME.fullmatch(name):
        raise ValueError(
            f"{what} {name!r} cannot be an output name: "
            "use 1-128 characters without '.' or control characters"
        )
    return name


class Renamed(SpecModel):
    """A source field written under a chosen output name (``{name: amount, as: value}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=256)
    output: str | None = Field(default=None, alias="as")

    @model_validator(mode="before")
    @classmethod
    def _from_plain_name(cls, data: Any) -> Any:
        """A bare string selects the field under its own name."""
        return {"name": data} if isinstance(data, str) else data

    @field_validator("output")
    @classmethod
    def _valid_output(cls, output: str | None) -> str | None:
        return None if output is None else _check_output_name(output, "output name")

    @property
    def output_name(self) -> str:
        return self.output or self.name


def _all_or_list(value: Any) -> Any:
    """``all`` and ``none`` are words; a list selects; ``[]`` is the same as ``none``."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "none":
            return ()
        if word == "all":
            return "all"
        raise ValueError(f"{value!r} is not 'all', 'none' or a list")
    return value


class IdentifiersSpec(SpecModel):
    """Who the event belongs to, in priority order.

    ``fallback`` writes one value per record, the first of ``use`` that the record has
    (with which one it was in ``idType``); ``all`` writes every one present.
    """

    use: tuple[str, ...] | None = None
    mode: Literal["all", "fallback"] = "all"
    all_identities: bool = False
    user_id: bool = True

    @field_validator("use")
    @classmethod
    def _known_and_unique(cls, use: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if use is None:
            return None
        for name in use:
            if not _IDENTIFIER_NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not an identifier name: use identity, email, phone or a custom identity "
                    "name (letters, digits, '_', starting with a letter)"
                )
        duplicates = sorted({name for name in use if use.count(name) > 1})
        if duplicates:
            raise ValueError(f"{', '.join(duplicates)} listed more than once")
        return use

    @model_validator(mode="after")
    def _at_least_one(self) -> IdentifiersSpec:
        if self.use == () and not (self.user_id or self.all_identities):
            raise ValueError("select at least one identifier (use, user_id or all_identities)")
        if self.mode == "fallback" and not self.use:
            raise ValueError("mode 'fallback' needs 'use': the identifiers to try, in priority order")
        return self


class EventTimeSpec(SpecModel):
    """How ``eventTime`` is written.

    ``iso``: ISO 8601 text with the zone's offset (a typed timestamp in Parquet);
    ``epoch``: integer seconds since 1970-01-01 UTC.
    """

    style: Literal["iso", "epoch"] = "iso"
    timezone: TimeZoneName = "UTC"


SelectAll = Literal["all"]


class EventsSpec(SpecModel):
    """Which events are exported and under which names.

    ``include`` is ``all``, the name of a category, or a list of names and glob patterns
    (``Notification *``). Categories are declared here as such lists. ``rename`` changes
    the ``eventName`` written in records; object keys keep the original name.
    """

    include: SelectAll | str | tuple[str, ...] = "all"
    categories: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    rename: dict[str, str] = Field(default_factory=dict)

    @field_validator("categories")
    @classmethod
    def _categories_are_lists(cls, categories: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, members in categories.items():
            if name == "all":
                raise ValueError("'all' is reserved; give the category another name")
            if not members:
                raise ValueError(f"category {name!r} is empty")
        return categories

    @field_validator("rename")
    @classmethod
    def _renames_are_distinct(cls, rename: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for original, output in rename.items():
            if not output:
                raise ValueError(f"event {original!r} cannot be renamed to an empty name")
            if output in seen:
                raise ValueError(
                    f"events {seen[output]!r} and {original!r} are both renamed to {output!r}; "
                    "records of different events would become indistinguishable"
                )
            seen[output] = original
        return rename

    @model_validator(mode="after")
    def _include_is_known(self) -> EventsSpec:
        if isinstance(self.include, str) and self.include != "all" and self.include not in self.categories:
            known = ", ".join(sorted(self.categories)) or "none declared"
            raise ValueError(
                f"include {self.include!r} is neither 'all' nor a category (categories: {known})"
            )
        if isinstance(self.include, tuple) and not self.include:
            raise ValueError("include is an empty list; nothing would be exported")
        listed = self.listed_names
        for original, output in self.rename.items():
            if listed is not None and output in listed and output not in self.rename:
                raise ValueError(
                    f"event {original!r} is renamed to {output!r}, which is another exported event's name; "
                    "rename that one too or choose another name"
                )
        return self

    @property
    def patterns(self) -> tuple[str, ...] | None:
        """The names and globs an event must match; None when every event is exported."""
        if self.include == "all":
            return None
        if isinstance(self.include, str):
            return self.categories[self.include]
        return self.include

    @property
    def listed_names(self) -> frozenset[str] | None:
        """The exact event names selected when the selection has no globs; None otherwise."""
        patterns = self.patterns
        if patterns is None or any(_GLOB_CHARACTERS & set(pattern) for pattern in patterns):
            return None
        return frozenset(patterns)

    def output_name(self, event_name: str | None) -> str | None:
        if event_name is None:
            return None
        return self.rename.get(event_name, event_name)

    def selects(self, event_name: str | None) -> bool:
        return _matches(self.patterns, event_name)


@lru_cache(maxsize=4096)
def _matches(patterns: tuple[str, ...] | None, event_name: str | None) -> bool:
    if patterns is None:
        return True
    if event_name is None:
        return False
    return any(
        fnmatch.fnmatchcase(event_name, pattern) if _GLOB_CHARACTERS & set(pattern) else event_name == pattern
        for pattern in patterns
    )


PropertyList = Annotated[SelectAll | tuple[Renamed, ...], BeforeValidator(_all_or_list)]


class PropertiesSpec(SpecModel):
    """Event properties: per event a list (select, rename, order) or ``all``; ``default`` for the rest.

    ``rename_everywhere`` copies a rename to every event that has the property, except
    where the event's own list gives it another name.
    """

    default: PropertyList = "all"
    per_event: dict[str, PropertyList] = Field(default_factory=dict)
    rename_everywhere: dict[str, str] = Field(default_factory=dict)

    @field_validator("rename_everywhere")
    @classmethod
    def _valid_targets(cls, rename: dict[str, str]) -> dict[str, str]:
        for output in rename.values():
            _check_output_name(output, "property output name")
        return rename

    @model_validator(mode="after")
    def _no_accidental_collisions(self) -> PropertiesSpec:
        lists = dict(self.per_event)
        if self.default != "all":
            lists["(default)"] = self.default
        for event_name, selection in lists.items():
            if selection == "all":
                continue
            self._check_list(event_name, selection)
        return self

    def _check_list(self, event_name: str, selection: tuple[Renamed, ...]) -> None:
        where = f"properties of {event_name!r}" if event_name != "(default)" else "properties.default"
        seen_entries: set[tuple[str, str]] = set()
        spelled: dict[str, str] = {}
        explicit_outputs = {entry.output_name for entry in selection if entry.output is not None}
        for entry in selection:
            output = self.output_for(entry)
            key = (entry.name, output)
            if key in seen_entries:
                raise ValueError(f"{where}: {entry.name!r} is selected twice")
            seen_entries.add(key)
            if (
                entry.output is None
                and output != entry.name
                and (output in {e.name for e in selection if e.output is None} or output in explicit_outputs)
            ):
                raise ValueError(
                    f"{where}: rename_everywhere turns {entry.name!r} into {output!r}, which this event "
                    f"already writes; give {entry.name!r} an explicit 'as' name here"
                )
            folded = output.casefold()
            if folded in spelled and spelled[folded] != output:
                raise ValueError(
                    f"{where}: output names {spelled[folded]!r} and {output!r} differ only in case; "
                    "many warehouses would treat them as one column"
                )
            spelled[folded] = output

    def selection_for(self, event_name: str | None) -> SelectAll | tuple[Renamed, ...]:
        if event_name is not None and event_name in self.per_event:
            return self.per_event[event_name]
        return self.default

    def output_for(self, entry: Renamed) -> str:
        """An explicit ``as`` wins; otherwise a ``rename_everywhere`` rule; otherwise the name itself."""
        if entry.output is not None:
            return entry.output
        return self.rename_everywhere.get(entry.name, entry.name)

    def needs_discovery(self, events: EventsSpec) -> bool:
        """Whether the window's data must be scanned to know which events and properties it has.

        Without a list of event names (``all``, globs, categories) the events themselves are
        data: each gets its own columns, so they are found by the scan even when no event
        exports ``all`` of its properties.
        """
        listed = events.listed_names
        if listed is None:
            return True
        return any(self.selection_for(name) == "all" for name in listed)


FieldList = Annotated[SelectAll | tuple[str, ...], BeforeValidator(_all_or_list)]
ProfileList = Annotated[SelectAll | tuple[Renamed, ...], BeforeValidator(_all_or_list)]


class FieldsSpec(SpecModel):
    """The record's content; see docs/spec-reference.md#fields."""

    identifiers: IdentifiersSpec = IdentifiersSpec()
    event_time: EventTimeSpec = EventTimeSpec()
    profile: ProfileList = "all"
    device: FieldList = "all"
    comm_prefs: FieldList = "all"
    events: EventsSpec = EventsSpec()
    properties: PropertiesSpec = PropertiesSpec()
    schema_evolution: Literal["append", "lock"] = "append"

    @field_validator("profile")
    @classmethod
    def _profile_limit(cls, profile: SelectAll | tuple[Renamed, ...]) -> SelectAll | tuple[Renamed, ...]:
        if profile == "all":
            return profile
        if len(profile) > MAX_PROFILE_PROPERTIES:
            raise ValueError(
                f"{len(profile)} profile properties selected; at most {MAX_PROFILE_PROPERTIES} are allowed"
            )
        _reject_duplicate_outputs(profile, "profile")
        return profile

    @field_validator("device")
    @classmethod
    def _known_device_fields(cls, device: SelectAll | tuple[str, ...]) -> SelectAll | tuple[str, ...]:
        return _known_members(device, DEVICE_FIELDS, "device attribute")

    @field_validator("comm_prefs")
    @classmethod
    def _known_preferences(cls, prefs: SelectAll | tuple[str, ...]) -> SelectAll | tuple[str, ...]:
        return _known_members(prefs, COMM_PREF_FIELDS, "communication preference")


def _known_members(
    selected: SelectAll | tuple[str, ...], known: Sequence[str], what: str
) -> SelectAll | tuple[str, ...]:
    if selected == "all":
        return selected
    for name in selected:
        if name not in known:
            raise ValueError(f"{name!r} is not a {what}; known: {', '.join(known)}")
    duplicates = sorted({name for name in selected if selected.count(name) > 1})
    if duplicates:
        raise ValueError(f"{', '.join(duplicates)} listed more than once")
    return selected


def _reject_duplicate_outputs(selection: Sequence[Renamed], where: str) -> None:
    outputs = Counter(entry.output_name for entry in selection)
    clashes = sorted(name for name, count in outputs.items() if count > 1)
    if clashes:
        raise ValueError(f"{where}: output name {', '.join(map(repr, clashes))} is used more than once")
