"""Settings of the gateway's input screening (the ``screening`` policy): what personal data and secrets
it looks for in a prompt, what it does on a hit, and how it treats prompt-injection attempts.

``Settings.screening`` is every tenant's default; ``tenants.NAME.screening`` replaces it whole for one
tenant (a tenant that lists only ``pii: block`` gets the other fields' defaults, not the platform's).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from genai.settings.section import SettingsSection

PiiKind = Literal["email", "phone", "card", "iban", "national_id", "secret"]
PII_KINDS: tuple[PiiKind, ...] = ("email", "phone", "card", "iban", "national_id", "secret")


class ScreeningSettings(SettingsSection):
    """What the ``screening`` policy does with one tenant's prompts."""

    pii: Literal["allow", "redact", "block"] = Field(
        "redact",
        description="On personal data or a secret in a prompt: let it through, replace it with a "
        "placeholder such as [EMAIL] before the model sees it, or refuse the request (400 naming the kind).",
    )
    pii_kinds: list[PiiKind] = Field(default_factory=lambda: list(PII_KINDS), description="What counts.")
    injection: Literal["off", "flag", "block"] = Field(
        "flag",
        description="On a prompt-injection pattern: do nothing, record a guard event, or refuse (400).",
    )
    max_prompt_chars: int | None = Field(
        None,
        ge=1,
        description="Most characters of text one request's prompt may carry, all messages, parts, prompts "
        "or inputs together (400 prompt_too_large above it); None: only the gateway's body limits apply.",
    )

    @field_validator("injection", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `off` as false: `injection: off` means what it says.
        return "off" if value is False else value
