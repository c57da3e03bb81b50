"""Secrets by pattern: the shapes of well-known credentials, private key blocks, JWTs and ``password=``
style assignments (only the assigned value is the finding); ``entropy.py`` adds random-looking tokens
no pattern names."""

from __future__ import annotations

import re

from genai.guards.entropy import find_random_tokens
from genai.guards.findings import Finding
from genai.guards.windows import Span, finditer, lowered, merged, to_space, word_windows

_KNOWN = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:"
    r"sk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{20,}"  # OpenAI, Anthropic style
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API keys
    r"|gk_[A-Za-z0-9_\-]{20,}"  # this platform's own gateway keys
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # JWT
    r")"
)
_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)"
)
_ASSIGNMENT = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?:password|passwd|pwd|passphrase|secret(?:[_\-]?key)?|client[_\-]?secret|"
    r"api[_\-]?key|apikey|access[_\-]?key(?:[_\-]?id)?|auth[_\-]?token|access[_\-]?token|token|"
    r"private[_\-]?key)[\"']?\s*(?::=|=|:)\s*[\"']?([^\s\"'`,;]{6,})"
)
# "my password is X": a value only when it looks like one (letters and a digit or a symbol).
_SAID = re.compile(
    r"(?i)\b(?:password|passcode|passphrase|pwd|api\s+key|secret\s+key|access\s+token)\s+(?:is|was)\s+"
    r"[\"'`]?((?=[^\s\"'`]*[A-Za-z])(?=[^\s\"'`]*[0-9!$%&*#@?^])[^\s\"'`]{6,})"
)
# The password of a URL's credentials: scheme://user:PASSWORD@host.
_URL_PASSWORD = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@]{1,64}:([^\s/@]{3,128})@")
# Values that are not a secret: a placeholder, a variable, a call, a masked value.
_PLACEHOLDER = re.compile(
    r"(?i)(?:[<$%{*\[(]|x{3,}|\.{3}|your|changeme|example|redacted|dummy|placeholder|none\b|null\b|true\b|"
    r"false\b|os\.|env\b|environ|getenv|process\.|settings\.|config\.|self\.|request\.|args\.)"
)


# What the known shapes start with: the full pattern runs only on a text that has one of these.
_KNOWN_PREFIX = re.compile(
    r"sk[-_]|rk_|A(?:KIA|SIA|GPA|IDA|ROA|Iza)|gh[pousr]_|github_pat_|glpat-|xox|gk_|hf_|eyJ"
)
_ASSIGNMENT_WORDS = ("pass", "pwd", "secret", "api", "key", "token")
_SAID_WORDS = ("pass", "pwd", "api key", "secret key", "access token")
# An assignment's name runs on to its separator: "tokenizer" in prose is no ``token=``.
_SEPARATOR_AFTER = re.compile(r"[A-Za-z0-9_\-]*[\"']?\s*(?::=|=|:)")


def _assignment_windows(text: str, lower: str) -> list[Span]:
    spans = []
    for word in _ASSIGNMENT_WORDS:
        at = lower.find(word)
        while at != -1:
            if _SEPARATOR_AFTER.match(text, at):
                spans.append((max(0, at - 32), to_space(text, at + 200)))
            at = lower.find(word, at + 1)
    return merged(spans)


def find_secrets(text: str) -> list[Finding]:
    found: list[Finding] = []
    if _KNOWN_PREFIX.search(text):
        found.extend(Finding("secret", m.start(), m.end()) for m in _KNOWN.finditer(text))
    if "-----BEGIN" in text:
        found.extend(Finding("secret", m.start(), m.end()) for m in _PEM.finditer(text))
    lower = lowered(text)
    whole = [(0, len(text))]
    near = whole if lower is None else _assignment_windows(text, lower)
    for m in finditer(_ASSIGNMENT, text, near):
        value = m.group(1)
        if _PLACEHOLDER.match(value) or "(" in value or re.fullmatch(r"(.)\1*", value):
            continue
        found.append(Finding("secret", m.start(1), m.end(1)))
    said = whole if lower is None else word_windows(text, lower, _SAID_WORDS, 2, 200)
    for m in finditer(_SAID, text, said):
        value = m.group(1).rstrip(".,;:!?)")
        found.append(Finding("secret", m.start(1), m.start(1) + len(value)))
    if "://" in text:
        found.extend(Finding("secret", m.start(1), m.end(1)) for m in _URL_PASSWORD.finditer(text))
    found.extend(find_random_tokens(text))
    return found
