"""``AliasMove``: what a promotion, a rollback or an operator's alias change did to a model's aliases,
as ``ModelRegistry`` returns it and the CLI and the promotion flow report it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from registry.refs import ALIASES


@dataclass(frozen=True, slots=True)
class AliasMove:
    """What a promotion, a rollback or an operator's alias change did: the aliases before and after."""

    name: str
    action: Literal["promote", "rollback", "set", "delete"]
    before: Mapping[str, int] = field(default_factory=dict)
    after: Mapping[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return dict(self.before) != dict(self.after)

    def moves(self) -> dict[str, tuple[int | None, int | None]]:
        """alias -> (version before, version after), for the aliases that moved."""
        keys = sorted(set(self.before) | set(self.after), key=alias_order)
        return {
            k: (self.before.get(k), self.after.get(k))
            for k in keys
            if self.before.get(k) != self.after.get(k)
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "before": dict(self.before),
            "after": dict(self.after),
            "changed": self.changed,
        }


def alias_order(alias: str) -> int:
    """Sort key: champion, challenger, previous-champion, then anything else."""
    return ALIASES.index(alias) if alias in ALIASES else len(ALIASES)
