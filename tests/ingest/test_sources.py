"""Tests for genai.ingest.sources.discover: globbing, symlinks, and broken entries reported with reasons."""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

import pytest

from genai.ingest.sources import discover, document_type
from genai.settings import IngestSettings
from tests.fixtures.documents import deny_access, write_bad_inputs, write_good_corpus

DEFAULTS = IngestSettings()


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"text of {name}\n")


def _ids(root: Path, include: list[str] | None = None, exclude: list[str] | None = None) -> list[str]:
    found = discover(
        root,
        include if include is not None else DEFAULTS.include,
        exclude if exclude is not None else DEFAULTS.exclude,
    )
    return [record.doc_id for record in found]


def test_finds_nested_files_sorted_with_metadata(tmp_path: Path) -> None:
    _touch(tmp_path, "b.md", "a/z.txt", "a/b/c.html", "A.pdf")
    found = discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude)
    assert [f.doc_id for f in found] == ["A.pdf", "a/b/c.html", "a/z.txt", "b.md"]
    first = found[1]
    assert first.source == "a/b/c.html"
    assert first.path == str(tmp_path / "a" / "b" / "c.html")
    assert first.type == "html"
    assert first.size_bytes == len("text of a/b/c.html\n")
    assert first.modified is not None and first.modified.tzinfo == UTC
    assert first.error is None
    assert discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude) == found  # deterministic


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.md", "markdown"),
        ("a.markdown", "markdown"),
        ("a.TXT", "text"),
        ("a.html", "html"),
        ("a.htm", "html"),
        ("a.pdf", "pdf"),
        ("a.docx", "docx"),
        ("a.doc", "unknown"),
        ("Makefile", "unknown"),
        ("archive.tar.gz", "unknown"),
    ],
)
def test_type_from_extension(name: str, expected: str) -> None:
    assert document_type(name) == expected


def test_double_star_matches_any_depth_including_none(tmp_path: Path) -> None:
    _touch(tmp_path, "a.md", "x/y/a.md", "x/a.txt")
    assert _ids(tmp_path, ["**/*.md"], []) == ["a.md", "x/y/a.md"]
    assert _ids(tmp_path, ["x/**/*.md"], []) == ["x/y/a.md"]
    assert _ids(tmp_path, ["*.md"], []) == ["a.md"]  # a single '*' stays within one folder
    assert _ids(tmp_path, ["x/*"], []) == ["x/a.txt"]
    assert _ids(tmp_path, ["**"], []) == ["a.md", "x/a.txt", "x/y/a.md"]


def test_default_excludes(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "keep.md",
        ".git/notes.md",
        "sub/.git/deep/x.md",
        ".genai/cache.md",
        ".venv/lib/readme.md",
        ".venv-vllm/lib/readme.md",
        "gitbook/a.md",
        ".github/a.md",
    )
    assert _ids(tmp_path) == [".github/a.md", "gitbook/a.md", "keep.md"]


def test_globs_are_case_insensitive(tmp_path: Path) -> None:
    _touch(tmp_path, "README.MD", "Report.Pdf", ".GIT/x.md")
    assert _ids(tmp_path) == ["README.MD", "Report.Pdf"]


def test_exclude_of_a_single_file(tmp_path: Path) -> None:
    _touch(tmp_path, "a.md", "drafts/b.md", "drafts/keep/c.md")
    assert _ids(tmp_path, ["**/*.md"], ["drafts/*.md"]) == ["a.md", "drafts/keep/c.md"]


def test_excluded_folders_are_not_entered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "a.md", ".git/objects/x.md")
    deny_access(monkeypatch, tmp_path / ".git")  # an error here would show the walk went in
    assert _ids(tmp_path) == ["a.md"]


def test_single_file_root(tmp_path: Path) -> None:
    _touch(tmp_path, "notes/one.txt")
    found = discover(tmp_path / "notes" / "one.txt", ["**/*.md"], [])
    assert [(f.doc_id, f.source, f.type, f.error) for f in found] == [("one.txt", "one.txt", "text", None)]


