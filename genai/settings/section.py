"""The base of every settings section: a misspelt or unknown field is an error, never silently ignored.

``Settings`` itself refuses unknown top-level names; pydantic's nested models would otherwise drop an
unknown ``chunking.chunk_token`` (or ``GENAI_CHUNKING__CHUNK_TOKEN``) without a word and run on the default.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SettingsSection(BaseModel):
    """A section of ``Settings`` (or a part of one): it accepts only the fields it declares."""

    model_config = ConfigDict(extra="forbid")
