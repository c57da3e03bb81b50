"""Settings of orchestration: the Prefect server that runs the flows."""

from __future__ import annotations

from pydantic import Field

from genai.settings.section import SettingsSection


class PrefectSettings(SettingsSection):
    """The Prefect server `genai up` runs, or the shared one named by ``api_url``."""

    api_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(4200, ge=1, le=65535)
