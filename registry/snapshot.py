"""A point-in-time view of the whole registry: every model, its versions with their specs, its aliases.

The gateway holds one ``RegistrySnapshot`` and swaps in a new one each time it polls the registry, so a
request resolves its model against one consistent view with no call to MLflow on the request path. A
snapshot is plain data: building one needs MLflow (``registry.client.ModelRegistry.snapshot``), reading
one does not.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from registry.errors import UnknownAliasError, UnknownModelError, UnknownVersionError
from registry.refs import ModelRef
from registry.spec import ModelSpec


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One registered version: its spec, the aliases that point at it, and its tags (eval results, gate
    decisions)."""

    name: str
    version: int
    spec: ModelSpec
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    created_ms: int = 0

    @property
    def ref(self) -> str:
        """``NAME/N``: the reference that pins this version."""
        return f"{self.name}/{self.version}"


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A registered model: its versions by number and its aliases (alias -> version)."""

    name: str
    versions: Mapping[int, VersionEntry]
    aliases: Mapping[str, int]
    description: str = ""

    def resolve(self, ref: ModelRef) -> VersionEntry:
        if ref.version is not None:
            entry = self.versions.get(ref.version)
            if entry is None:
                known = ", ".join(str(v) for v in sorted(self.versions)) or "none"
                raise UnknownVersionError(
                    f"model {self.name!r} has no version {ref.version} (versions: {known})"
                )
            return entry
        assert ref.alias is not None
        number = self.aliases.get(ref.alias)
        if number is None or number not in self.versions:
            set_aliases = ", ".join(f"{a}={v}" for a, v in sorted(self.aliases.items())) or "none"
            raise UnknownAliasError(f"model {self.name!r} has no {ref.alias} (aliases set: {set_aliases})")
        return self.versions[number]


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """Every registered model at ``taken_at`` (``time.time()``)."""

    models: Mapping[str, RegisteredModel]
    taken_at: float = field(default_factory=time.time)

    @classmethod
    def empty(cls) -> RegistrySnapshot:
        return cls(MappingProxyType({}))

    def resolve(self, ref: ModelRef) -> VersionEntry:
        """The version ``ref`` names; ``UnknownModelError`` / ``UnknownVersionError`` /
        ``UnknownAliasError`` otherwise."""
        model = self.models.get(ref.name)
        if model is None:
            known = ", ".join(sorted(self.models)) or "none registered"
            raise UnknownModelError(f"no registered model {ref.name!r} (known: {known})")
        return model.resolve(ref)

    def __contains__(self, name: object) -> bool:
        return name in self.models
