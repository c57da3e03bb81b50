"""Loading eval sets: a good set loads with its content hash; each kind of bad row is reported with its
line, field and reason, and nothing loads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from genai.evaluation.eval_set import EvalSetError, load_eval_set


def row(id: str = "q1", **fields: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": id,
        "question": "Where are vectors kept?",
        "reference_answer": "Qdrant",
        "relevant_doc_ids": ["docs/architecture.md"],
        "knowledge_base": "platform-docs",
    }
    values.update(fields)
    return values


def write(path: Path, *rows: object) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_good_set_loads_in_order_with_the_hash_of_its_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "set.jsonl", row("a"), "", row("b", relevant_doc_ids=["x.md", "y/z.md"]))
    loaded = load_eval_set(path)
    assert [e.id for e in loaded.examples] == ["a", "b"]
    assert loaded.examples[1].relevant_doc_ids == ["x.md", "y/z.md"]
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.short_hash == loaded.sha256[:12]
    assert loaded.knowledge_bases == ["platform-docs"]
    assert len(loaded) == 2


def test_the_hash_is_content_identity(tmp_path: Path) -> None:
    first = load_eval_set(write(tmp_path / "one.jsonl", row("a")))
    same = load_eval_set(write(tmp_path / "two.jsonl", row("a")))
    other = load_eval_set(write(tmp_path / "three.jsonl", row("a", question="Where are chunks kept?")))
    assert first.sha256 == same.sha256 != other.sha256


def test_every_bad_row_is_reported_with_line_field_and_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.jsonl",
        row("ok"),  # line 1
        '{"id": "broken", "question": ',  # 2: not JSON
        row("blank-q", question="   "),  # 3
        row("blank-a", reference_answer=""),  # 4
        row("no-docs", relevant_doc_ids=[]),  # 5
        row("Bad KB", knowledge_base="Platform Docs"),  # 6
        row("ok"),  # 7: duplicate id
        row("typed", relevant_doc_ids="docs/architecture.md"),  # 8: a string, not a list
        {"id": "missing", "question": "q?"},  # 9: fields missing
        row("extra", answer="typo"),  # 10: an unknown field
        "[1, 2]",  # 11: not an object
        row("blank-doc", relevant_doc_ids=["a.md", " "]),  # 12
    )
    with pytest.raises(EvalSetError) as raised:
        load_eval_set(path)
    error = raised.value
    found = {(bad.line, bad.field) for bad in error.bad_rows}
    assert found == {
        (1, "id"),
        (2, "(row)"),
        (3, "question"),
        (4, "reference_answer"),
        (5, "relevant_doc_ids"),
        (6, "knowledge_base"),
        (7, "id"),
        (8, "relevant_doc_ids"),
        (9, "reference_answer"),
        (9, "relevant_doc_ids"),
        (9, "knowledge_base"),
        (10, "answer"),
        (11, "(row)"),
        (12, "relevant_doc_ids"),
    }
    reasons = {bad.line: bad.reason for bad in error.bad_rows}
    assert "not valid JSON" in reasons[2]
    assert reasons[3] == "non_empty_question: the question is empty"
    assert "'Platform Docs' is not a knowledge base name" in reasons[6]
    assert reasons[7] == "unique_id: id 'ok' appears on more than one row"
    assert "expected a JSON object, got list" in reasons[11]
    assert [bad.line for bad in error.bad_rows] == sorted(bad.line for bad in error.bad_rows)
    assert error.message.startswith(f"eval set {path} has 12 bad row(s)")
    assert "line 7: id: unique_id" in str(error)


def test_missing_empty_and_binary_files_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="does not exist"):
        load_eval_set(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="has no examples"):
        load_eval_set(tmp_path / "empty.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(EvalSetError, match="not UTF-8"):
        load_eval_set(tmp_path / "bin.jsonl")


def test_a_long_report_is_cut_with_a_count(tmp_path: Path) -> None:
    path = write(tmp_path / "many.jsonl", *[row(f"q{i}", question="") for i in range(25)])
    with pytest.raises(EvalSetError) as raised:
        load_eval_set(path)
    assert len(raised.value.bad_rows) == 25
    assert raised.value.report(most=20).splitlines()[-1] == "  ... and 5 more"
