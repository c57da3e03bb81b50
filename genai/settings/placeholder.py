"""The base of settings sections whose feature has not landed yet.

Such a section has no fields and, like every section, refuses any value it does not declare, so that
``auth: {enabled: true}`` in genai.yaml or ``GENAI_AUTH__ENABLED=true`` fails loudly at start instead of
being silently ignored while the user believes the feature is on.
"""

from __future__ import annotations

from genai.settings.section import SettingsSection


class PlaceholderSection(SettingsSection):
    """A section reserved for a coming feature: it accepts no values until its fields exist."""
