"""Personal data and secrets: each kind found where it is, look-alikes left alone, placeholders in place."""

from __future__ import annotations

import pytest

from genai.guards.findings import Finding, without_overlaps
from genai.guards.pii import find_pii, redact


def kinds(text: str) -> list[str]:
    return [f.kind for f in find_pii(text)]


def spans(text: str) -> list[str]:
    return [text[f.start : f.end] for f in find_pii(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("write to jane.doe@example.com today", "jane.doe@example.com"),
        ("call +44 20 7946 0958 now", "+44 20 7946 0958"),
        ("mobile (415) 555-0132.", "(415) 555-0132"),
        ("pay with 4111 1111 1111 1111, thanks", "4111 1111 1111 1111"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00"),
        ("SSN 123-45-6789 on file", "123-45-6789"),
        ("NINO AB 12 34 56 C here", "AB 12 34 56 C"),
        ("key AKIACXR3WJKFAIJSERZO leaked", "AKIACXR3WJKFAIJSERZO"),
        ("password=hunter2xyz; user=bob", "hunter2xyz"),  # only the value
        ("postgres://app:s3cr3tpw@db:5432/x", "s3cr3tpw"),
    ],
)
def test_each_kind_is_found_at_its_place(text: str, found: str) -> None:
    assert spans(text) == [found]


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails Luhn",
        "ISBN 978-0-306-40615-7",
        "released 2024-01-15, version 10.0.19045.3803",
        "commit 8fb3260fd6142874feeaf901c29252deba9747bb",
        "id febc3ba7-0688-41d1-b0b0-eac1743e8575",
        "order #415-555-0132",  # an order number shaped like a phone number
        "000-12-3456 and 666-45-6789 are never issued",
        "GB82 WEST 1234 5698 7654 33",
        'password = os.environ["DB_PASSWORD"]',
        "api_key: <your-api-key-here>",
        "git clone git@github.com:acme/tools.git",
        "Use AbstractSingletonProxyFactoryBean here",
        "population 1210854977",
    ],
)
def test_look_alikes_are_not_findings(text: str) -> None:
    assert find_pii(text) == []


def test_kinds_limit_the_search() -> None:
    text = "mail a@b.co, card 4111111111111111"
    assert kinds(text) == ["email", "card"]
    assert [f.kind for f in find_pii(text, {"card"})] == ["card"]
    assert find_pii(text, ()) == []


def test_redact_replaces_each_finding_and_keeps_the_rest() -> None:
    text = "Hi, I am ann@corp.io, card 5555-5555-5555-4444, bye"
    assert redact(text, find_pii(text)) == "Hi, I am [EMAIL], card [CARD], bye"
    assert redact(text, []) == text


def test_a_pem_block_is_one_secret_and_an_unterminated_one_runs_to_the_end() -> None:
    block = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    assert redact(f"key:\n{block}\nthanks", find_pii(f"key:\n{block}\nthanks")) == "key:\n[SECRET]\nthanks"
    cut = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo"
    assert spans(f"x {cut}") == [cut]


def test_a_random_token_is_a_secret_but_hex_and_words_are_not() -> None:
    assert kinds("token: 9fK2mQx7LpR4vT8wZ1bN6cJ3hY5dS0aE") == ["secret"]
    assert find_pii("0c9f7b608146e90eb05334224cc72f8dde5c22f3d337e94b2a2734c3d88202dd") == []
    assert find_pii("HelloWorldControllerFactoryImpl") == []


def test_overlaps_keep_the_more_specific_kind() -> None:
    # A card number as the value of a secret assignment is one secret, not a secret and a card.
    assert kinds("secret=4111111111111111") == ["secret"]
    kept = without_overlaps([Finding("phone", 0, 10), Finding("card", 2, 18)], {"card": 0, "phone": 1})
    assert kept == [Finding("card", 2, 18)]


def test_redact_skips_a_finding_that_overlaps_an_earlier_one() -> None:
    assert redact("abcdefgh", [Finding("email", 0, 4), Finding("card", 2, 6)]) == "[EMAIL]efgh"
