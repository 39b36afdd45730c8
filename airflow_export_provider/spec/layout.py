"""The ``layout:`` section: folders and file names, as templates of window variables, or a preset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from airflow_export_provider.engine.keys import (
    FOLDER_PRESETS,
    EventNameStyle,
    FileIndexStyle,
    Split,
    parse_template,
)
from airflow_export_provider.spec.base import SpecModel

Preset = Literal["clevertap", "amplitude", "adapty", "hive"]


@dataclass(frozen=True)
class ResolvedLayout:
    """Every naming decision of an export, presets applied (see docs/object-layout.md)."""

    folder_template: str
    file_template: str | None
    split: Split
    event_names: EventNameStyle
    file_index: FileIndexStyle
    extension: str | None  # None: the format's own (``csv``, ``jsonl``, …)


def preset_layout(preset: Preset, every_hours: int) -> ResolvedLayout:
    """What each preset writes; the products' documented names are reproduced byte for byte."""
    if preset == "clevertap":
        # <event with hyphens>-<date>-<account>-<export>-<timestamp>-<instance>-<index from 0>
        return ResolvedLayout("events/{date}", None, "event", "hyphenated", FileIndexStyle(0, 0), None)
    if preset == "amplitude":
        # <project id>_<date>_<hour>#<n from 1>.json.gz, every event of the hour in one series
        template = "{account_id}_{date}_{hour}#{file_index}"
        return ResolvedLayout("", template, "window", "encoded", FileIndexStyle(1, 0), "json")
    if preset == "adapty":
        # one CSV series per day with every event, in the destination's folder (prefix)
        return ResolvedLayout("", "{date}-{file_index}", "window", "encoded", FileIndexStyle(0, 0), None)
    hour = "hour={HH}/" if every_hours < 24 else ""
    folders = f"date={{date}}/{hour}event_name={{event_name}}"
    return ResolvedLayout(folders, None, "event", "encoded", FileIndexStyle(), None)


class FileIndexSpec(SpecModel):
    """How ``{file_index}`` is written: ``start`` 0 or 1, zero-padded to ``digits`` (0: no padding)."""

    start: Literal[0, 1] = 0
    digits: int = Field(default=4, ge=0, le=8)


class LayoutSpec(SpecModel):
    """Where objects go: folder structure and file names, as templates of window variables."""

    preset: Preset | None = None
    folders: tuple[Literal["data_type", "date", "export_id", "event_name"], ...] | None = None
    folder_template: str | None = None
    file_template: str | None = None
    split: Literal["event", "window"] | None = None
    event_names: Literal["encoded", "hyphenated"] | None = None
    file_index: FileIndexSpec | None = None
    extension: Literal["json", "jsonl"] | None = None

    @field_validator("folder_template")
    @classmethod
    def _folder_template_is_valid(cls, template: str | None) -> str | None:
        if template is not None:
            parse_template(template, allow_folders=True)
        return template

    @field_validator("file_template")
    @classmethod
    def _file_template_is_valid(cls, template: str | None) -> str | None:
        if template is not None:
            if not template.strip():
                raise ValueError("file_template is empty; remove it to use the default file names")
            parse_template(template, allow_folders=False)
        return template

    @model_validator(mode="after")
    def _one_folder_style(self) -> LayoutSpec:
        if self.folders is not None and self.folder_template is not None:
            raise ValueError("give either folders (presets) or folder_template, not both")
        if self.preset is not None:
            chosen = [
                name
                for name in ("folders", "folder_template", "file_template", "split", "event_names",
                             "file_index", "extension")
                if getattr(self, name) is not None
            ]  # fmt: skip
            if chosen:
                raise ValueError(
                    f"preset {self.preset!r} decides {', '.join(chosen)}; remove "
                    f"{'it' if len(chosen) == 1 else 'them'} or drop the preset and write the layout out "
                    "(docs/object-layout.md shows each preset's keys)"
                )
        return self

    def resolved(self, every_hours: int) -> ResolvedLayout:
        """The layout to write with, for an export whose windows are ``every_hours`` long."""
        if self.preset is not None:
            return preset_layout(self.preset, every_hours)
        if self.folder_template is not None:
            folders = self.folder_template
        else:
            presets = self.folders if self.folders is not None else ("data_type", "date")
            folders = "/".join(FOLDER_PRESETS[preset] for preset in presets)
        index = self.file_index or FileIndexSpec()
        return ResolvedLayout(
            folders,
            self.file_template,
            self.split or "event",
            self.event_names or "encoded",
            FileIndexStyle(index.start, index.digits),
            self.extension,
        )