def test_missing_root_raises_instead_of_looking_empty(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        discover(tmp_path / "nope", DEFAULTS.include, DEFAULTS.exclude)
    os.symlink("nope", tmp_path / "link")
    with pytest.raises(FileNotFoundError, match="dangling symlink"):
        discover(tmp_path / "link", DEFAULTS.include, DEFAULTS.exclude)


def test_unreadable_root_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deny_access(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="permission denied reading directory"):
        discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude)


def test_follows_symlinked_files_and_folders(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _touch(outside, "shared/deep.md", "real.txt")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside / "shared", root / "linked")
    os.symlink(outside / "real.txt", root / "alias.txt")
    found = {f.doc_id: f for f in discover(root, DEFAULTS.include, DEFAULTS.exclude)}
    assert sorted(found) == ["alias.txt", "linked/deep.md"]
    assert found["linked/deep.md"].path == str(root / "linked" / "deep.md")
    assert found["alias.txt"].size_bytes == len("text of real.txt\n")
    assert all(f.error is None for f in found.values())


def test_the_same_folder_linked_twice_is_not_a_loop(tmp_path: Path) -> None:
    _touch(tmp_path, "real/a.md")
    os.symlink("real", tmp_path / "again")
    assert _ids(tmp_path) == ["again/a.md", "real/a.md"]


def test_broken_entries_are_reported_with_reasons(tmp_path: Path) -> None:
    bad = write_bad_inputs(tmp_path)
    write_good_corpus(tmp_path)
    found = {f.doc_id: f for f in discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude)}
    for doc_id, expected in bad.items():
        assert doc_id in found, doc_id
        error = found[doc_id].error
        if expected.at == "discover":
            assert error is not None and expected.reason in error
        else:
            assert error is None, error
    assert found["huge.txt"].size_bytes == 50 * 1024 * 1024
    assert sum(1 for f in found.values() if f.error is None) == len(found) - 4


def test_symlink_loop_through_a_folder(tmp_path: Path) -> None:
    _touch(tmp_path, "a/b/file.md")
    os.symlink("../..", tmp_path / "a" / "b" / "up")
    found = discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude)
    assert [(f.doc_id, f.error) for f in found] == [
        ("a/b/file.md", None),
        ("a/b/up", "symlink loop: a/b/up -> ../.. leads back to ."),
    ]


def test_broken_links_are_reported_whatever_their_name_but_not_when_excluded(tmp_path: Path) -> None:
    os.symlink("gone", tmp_path / "no-extension")
    (tmp_path / ".git").mkdir()
    os.symlink("gone", tmp_path / ".git" / "HEAD.md")
    os.symlink("self", tmp_path / "self")
    found = discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude)
    assert [(f.doc_id, f.type, f.error) for f in found] == [
        ("no-extension", "unknown", "dangling symlink: no-extension -> gone (the target does not exist)"),
        ("self", "unknown", "symlink loop: self -> self"),
    ]


def test_unreadable_folder_is_reported_and_siblings_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(tmp_path, "open/a.md", "locked/b.md", "z.md")
    deny_access(monkeypatch, tmp_path / "locked")
    found = discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude)
    assert [(f.doc_id, f.error) for f in found] == [
        ("locked", "permission denied reading directory locked"),
        ("open/a.md", None),
        ("z.md", None),
    ]


def test_file_that_cannot_be_stated_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "ok.md", "secret.md")
    real_stat = os.stat
    denied = str(tmp_path / "secret.md")

    def fake_stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if os.fspath(path) == denied:  # type: ignore[call-overload]
            raise PermissionError(13, "Permission denied", denied)
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", fake_stat)
    found = discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude)
    assert [(f.doc_id, f.error) for f in found] == [
        ("ok.md", None),
        ("secret.md", "permission denied reading the metadata of secret.md"),
    ]


def test_fifo_is_reported_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    found = discover(tmp_path, DEFAULTS.include, DEFAULTS.exclude)
    assert [(f.doc_id, f.error) for f in found] == [
        ("pipe.txt", "not a regular file: pipe.txt is a named pipe"),
    ]
