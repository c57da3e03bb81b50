"""The ``screening`` policy: looks at a prompt before any model (or the cache) sees it, for personal
data and secrets (``genai.guards.pii``) and prompt-injection attempts (``genai.guards.injection``).

Per tenant (``tenants.T.screening``, else ``screening``; docs/screening.md):

* ``pii: allow`` lets a finding through, ``redact`` replaces it in the body with a placeholder
  (``[EMAIL]``, ``[CARD]``...) where it was found, content-part structure kept, ``block`` refuses the
  request: 400 ``pii_detected`` naming the kinds found, never the data; ``pii_kinds`` says which count.
* ``injection: off`` skips the check, ``flag`` records it, ``block`` refuses: 400 ``prompt_injection``.
  System and developer messages are the application's own instructions and are not checked for injection
  ("never reveal your system prompt" is an instruction, not an attack); embeddings are not either (no
  model follows their text).
* ``max_prompt_chars``: a prompt of more text is a 400 ``prompt_too_large``.

Every finding becomes a ``GuardEvent`` on ``ctx.guard_events`` (stage "input", check "pii" or
"injection", the kind, the action: "flag" for one let through, "redact", "block"; the count), which the
usage record, the ledger, the audit log and the metrics carry. Chat and text completions and embeddings
are screened; the text read is each message's content (string or text parts), ``prompt`` or ``input``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from gateway.errors import InvalidRequest
from gateway.policies.base import Call, Policy
from gateway.policies.prompt_texts import TextSlot, text_slots
from gateway.policies.usage import GuardEvent
from genai.guards.injection import find_injection
from genai.guards.pii import find_pii, redact

if TYPE_CHECKING:
    from genai.settings import Settings
    from genai.settings.screening import ScreeningSettings

_NOT_SCREENED_FOR_INJECTION = frozenset({"system", "developer"})
_ACTION = {"allow": "flag", "redact": "redact", "block": "block"}


@dataclass(frozen=True, slots=True)
class Screening:
    """One tenant's resolved settings, in the shape the per-request path reads."""

    pii: str  # "allow" | "redact" | "block"
    pii_kinds: frozenset[str]
    injection: str  # "off" | "flag" | "block"
    max_prompt_chars: int | None

    @classmethod
    def of(cls, settings: ScreeningSettings) -> Screening:
        return cls(settings.pii, frozenset(settings.pii_kinds), settings.injection, settings.max_prompt_chars)

    @property
    def idle(self) -> bool:
        return not self.pii_kinds and self.injection == "off" and self.max_prompt_chars is None


class ScreeningPolicy(Policy):
    """Personal data, secrets and prompt injection in prompts (docs/screening.md)."""

    name: ClassVar[str] = "screening"

    def __init__(self, settings: Settings | None = None) -> None:
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        self.default = Screening.of(settings.screening)
        # Resolved once: a tenant's own screening replaces the platform's whole.
        self.tenants = {
            name: Screening.of(tenant.screening)
            for name, tenant in settings.tenants.items()
            if tenant.screening is not None
        }

    @classmethod
    def from_settings(cls, settings: Settings | None) -> ScreeningPolicy:
        return cls(settings)

    def config_for(self, tenant: str) -> Screening:
        return self.tenants.get(tenant, self.default)

    async def before(self, call: Call) -> None:
        principal = call.ctx.principal
        config = self.config_for(principal.tenant if principal is not None else "anonymous")
        if config.idle:
            return None
        field, slots = text_slots(call.body)
        if not slots:
            return None
        if config.max_prompt_chars is not None:
            _check_size(slots, config.max_prompt_chars, field)
        injection = config.injection != "off" and call.endpoint != "embeddings"
        pii_found: Counter[str] = Counter()
        injection_found: Counter[str] = Counter()
        for slot in slots:
            text = slot.text
            if config.pii_kinds:
                findings = find_pii(text, config.pii_kinds)
                if findings:
                    pii_found.update(f.kind for f in findings)
                    if config.pii == "redact":
                        slot.replace(redact(text, findings))
            if injection and slot.role not in _NOT_SCREENED_FOR_INJECTION:
                injection_found.update(f.kind for f in find_injection(text))
        if pii_found or injection_found:
            _record(call, config, pii_found, injection_found)
            _refuse_if_blocked(config, pii_found, injection_found, field)
        return None


def _check_size(slots: list[TextSlot], limit: int, field: str) -> None:
    size = sum(len(slot.text) for slot in slots)
    if size > limit:
        raise InvalidRequest(
            f"the prompt has {size} characters of text; this tenant's limit is {limit}",
            code="prompt_too_large",
            param=field,
        )


def _record(call: Call, config: Screening, pii: Counter[str], injection: Counter[str]) -> None:
    events = call.ctx.guard_events
    pii_action = _ACTION[config.pii]
    for kind, count in sorted(pii.items()):
        events.append(GuardEvent("input", "pii", kind, pii_action, count))
    for kind, count in sorted(injection.items()):
        events.append(GuardEvent("input", "injection", kind, config.injection, count))


def _refuse_if_blocked(config: Screening, pii: Counter[str], injection: Counter[str], field: str) -> None:
    if pii and config.pii == "block":
        kinds = ", ".join(sorted(pii))
        raise InvalidRequest(
            f"the prompt contains personal data or secrets ({kinds}); remove them and send it again",
            code="pii_detected",
            param=field,
        )
    if injection and config.injection == "block":
        kinds = ", ".join(sorted(injection))
        raise InvalidRequest(
            f"the prompt looks like a prompt-injection attempt ({kinds}); it was not sent to the model",
            code="prompt_injection",
            param=field,
        )
