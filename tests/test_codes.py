"""Result codes: 60 bits from the CSPRNG, Crockford base32, typed back in any case and grouping."""
from __future__ import annotations

import re
from unittest import mock

import pytest

from app.screening import codes

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_alphabet_is_crockford_base32_and_carries_60_bits():
    assert codes.ALPHABET == CROCKFORD and len(set(codes.ALPHABET)) == 32
    assert codes.CODE_LENGTH * 5 >= 60


def test_new_code_draws_60_bits_from_secrets():
    with mock.patch.object(codes.secrets, "randbits", wraps=codes.secrets.randbits) as randbits:
        code = codes.new_code()
    randbits.assert_called_once_with(60)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", code)


@pytest.mark.parametrize("bits, expected", [(0, "0" * 12), (2**60 - 1, "Z" * 12), (31, "Z" + "0" * 11)])
def test_new_code_maps_every_bit(bits, expected):
    with mock.patch.object(codes.secrets, "randbits", return_value=bits):
        assert codes.new_code() == expected


def test_codes_do_not_repeat_in_a_large_sample():
    sample = {codes.new_code() for _ in range(20_000)}
    assert len(sample) == 20_000
    # every symbol turns up, in every position: nothing is stuck
    for position in range(12):
        assert {code[position] for code in sample} == set(CROCKFORD)


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("7KQ2-M9XD-4TPA", "7KQ2M9XD4TPA"),
        ("7kq2-m9xd-4tpa", "7KQ2M9XD4TPA"),
        ("7kq2m9xd4tpa", "7KQ2M9XD4TPA"),
        ("7KQ2 M9XD 4TPA", "7KQ2M9XD4TPA"),
        ("  7KQ2 - M9XD - 4TPA\n", "7KQ2M9XD4TPA"),
        ("7kq2--m9xd--4tpa", "7KQ2M9XD4TPA"),
        ("OIL0-0000-0000", "011000000000"),  # Crockford: O reads as 0, I and L as 1
        ("oil0-0000-0000", "011000000000"),
    ],
)
def test_normalise_accepts_any_case_dashes_and_spaces(typed, stored):
    assert codes.normalise(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "7KQ2-M9XD-4TP", "7KQ2-M9XD-4TPAX", "7KQ2-M9XD-4TPU",  # U is never issued
     "7KQ2_M9XD_4TPA", "7KQ2.M9XD.4TPA", "../../etc/passwd", "7KQ2-M9XD-4TP\u00c4", "x" * 65,
     None, 12, ["7KQ2M9XD4TPA"]],
)
def test_normalise_rejects_what_cannot_be_a_code(typed):
    assert codes.normalise(typed) is None


def test_display_groups_in_fours_and_round_trips():
    code = codes.new_code()
    shown = codes.display(code)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", shown)
    assert codes.normalise(shown) == code
    assert codes.normalise(shown.lower().replace("-", "")) == code
