"""The batch kernel without a server: line parsing with line numbers, the input suite (which lines are
refused and why), the output suite, the journal (a torn last line, first answer wins), which answers are
final, and the serving steps that need no gateway (prepare, pending, collect)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genai.batch.format import BatchOutputLine, BatchResponse, error_line, parse_lines
from genai.batch.input_suite import check_input
from genai.batch.output_suite import check_output
from genai.batch.runner import Journal, is_final
from genai.batch.serve import collect, pending, prepare, slices

CHAT = "/v1/chat/completions"


def chat_line(custom_id: str, **body: Any) -> str:
    payload = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}], **body}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": CHAT, "body": payload})


def raw_line(custom_id: str, url: str, body: dict[str, Any]) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


def answer(custom_id: str, status: int = 200, body: Any = None) -> BatchOutputLine:
    body = {"choices": [{"index": 0, "message": {"content": "x"}}]} if body is None else body
    return BatchOutputLine(
        custom_id=custom_id,
        response=BatchResponse(status_code=status, request_id=f"batch-{custom_id}", body=body),
    )


MIXED = [
    chat_line("a"),  # 1 good
    "",  # 2 blank: skipped, but counts for the numbers after it
    "{not json",  # 3
    chat_line("a"),  # 4 duplicate custom_id
    raw_line("c", "/v1/completions", {"model": "m", "prompt": "p"}),  # 5 not this batch's endpoint
    raw_line("d", CHAT, {"messages": [{"role": "user", "content": "x"}]}),  # 6 no model
    raw_line("e", CHAT, {"model": "m", "messages": []}),  # 7 no messages
    raw_line("f", "/v1/nope", {}),  # 8 not a batch url
    "[1, 2]",  # 9
    chat_line("g"),  # 10 good
]  # fmt: skip


def test_parse_lines_keeps_line_numbers_and_says_why() -> None:
    parsed = parse_lines(MIXED)
    assert [line.number for line in parsed] == [1, 3, 4, 5, 6, 7, 8, 9, 10]
    by_number = {line.number: line for line in parsed}
    assert by_number[3].request is None and by_number[3].problem is not None
    assert by_number[3].problem.startswith("not JSON")
    assert by_number[8].problem is not None and by_number[8].problem.startswith("url:")
    assert by_number[9].problem == "not a JSON object"
    assert by_number[10].request is not None and by_number[10].request.custom_id == "g"


def test_input_suite_serves_good_lines_and_refuses_the_rest_by_number() -> None:
    check = check_input(parse_lines(MIXED), [CHAT])
    assert [(number, request.custom_id) for number, request in check.good] == [(1, "a"), (10, "g")]
    bad = {line.number: line for line in check.bad}
    assert sorted(bad) == [3, 4, 5, 6, 7, 8, 9]
    assert bad[3].checks == ["well_formed"]
    assert bad[4].checks == ["unique_custom_id"] and "earlier line" in bad[4].reason
    assert "endpoint" in bad[5].checks and "/v1/completions" in bad[5].reason
    assert bad[6].checks == ["model_named"]
    assert bad[7].checks == ["body_shape"] and "messages" in bad[7].reason
    assert bad[8].custom_id == "f"


def test_output_suite_passes_clean_outputs_and_names_each_fault() -> None:
    clean = [answer("a"), answer("b", status=400, body={"error": {}}), error_line("c", "timeout", "late")]
    assert check_output(clean, expected=3) == []
    both = answer("d").model_copy(update={"error": error_line("d", "x", "y").error})
    faulty = [answer("a"), answer("a"), both, answer("e", body={"object": "nothing"})]
    failures = check_output(faulty, expected=5)
    assert failures[0] == "4 output lines for 5 requests served"
    joined = " | ".join(failures)
    assert "unique_custom_id" in joined and "answer_or_error" in joined and "answer_shape" in joined


def test_journal_skips_a_torn_last_line_and_keeps_the_first_answer(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.append(answer("a"))
    journal.append(answer("b"))
    journal.close()
    with path.open("ab") as handle:  # a kill in the middle of writing c's line
        handle.write(answer("c").to_json().encode()[:25])
    assert sorted(Journal(path).load()) == ["a", "b"]
    again = Journal(path)
    again.append(answer("c"))
    again.append(answer("a", status=201))  # a later record of a never replaces the first
    again.close()
    done = Journal(path).load()
    assert sorted(done) == ["a", "b", "c"]
    assert done["a"].response is not None and done["a"].response.status_code == 200
    assert len(path.read_bytes().splitlines()) == 5  # the torn line ended, never glued to c's


def test_only_final_answers_are_journalled() -> None:
    assert is_final(answer("a")) and is_final(answer("a", status=400)) and is_final(answer("a", status=404))
    for status in (408, 409, 429, 500, 503):
        assert not is_final(answer("a", status=status))
    assert not is_final(error_line("a", "timeout", "late"))
    assert not is_final(error_line("a", "gateway_unreachable", "down"))
    assert is_final(error_line("a", "invalid_request", "line 3: bad"))


def test_prepare_turns_bad_lines_into_invalid_request_errors() -> None:
    data = "\n".join(MIXED).encode()
    prepared = prepare(data, CHAT)
    assert prepared.total == 9 and len(prepared.good) == 2
    messages = {line.error.message.split(":")[0] for line in prepared.invalid if line.error}
    assert messages == {f"line {n}" for n in (3, 4, 5, 6, 7, 8, 9)}
    assert {line.error.code for line in prepared.invalid if line.error} == {"invalid_request"}
    assert prepare(data, CHAT).key == prepared.key  # the same input resumes the same journal
    assert prepare(data, "/v1/completions").key != prepared.key
    assert prepare(data, CHAT, batch_id="batch_1").key == "batch_1"


def test_collect_orders_by_input_and_publishes_each_custom_id_once(tmp_path: Path) -> None:
    lines = [chat_line(f"r{index}") for index in range(5)] + ["oops"]
    prepared = prepare("\n".join(lines).encode(), CHAT)
    journal_file = tmp_path / "j.jsonl"
    journal = Journal(journal_file)
    for custom_id in ("r3", "r0"):  # an earlier, killed run answered these
        journal.append(answer(custom_id))
    journal.close()
    todo = pending(prepared, journal_file)
    assert [request.custom_id for request in todo] == ["r1", "r2", "r4"]
    assert [[r.custom_id for r in part] for part in slices(todo, 2)] == [["r1", "r2"], ["r4"]]
    this_run = [answer("r1"), answer("r2"), error_line("r4", "timeout", "late")]
    outputs = collect(prepared, journal_file, this_run, sent=3, serving_seconds=1.5)
    results = [json.loads(line) for line in outputs.results.splitlines()]
    errors = [json.loads(line) for line in outputs.errors.splitlines()]
    assert [line["custom_id"] for line in results] == ["r0", "r1", "r2", "r3"]
    assert [line["custom_id"] for line in errors] == ["", "r4"]
    assert errors[0]["error"]["message"].startswith("line 6:")
    summary = outputs.summary
    assert (summary.total, summary.completed, summary.failed, summary.invalid) == (6, 4, 1, 1)
    assert (summary.sent, summary.resumed, summary.throughput) == (3, 2, 2.0)
    assert summary.output_failures == []
    assert "| completed (results file) | 4 |" in summary.to_markdown()
