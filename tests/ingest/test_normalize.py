"""Tests for genai.ingest.normalize: canonical text, header/footer removal and idempotency."""

from __future__ import annotations

import random

import pytest

from genai.ingest.normalize import normalize_text


def _page(header: str, body: list[str], footer: str) -> str:
    return "\n".join([header, *body, footer])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("cafe\u0301", "caf\u00e9"),  # NFC composes the accent
        ("a\x00b\x07c\x1bd", "abcd"),
        ("a\ufeffb", "ab"),
        ("one\r\ntwo\rthree\u2028four\x85five\vsix", "one\ntwo\nthree\nfour\nfive\nsix"),
        ("a  \t b\u00a0\u2009c", "a b c"),
        ("trailing   \nspaces\t\n", "trailing\nspaces"),
        ("a\n\n\n\n\nb\n\n\nc\n\nd", "a\n\nb\n\nc\n\nd"),
        ("\n\n  \n\nbody\n\n \n", "body"),
        ("  indented", " indented"),
        ("# Title\n\n## Sub\ntext", "# Title\n\n## Sub\ntext"),
    ],
)
def test_canonical_form(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_removing_a_control_char_lets_nfc_compose_the_pair() -> None:
    # Without NFC after the removal, a second pass would compose it and change the hash.
    once = normalize_text("e\x07\u0301")
    assert once == "\u00e9"
    assert normalize_text(once) == once


def test_repeated_headers_and_footers_are_removed_from_every_page() -> None:
    topics = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    pages = [
        _page(
            "ACME Corp Handbook",
            [f"All about {topic}.", "Shared middle line.", f"End of {topic}."],
            f"Page {n} of 10",
        )
        for n, topic in enumerate(topics, 1)
    ]
    text = normalize_text("\f".join(pages))
    assert "ACME Corp Handbook" not in text
    assert "Page" not in text  # 'Page 9 of 10' and 'Page 10 of 10' share the key 'Page # of #'
    assert "\f" not in text
    assert "Shared middle line." in text  # in the middle of its page, not a header
    assert text.startswith("All about alpha.\nShared middle line.\nEnd of alpha.\n\nAll about beta.")


def test_only_edge_lines_are_removed_not_the_same_text_in_the_body() -> None:
    pages = [
        _page("Confidential", ["Intro.", "Confidential", "More text.", "Last words."], "Footer")
        for _ in range(4)
    ]
    text = normalize_text("\f".join(pages))
    assert text.count("Confidential") == 4  # the body copies stay
    assert "Footer" not in text


def test_headers_need_three_pages() -> None:
    text = normalize_text("Header\nbody one\fHeader\nbody two")
    assert text == "Header\nbody one\n\nHeader\nbody two"


def test_headers_need_half_of_the_pages() -> None:
    pages = [f"Header\nbody {n}" if n < 3 else f"Other {n}\nbody {n}" for n in range(8)]
    assert normalize_text("\f".join(pages)).count("Header") == 3  # 3 of 8 pages: below half
    pages = [f"Header\nbody {n}" if n < 4 else f"Other {n}\nbody {n}" for n in range(8)]
    assert "Header" not in normalize_text("\f".join(pages))  # 4 of 8: half, removed everywhere


def test_blank_pages_do_not_count_against_the_threshold() -> None:
    pages = ["Head\nalpha", "", "Head\nbeta", "   ", "Head\ngamma"]
    assert normalize_text("\f".join(pages)) == "alpha\n\nbeta\n\ngamma"


def test_pages_are_joined_with_one_blank_line() -> None:
    assert normalize_text("page one\fpage two\n\n\n\fpage three") == "page one\n\npage two\n\npage three"


_EXAMPLES = [
    "plain text",
    "  leading and trailing  \n\n\n\n",
    "tabs\tand\t\tspaces   mixed\u00a0\u3000here",
    "\ufeffBOM at the start\r\nand CRLF\r\n",
    "e\u0301\x00\u0301 combining marks and controls \x1b[31mred\x1b[0m",
    "A\u030a ring, \u212b angstrom, \uff21 fullwidth",
    "\f\f\fonly page breaks\f\f",
    "\f".join(_page("Report 2024", [f"line {n}", f"other {n}"], f"{n}/7") for n in range(7)),
    "\f".join(_page("H", [f"x{n}"], "F") for n in range(3)) + "\fH\n\nF",
    "# Heading\n\n\n\n## Sub   heading  \n- item\n- item\n\n\n",
    "\u2028line separators\u2029paragraph separators\x85next line\v\vvertical tabs",
]


def _random_texts(count: int) -> list[str]:
    alphabet = "ab1 9#\n\n\f\t\r\x00\x07\u0301\u00e9\u00a0\ufeff\u2028\u212bP"
    rng = random.Random(20240501)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120))) for _ in range(count)]


def _assert_canonical(raw: str) -> None:
    once = normalize_text(raw)
    assert normalize_text(once) == once, repr(raw)
    assert "\f" not in once and "\r" not in once
    assert "\n\n\n" not in once
    assert all(line == line.rstrip() for line in once.split("\n"))


@pytest.mark.parametrize("raw", _EXAMPLES)
def test_idempotent_on_tricky_examples(raw: str) -> None:
    _assert_canonical(raw)


def test_idempotent_on_random_texts() -> None:
    for raw in _random_texts(1000):
        _assert_canonical(raw)
