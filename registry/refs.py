"""Model references: how a client, a flow or the CLI names a registered model version.

``NAME`` means ``NAME@champion``; ``NAME@challenger`` (or ``@previous-champion``) picks an alias;
``NAME/3`` picks version 3. Registered names are letters, digits, ``.``, ``_`` and ``-``, so the ``@`` and
the ``/`` are never part of a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from registry.errors import InvalidModelRefError

Alias = Literal["champion", "challenger", "previous-champion"]
ALIASES: tuple[Alias, ...] = ("champion", "challenger", "previous-champion")
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_REF = re.compile(rf"^(?P<name>{NAME_PATTERN})(?:@(?P<alias>[A-Za-z0-9_-]+)|/(?P<version>[0-9]{{1,9}}))?$")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed reference: exactly one of ``alias`` and ``version`` is set (a bare name is the champion)."""

    name: str
    alias: Alias | None = "champion"
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.name}/{self.version}" if self.version is not None else f"{self.name}@{self.alias}"

    @property
    def explicit(self) -> bool:
        """Whether the reference pins a version or names an alias other than the default champion."""
        return self.version is not None or self.alias != "champion"


def parse_ref(text: str) -> ModelRef:
    """``text`` as a ``ModelRef``; ``InvalidModelRefError`` says what is wrong with it."""
    match = _REF.match(text)
    if match is None:
        raise InvalidModelRefError(
            f"{text!r} is not a model reference: use NAME, NAME@ALIAS ({', '.join(ALIASES)}) or NAME/VERSION"
        )
    if match["version"] is not None:
        version = int(match["version"])
        if version < 1:
            raise InvalidModelRefError(f"{text!r}: versions start at 1")
        return ModelRef(match["name"], None, version)
    alias = match["alias"] or "champion"
    if alias not in ALIASES:
        raise InvalidModelRefError(f"{text!r}: unknown alias {alias!r}; the aliases are {', '.join(ALIASES)}")
    return ModelRef(match["name"], alias)


def is_model_name(text: str) -> bool:
    return re.fullmatch(NAME_PATTERN, text) is not None
