"""The sample knowledge base: the platform's own documentation, written out as markdown files.

It is built from what ships with the code, so it exists on any machine: every module's docstring, grouped
by package into one document each, plus the README and docs/ pages when run from a checkout.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
from pathlib import Path

PACKAGES = ("genai", "flows", "tasks", "registry", "gateway")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _module_docs(package_dir: Path, package: str) -> list[tuple[str, str]]:
    docs = []
    for file in sorted(package_dir.rglob("*.py")):
        if "migrations" in file.parts:
            continue
        docstring = ast.get_docstring(ast.parse(file.read_text(encoding="utf-8")))
        if docstring:
            module = ".".join((package, *file.relative_to(package_dir).with_suffix("").parts))
            docs.append((module.removesuffix(".__init__"), docstring))
    return docs


def write_sample_corpus(target: Path, checkout: Path | None = None) -> list[Path]:
    """Write the sample corpus into ``target`` (replacing what is there); returns the files written."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    written = []
    for package in PACKAGES:
        package_dir = _package_dir(package)
        if package_dir is None:
            continue
        sections = [f"## {module}\n\n{doc}\n" for module, doc in _module_docs(package_dir, package)]
        if sections:
            page = target / f"modules-{package}.md"
            page.write_text(f"# The {package} package\n\n" + "\n".join(sections), encoding="utf-8")
            written.append(page)
    if checkout is not None:
        for page in [checkout / "README.md", *sorted((checkout / "docs").rglob("*.md"))]:
            if page.is_file():
                destination = target / page.relative_to(checkout)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(page, destination)
                written.append(destination)
    return written
