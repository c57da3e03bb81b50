"""The stream-boundary matcher (``gateway.policies.output_stream.Holdback``): however a text is cut into
pieces, a denied term, a pattern or a piece of personal data never goes out, and what does go out equals
the whole text filtered at once."""

from __future__ import annotations

import pytest

from gateway.policies.output_rules import Blocked, OutputRules, Span
from gateway.policies.output_stream import Holdback
from genai.settings.output import OutputSettings

# Longer than the holdback (16 characters at the smallest), so text is released mid-stream too.
TEXT = (
    "Our quarterly numbers look fine. The Project Nightingale plan stays internal; write to "
    "jane.doe@example.com for it, quoting ticket AB-12345. Nightingales sing, and that is fine too."
)
RULES = OutputRules(
    OutputSettings(
        deny_terms=["project nightingale", "internal"],
        deny_patterns=[r"AB-\d{5}"],
        pii="redact",
        stream_holdback_chars=24,
    )
)
WHOLE = (
    "Our quarterly numbers look fine. The *** plan stays ***; write to [EMAIL] for it, quoting ticket ***. "
    "Nightingales sing, and that is fine too."
)
SECRETS = ("Nightingale plan", "internal", "jane.doe", "example.com", "AB-12345", "12345")


def stream(rules: OutputRules, pieces: list[str]) -> tuple[str, list[Span]]:
    found: list[Span] = []
    holdback = Holdback(rules, found.append)
    out = "".join(holdback.feed(piece) for piece in pieces) + holdback.flush()
    return out, found


def test_the_whole_text_at_once_is_masked_and_redacted() -> None:
    spans = RULES.spans(TEXT)
    assert RULES.rewrite(TEXT, spans) == WHOLE
    assert [(s.check, s.kind) for s in spans] == [
        ("content", "term"),
        ("content", "term"),
        ("pii", "email"),
        ("content", "pattern"),
    ]


@pytest.mark.parametrize("second_cut", [None, 7, 31])
def test_no_split_point_lets_a_match_through(second_cut: int | None) -> None:
    for cut in range(len(TEXT) + 1):
        cuts = sorted({cut, *([] if second_cut is None else [min(len(TEXT), cut + second_cut)])})
        pieces, at = [], 0
        for point in cuts:
            pieces.append(TEXT[at:point])
            at = point
        pieces.append(TEXT[at:])
        out, found = stream(RULES, pieces)
        assert out == WHOLE, f"cut at {cuts}"
        assert len(found) == 4
        assert not any(secret in out for secret in SECRETS)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_token_sized_pieces_equal_the_whole_text(size: int) -> None:
    for offset in range(size):
        pieces = [TEXT[:offset]] + [TEXT[i : i + size] for i in range(offset, len(TEXT), size)]
        out, _ = stream(RULES, pieces)
        assert out == WHOLE


def test_text_is_released_before_the_end_but_never_within_the_holdback() -> None:
    holdback = Holdback(RULES, lambda span: None)
    released = ""
    for index, char in enumerate(TEXT, 1):
        released += holdback.feed(char)
        # The last `holdback` characters read are still held (every mask here is shorter than its match).
        assert len(released) <= max(0, index - RULES.holdback)
    assert 0 < len(released) < len(WHOLE)
    assert WHOLE.startswith(released)
    assert released + holdback.flush() == WHOLE


def test_a_term_is_a_whole_word_even_when_its_end_arrives_later() -> None:
    rules = OutputRules(OutputSettings(deny_terms=["bad"]))
    assert rules.holdback == 4
    text = "a badge is not bad, badly not either, but BAD is. " * 3
    expected = "a badge is not ***, badly not either, but *** is. " * 3
    for cut in range(len(text) + 1):
        for size in (1, 2, 3):
            pieces = [text[:cut]] + [text[i : i + size] for i in range(cut, len(text), size)]
            assert stream(rules, pieces)[0] == expected


def test_a_phrase_matches_across_any_whitespace() -> None:
    rules = OutputRules(OutputSettings(deny_terms=["big world"]))
    out, found = stream(rules, ["hello big", "\n  ", "world!"])
    assert out == "hello ***!"
    assert len(found) == 1


def test_block_raises_before_the_match_is_released() -> None:
    rules = OutputRules(OutputSettings(deny_terms=["nightingale"], deny_action="block"))
    for cut in range(len(TEXT) + 1):
        holdback = Holdback(rules, lambda span: None)
        released = ""
        with pytest.raises(Blocked) as raised:
            for piece in (TEXT[:cut], TEXT[cut:]):
                released += holdback.feed(piece)
            released += holdback.flush()
        assert raised.value.kind == "term"
        assert "ightingale" not in released.lower()


def test_a_card_number_split_across_pieces_is_redacted() -> None:
    rules = OutputRules(OutputSettings(pii="redact", pii_kinds=["card"], stream_holdback_chars=32))
    text = "pay with 4111 1111 1111 1111 today, " + "then wait for the receipt to arrive by mail. " * 2
    whole = rules.rewrite(text, rules.spans(text))
    assert "4111" not in whole and "[CARD]" in whole
    for cut in range(len(text) + 1):
        assert stream(rules, [text[:cut], text[cut:]])[0] == whole
