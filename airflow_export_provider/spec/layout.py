"""The ``layout:`` section: folders and file names, as templates of window variables."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from airflow_export_provider.engine.keys import FOLDER_PRESETS, parse_template
from airflow_export_provider.spec.base import SpecModel


class LayoutSpec(SpecModel):
    """Where objects go: folder structure and file names, as templates of window variables."""

    folders: tuple[Literal["data_type", "date", "export_id", "event_name"], ...] | None = None
    folder_template: str | None = None
    file_template: str | None = None

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
        return self

    @property
    def resolved_folder_template(self) -> str:
        if self.folder_template is not None:
            return self.folder_template
        presets = self.folders if self.folders is not None else ("data_type", "date")
        return "/".join(FOLDER_PRESETS[preset] for preset in presets)
