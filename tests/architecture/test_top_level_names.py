"""The wheel installs the top-level packages genai, flows, tasks, registry and gateway. Names that short
clash easily, so none of the distributions installed with the platform may ship one of them too (pip would
let the later install overwrite the other's files without a word)."""

from __future__ import annotations

import importlib.metadata as metadata

OUR_TOP_LEVEL = {"genai", "flows", "tasks", "registry", "gateway"}
OUR_DISTRIBUTION = "genai-platform"


def _top_level_names(distribution: metadata.Distribution) -> set[str]:
    names = set((distribution.read_text("top_level.txt") or "").split())
    for file in distribution.files or []:
        first = file.parts[0] if file.parts else ""
        if first in ("..", "") or first.endswith((".dist-info", ".egg-info", ".data", ".pth")):
            continue
        names.add(first.removesuffix(".py") if len(file.parts) == 1 else first)
    return names


def test_our_distribution_ships_the_five_top_level_packages() -> None:
    shipped = _top_level_names(metadata.distribution(OUR_DISTRIBUTION))
    assert shipped >= OUR_TOP_LEVEL


def test_no_dependency_ships_one_of_our_top_level_names() -> None:
    clashes = {
        f"{distribution.metadata['Name']}: {name}"
        for distribution in metadata.distributions()
        if distribution.metadata["Name"] != OUR_DISTRIBUTION
        for name in _top_level_names(distribution) & OUR_TOP_LEVEL
    }
    assert clashes == set()
