"""Settings of the gateway's output policies: the content filter and PII redaction on answers
(``output_filter``) and the validation of ``response_format`` answers (``response_format``).

``Settings.output`` is every tenant's default; ``tenants.NAME.output`` replaces it whole for one tenant.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from genai.settings.screening import PII_KINDS, PiiKind
from genai.settings.section import SettingsSection


class OutputSettings(SettingsSection):
    """What the output policies do with one tenant's answers."""

    deny_terms: list[str] = Field(
        default_factory=list, description="Words or phrases an answer may not contain (case-insensitive)."
    )
    deny_patterns: list[str] = Field(
        default_factory=list,
        description="Regular expressions an answer may not match, as written (case-sensitive unless the "
        "pattern says (?i)).",
    )
    deny_action: Literal["block", "mask"] = Field(
        "mask", description="On a denied term: replace it with ***, or withhold the answer."
    )
    pii: Literal["allow", "redact"] = Field(
        "allow", description="Replace personal data and secrets in answers with placeholders such as [EMAIL]."
    )
    pii_kinds: list[PiiKind] = Field(default_factory=lambda: list(PII_KINDS), description="What counts.")
    stream_holdback_chars: int = Field(
        256,
        ge=16,
        le=4096,
        description="Streams: the text held back so that a match across chunks is caught; a deny pattern "
        "or a piece of personal data longer than this may slip through a stream (not a JSON answer).",
    )
    json_retries: int = Field(
        1,
        ge=0,
        le=3,
        description="Retries, with the validation error, of an answer that breaks response_format.",
    )

    @field_validator("deny_terms")
    @classmethod
    def _terms_not_blank(cls, terms: list[str]) -> list[str]:
        stripped = [term.strip() for term in terms]
        if any(not term for term in stripped):
            raise ValueError("a deny term may not be empty")
        return stripped

    @field_validator("deny_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"deny pattern {pattern!r} is not a regular expression: {error}") from None
            if re.fullmatch(pattern, ""):
                raise ValueError(f"deny pattern {pattern!r} matches the empty text")
        return patterns
