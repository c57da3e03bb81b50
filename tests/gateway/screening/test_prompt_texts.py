"""The text slots of a body the screening reads and rewrites: message contents (strings and text parts),
prompts and inputs (a string or a list of strings); token ids and non-text parts are not slots."""

from __future__ import annotations

from typing import Any

from gateway.policies.prompt_texts import text_slots


def test_chat_slots_are_string_contents_and_text_parts_with_their_roles() -> None:
    body: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "sys"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "image_url"}, {"text": "b"}],
            },
            {"role": "assistant", "content": None, "tool_calls": [{"function": {"arguments": "{}"}}]},
        ]
    }
    field, slots = text_slots(body)
    assert field == "messages"
    assert [(slot.role, slot.text) for slot in slots] == [("system", "sys"), ("user", "a"), ("user", "b")]
    slots[1].replace("A")
    assert body["messages"][1]["content"][0] == {"type": "text", "text": "A"}


def test_prompts_and_inputs_as_strings_or_lists_and_token_ids_skipped() -> None:
    field, slots = text_slots({"prompt": "p"})
    assert field == "prompt" and [s.text for s in slots] == ["p"]
    body: dict[str, Any] = {"input": ["x", [1, 2, 3], "y"]}
    field, slots = text_slots(body)
    assert field == "input" and [s.text for s in slots] == ["x", "y"]
    slots[1].replace("Y")
    assert body["input"] == ["x", [1, 2, 3], "Y"]
    assert text_slots({"prompt": [1, 2, 3]})[1] == []
