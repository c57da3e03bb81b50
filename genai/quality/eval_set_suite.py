"""The eval set suite: what every row of an eval set must satisfy before any candidate is evaluated on it.

It runs on the rows pydantic already found well-formed (``genai.evaluation.eval_set``) and checks their
content: a question and a reference answer that are not blank, at least one relevant doc id and none
blank, a valid knowledge-base name (the ingestion rule), and ids unique across the set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from genai.ingest.request import KB_PATTERN, KB_RULE
from genai.quality.gx_runner import Expectation, run_suite

if TYPE_CHECKING:
    from genai.evaluation.eval_set import BadRow, EvalExample

SUITE_NAME = "eval_set"

# check -> the row field it is about, for the report.
FIELDS = {
    "non_empty_question": "question",
    "non_empty_reference_answer": "reference_answer",
    "relevant_doc_ids_present": "relevant_doc_ids",
    "no_blank_doc_id": "relevant_doc_ids",
    "knowledge_base_name": "knowledge_base",
    "unique_id": "id",
}


def eval_set_expectations() -> list[Expectation]:
    """The suite, in the order failures are reported."""
    return [
        Expectation(
            "non_empty_question",
            "ExpectColumnValuesToBeBetween",
            {"column": "question_chars", "min_value": 1},
        ),
        Expectation(
            "non_empty_reference_answer",
            "ExpectColumnValuesToBeBetween",
            {"column": "answer_chars", "min_value": 1},
        ),
        Expectation(
            "relevant_doc_ids_present",
            "ExpectColumnValuesToBeBetween",
            {"column": "doc_ids", "min_value": 1},
        ),
        Expectation(
            "no_blank_doc_id",
            "ExpectColumnValuesToBeBetween",
            {"column": "blank_doc_ids", "min_value": 0, "max_value": 0},
        ),
        Expectation(
            "knowledge_base_name",
            "ExpectColumnValuesToMatchRegex",
            {"column": "knowledge_base", "regex": KB_PATTERN},
        ),
        Expectation("unique_id", "ExpectColumnValuesToBeUnique", {"column": "id"}),
    ]


def explain(check: str, example: EvalExample) -> str:
    """Why ``example`` failed ``check``, and what would fix it."""
    if check == "non_empty_question":
        return "the question is empty"
    if check == "non_empty_reference_answer":
        return "the reference answer is empty"
    if check == "relevant_doc_ids_present":
        return "no relevant doc id: name at least one document that answers the question"
    if check == "no_blank_doc_id":
        return f"a relevant doc id is blank: {example.relevant_doc_ids!r}"
    if check == "knowledge_base_name":
        return f"{example.knowledge_base!r} is not a knowledge base name ({KB_RULE})"
    if check == "unique_id":
        return f"id {example.id!r} appears on more than one row"
    return check


def validate_eval_rows(rows: Sequence[tuple[int, EvalExample]]) -> list[BadRow]:
    """Run the suite on (line number, example) pairs; one ``BadRow`` per failed check per row."""
    import pandas as pd

    from genai.evaluation.eval_set import BadRow

    examples = [example for _, example in rows]
    frame = pd.DataFrame(
        {
            "id": [e.id for e in examples],
            "question_chars": [len(e.question.strip()) for e in examples],
            "answer_chars": [len(e.reference_answer.strip()) for e in examples],
            "doc_ids": [len(e.relevant_doc_ids) for e in examples],
            "blank_doc_ids": [sum(1 for d in e.relevant_doc_ids if not d.strip()) for e in examples],
            "knowledge_base": [e.knowledge_base for e in examples],
        }
    )
    outcome = run_suite(SUITE_NAME, eval_set_expectations(), frame)
    bad = []
    for index in sorted(outcome.failures):
        line, example = rows[index]
        for check in outcome.failures[index]:
            bad.append(BadRow(line=line, field=FIELDS[check], reason=f"{check}: {explain(check, example)}"))
    return bad
