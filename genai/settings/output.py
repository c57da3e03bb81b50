"""Settings of the gateway's output policies: the content filter and PII redaction on answers
(``output_filter``) and the validation of ``response_format`` answers (``response_format``).

``Settings.output`` is every tenant's default; ``tenants.NAME.output`` replaces it whole for one tenant.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from genai.settings.section import SettingsSection


class OutputSettings(SettingsSection):
    """What the output policies do with one tenant's answers."""

    deny_terms: list[str] = Field(
        default_factory=list, description="Words or phrases an answer may not contain (case-insensitive)."
    )
    deny_patterns: list[str] = Field(default_factory=list, description="Regular expressions, likewise.")
    deny_action: Literal["block", "mask"] = Field(
        "mask", description="On a denied term: replace it with ***, or withhold the answer."
    )
    pii: Literal["allow", "redact"] = Field(
        "allow", description="Replace personal data and secrets in answers with placeholders such as [EMAIL]."
    )
    json_retries: int = Field(
        1,
        ge=0,
        le=3,
        description="Retries, with the validation error, of an answer that breaks response_format.",
    )

    @field_validator("deny_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"deny pattern {pattern!r} is not a regular expression: {error}") from None
        return patterns
