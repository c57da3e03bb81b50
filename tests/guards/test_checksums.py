"""The check digits the detectors lean on: a number that only looks like a card, an IBAN or an id fails."""

from __future__ import annotations

import pytest

from genai.guards.checksums import dni_ok, iban_ok, luhn_ok, verhoeff_ok


@pytest.mark.parametrize("digits", ["4111111111111111", "378282246310005", "6011000990139424", "79927398713"])
def test_luhn_accepts_valid_numbers(digits: str) -> None:
    assert luhn_ok(digits)


@pytest.mark.parametrize("digits", ["4111111111111112", "378282246310006", "79927398710", "1234567812345678"])
def test_luhn_refuses_one_digit_off(digits: str) -> None:
    assert not luhn_ok(digits)


def test_iban_needs_its_country_length_and_mod_97() -> None:
    assert iban_ok("GB82WEST12345698765432")
    assert iban_ok("FR1420041010050500013M02606")  # letters inside the account part
    assert not iban_ok("GB82WEST12345698765433")  # last digit changed
    assert not iban_ok("GB82WEST1234569876543")  # one short for GB
    assert not iban_ok("QQ82WEST12345698765432")  # no such country
    assert not iban_ok("GBXXWEST12345698765432")


def test_verhoeff_and_the_dni_letter() -> None:
    assert verhoeff_ok("718190937865") and not verhoeff_ok("718190937866")
    assert dni_ok("12345678", "Z") and not dni_ok("12345678", "A")
    assert dni_ok("X1234567", "L")  # an NIE: X counts as 0
