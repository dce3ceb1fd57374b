"""The base of every settings model: an unknown key is an error, and a section left empty takes its defaults."""

from __future__ import annotations

from typing import get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _empty_section(cls, value: object, info: ValidationInfo) -> object:
        """`papers:` with nothing under it is YAML null: a section left empty takes all its defaults."""
        if info.field_name is None:  # pydantic names the field for every field validator
            return value
        kind = cls.model_fields[info.field_name].annotation
        is_section = get_origin(kind) is dict or (isinstance(kind, type) and issubclass(kind, BaseModel))
        return {} if value is None and is_section else value
