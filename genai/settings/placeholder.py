"""The base of settings sections whose feature has not landed yet.

Such a section has no fields and refuses any value, so that ``auth: {enabled: true}`` in genai.yaml or
``GENAI_AUTH__ENABLED=true`` fails loudly at start instead of being silently ignored while the user
believes the feature is on.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PlaceholderSection(BaseModel):
    """A section reserved for a coming feature: it accepts no values until its fields exist."""

    model_config = ConfigDict(extra="forbid")
