"""Eval sets: JSONL files of questions with a reference answer and the documents that answer them.

One JSON object per line::

    {"id": "settings-1", "question": "...", "reference_answer": "...",
     "relevant_doc_ids": ["modules-genai.md"], "knowledge_base": "platform-docs"}

``relevant_doc_ids`` are doc ids as ingestion assigns them: the path relative to the ingested folder, with
'/' separators. Blank lines are skipped. A set is identified by the SHA-256 of the file's bytes, so two
runs on the same hash saw exactly the same examples.

``load_eval_set`` checks every row in two passes and evaluates nothing unless all rows pass: pydantic
checks each row's shape (valid JSON, the five fields with the right types, nothing else), then the Great
Expectations suite ``genai.quality.eval_set_suite`` checks the content of the well-formed rows (non-empty
question and answer, doc ids present, a valid knowledge-base name, unique ids). Any bad row raises
``EvalSetError`` with every bad row's line, field and reason.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError


class EvalExample(BaseModel):
    """One question of an eval set."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str
    question: str
    reference_answer: str
    relevant_doc_ids: list[str]
    knowledge_base: str


class BadRow(BaseModel):
    """One problem with one row: the 1-based line of the file, the field at fault, and why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class EvalSetError(ValueError):
    """An eval set that cannot be used; ``bad_rows`` lists every problem found (empty when the file
    itself is at fault)."""

    def __init__(self, message: str, bad_rows: list[BadRow] | None = None) -> None:
        self.message = message
        self.bad_rows = list(bad_rows or [])
        super().__init__(self.report())

    def report(self, most: int = 20) -> str:
        """The message and the first ``most`` bad rows, one per line."""
        lines = [self.message, *(f"  {row}" for row in self.bad_rows[:most])]
        if len(self.bad_rows) > most:
            lines.append(f"  ... and {len(self.bad_rows) - most} more")
        return "\n".join(lines)


class EvalSet(BaseModel):
    """A validated eval set: where it came from, its content hash, its examples in file order."""

    model_config = ConfigDict(frozen=True)

    path: Path
    sha256: str
    examples: list[EvalExample]

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of ``sha256``: enough to tell sets apart in tags and names."""
        return self.sha256[:12]

    @property
    def knowledge_bases(self) -> list[str]:
        """The distinct knowledge bases the examples ask, in order of first use."""
        return list(dict.fromkeys(example.knowledge_base for example in self.examples))

    def __len__(self) -> int:
        return len(self.examples)


def _parse_line(number: int, line: str) -> EvalExample | list[BadRow]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return [BadRow(line=number, field="(row)", reason=f"not valid JSON: {exc.msg} at column {exc.colno}")]
    if not isinstance(data, dict):
        return [
            BadRow(line=number, field="(row)", reason=f"expected a JSON object, got {type(data).__name__}")
        ]
    try:
        return EvalExample.model_validate(data)
    except ValidationError as exc:
        return [
            BadRow(
                line=number,
                field=".".join(str(part) for part in error["loc"]) or "(row)",
                reason=error["msg"].lower(),
            )
            for error in exc.errors()
        ]


def parse_eval_lines(text: str) -> tuple[list[tuple[int, EvalExample]], list[BadRow]]:
    """The well-formed rows with their line numbers, and the problems of the others (pydantic pass)."""
    rows: list[tuple[int, EvalExample]] = []
    bad: list[BadRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parsed = _parse_line(number, line)
        if isinstance(parsed, EvalExample):
            rows.append((number, parsed))
        else:
            bad.extend(parsed)
    return rows, bad


def load_eval_set(path: str | Path) -> EvalSet:
    """Read, parse and check the eval set at ``path``; raises ``EvalSetError`` unless every row passes."""
    from genai.quality.eval_set_suite import validate_eval_rows

    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise EvalSetError(f"eval set {path} does not exist") from None
    except OSError as exc:
        raise EvalSetError(f"cannot read eval set {path}: {exc.strerror or exc}") from None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvalSetError(f"eval set {path} is not UTF-8 text (byte {exc.start})") from None
    rows, bad = parse_eval_lines(text)
    bad.extend(validate_eval_rows(rows))
    if bad:
        bad.sort(key=lambda row: row.line)
        lines = len({row.line for row in bad})
        raise EvalSetError(f"eval set {path} has {lines} bad row(s); fix them and run again", bad)
    if not rows:
        raise EvalSetError(f"eval set {path} has no examples (one JSON object per line)")
    return EvalSet(
        path=path, sha256=hashlib.sha256(content).hexdigest(), examples=[example for _, example in rows]
    )
