"""Discovery: walk a source folder and list the files to ingest as ``SourceFile`` records.

Files and folders behind symlinks are followed. Anything that cannot be walked to or stat'ed (a symlink
loop, a dangling link, a folder that cannot be read) becomes a record whose ``error`` says why, so the
quality suite can quarantine it instead of the file vanishing from the knowledge base unnoticed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path

from genai.ingest.records import DocumentType, SourceFile

_TYPES: dict[str, DocumentType] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
_MAX_LINK_HOPS = 40  # what Linux allows before ELOOP


def document_type(name: str) -> DocumentType:
    """The document type a file name's extension says, 'unknown' when none of ours."""
    return _TYPES.get(os.path.splitext(name)[1].lower(), "unknown")


def _split(pattern_or_path: str) -> tuple[str, ...]:
    return tuple(part for part in pattern_or_path.lower().split("/") if part)


def _match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """Glob match, segment by segment: '**' spans zero or more folders, a final '**' one or more."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        if not rest:
            return bool(parts)
        return any(_match(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _match(rest, parts[1:])


@dataclass(frozen=True)
class _Filter:
    include: list[tuple[str, ...]]
    exclude: list[tuple[str, ...]]

    @classmethod
    def of(cls, include: Sequence[str], exclude: Sequence[str]) -> _Filter:
        return cls([_split(p) for p in include], [_split(p) for p in exclude])

    def excluded(self, rel: str) -> bool:
        parts = _split(rel)
        return any(_match(pattern, parts) for pattern in self.exclude)

    def wanted(self, rel: str) -> bool:
        parts = _split(rel)
        return any(_match(p, parts) for p in self.include) and not self.excluded(rel)

    def prunes(self, rel_dir: str) -> bool:
        """Whether every path under the folder is excluded, so the walk need not enter it."""
        parts = _split(rel_dir)
        return any(p and p[-1] == "**" and _match(p[:-1], parts) for p in self.exclude)


@dataclass(frozen=True)
class _Dir:
    path: Path
    rel: str
    ancestors: dict[tuple[int, int], str]  # (st_dev, st_ino) of each folder above, to spot loops


def _display(path: str, root: Path) -> str:
    rel = os.path.relpath(path, root)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _link_chain(path: Path, root: Path) -> str:
    """'a -> b -> a': the hops of a symlink chain, as far as they can be read."""
    hops = [os.path.normpath(path)]
    for _ in range(_MAX_LINK_HOPS):
        try:
            target = os.readlink(hops[-1])
        except OSError:
            break
        nxt = os.path.normpath(os.path.join(os.path.dirname(hops[-1]), target))
        hops.append(nxt)
        if nxt in hops[:-1]:
            break
    return " -> ".join(_display(hop, root) for hop in hops)


def _stat_error(path: Path, rel: str, root: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"symlink loop: {_link_chain(path, root)}"
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        return f"dangling symlink: {_link_chain(path, root)} (the target does not exist)"
    if isinstance(exc, PermissionError):
        return f"permission denied reading the metadata of {rel}"
    return f"cannot stat {rel}: {exc.strerror or exc}"


def _error_record(path: Path, rel: str, reason: str) -> SourceFile:
    return SourceFile(
        doc_id=rel, path=str(path), source=rel, type=document_type(path.name), size_bytes=0, error=reason
    )


def _file_record(path: Path, rel: str, st: os.stat_result) -> SourceFile:
    error = None
    if not stat.S_ISREG(st.st_mode):
        error = f"not a regular file: {rel} is a {_kind(st.st_mode)}"
    return SourceFile(
        doc_id=rel,
        path=str(path),
        source=rel,
        type=document_type(path.name),
        size_bytes=st.st_size if error is None else 0,
        modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        error=error,
    )


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "named pipe"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return "special file"


def _read_dir(folder: _Dir, root: Path) -> list[os.DirEntry[str]] | str:
    """The folder's entries, or why they could not be listed."""
    shown = folder.rel or "."
    try:
        with os.scandir(folder.path) as entries:
            return list(entries)
    except PermissionError:
        return f"permission denied reading directory {shown}"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"symlink loop: {_link_chain(folder.path, root)}"
        return f"cannot read directory {shown}: {exc.strerror or exc}"


def _visit(entry: os.DirEntry[str], folder: _Dir, root: Path, rules: _Filter) -> SourceFile | _Dir | None:
    """What one folder entry adds to the walk: a record, a folder to enter, or nothing."""
    rel = f"{folder.rel}/{entry.name}" if folder.rel else entry.name
    path = folder.path / entry.name
    try:
        is_link = entry.is_symlink()
        is_dir = entry.is_dir(follow_symlinks=False)
    except OSError as exc:
        return None if rules.excluded(rel) else _error_record(path, rel, _stat_error(path, rel, root, exc))
    if not is_link and not is_dir and not rules.wanted(rel):
        return None  # skipped before the stat: big trees hold many files we never read
    try:
        st = os.stat(path)
    except OSError as exc:
        # A broken entry's kind is unknown, so it is reported unless excluded, whatever include says.
        return None if rules.excluded(rel) else _error_record(path, rel, _stat_error(path, rel, root, exc))
    if stat.S_ISDIR(st.st_mode):
        if rules.prunes(rel):
            return None
        key = (st.st_dev, st.st_ino)
        if key in folder.ancestors:
            target = os.readlink(path) if is_link else rel
            above = folder.ancestors[key] or "."
            return _error_record(path, rel, f"symlink loop: {rel} -> {target} leads back to {above}")
        return _Dir(path, rel, {**folder.ancestors, key: rel})
    return _file_record(path, rel, st) if rules.wanted(rel) else None


def _walk(top: _Dir, root: Path, rules: _Filter) -> list[SourceFile]:
    found: list[SourceFile] = []
    pending = [top]  # an explicit stack: deep trees must not hit Python's recursion limit
    while pending:
        folder = pending.pop()
        entries = _read_dir(folder, root)
        if isinstance(entries, str):
            if folder is top:
                raise OSError(f"cannot read the source folder {root}: {entries}")
            found.append(_error_record(folder.path, folder.rel, entries))
            continue
        for entry in entries:
            item = _visit(entry, folder, root, rules)
            if isinstance(item, _Dir):
                pending.append(item)
            elif item is not None:
                found.append(item)
    return found


def discover(root: Path, include: Sequence[str], exclude: Sequence[str]) -> list[SourceFile]:
    """List the files under ``root`` that match ``include`` and not ``exclude``, sorted by doc_id.

    Globs match the path relative to ``root`` with '/' separators, case-insensitively; '**' spans any
    number of folders ('**/*.md' matches 'a.md' and 'x/y/a.md'). A ``root`` that is a file is returned
    alone, whatever the globs say. A missing or unreadable ``root`` raises, because an empty listing
    would look like every document was deleted.
    """
    root = Path(os.path.abspath(root))
    try:
        st = os.stat(root)
    except FileNotFoundError as exc:
        what = "is a dangling symlink" if os.path.islink(root) else "does not exist"
        raise FileNotFoundError(f"the source folder {root} {what}") from exc
    except OSError as exc:
        reason = _stat_error(root, root.name, root.parent, exc)
        raise OSError(exc.errno, f"cannot use the source folder {root}: {reason}") from exc
    if not stat.S_ISDIR(st.st_mode):
        return [_file_record(root, root.name, st)]
    top = _Dir(root, "", {(st.st_dev, st.st_ino): ""})
    return sorted(_walk(top, root, _Filter.of(include, exclude)), key=lambda record: record.doc_id)
