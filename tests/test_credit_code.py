"""Unified social credit codes: the check digit is validated on the way in."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from data.core.schema import Enterprise, InvalidCreditCode, validate_credit_code

# Check digit recomputed by hand from GB 32100: weights 3^i mod 31, alphabet without I, O, S, V, Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _check_digit(body: str) -> str:
    return ALPHABET[(31 - sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=False)) % 31) % 31]


class TestCreditCode:
    def test_ccd001_valid_code_passes_and_is_canonical(self):
        body = "91330502MA2B3C4D5"
        code = body + _check_digit(body)
        assert validate_credit_code(code.lower()) == code

    def test_ccd002_wrong_check_digit_named(self):
        body = "91330502MA2B3C4D5"
        wrong = ALPHABET[(ALPHABET.index(_check_digit(body)) + 1) % 31]
        with pytest.raises(InvalidCreditCode, match="check digit does not match"):
            validate_credit_code(body + wrong)

    def test_ccd003_wrong_length_and_letters(self):
        with pytest.raises(InvalidCreditCode, match="invalid length"):
            validate_credit_code("9133050212345")
        with pytest.raises(InvalidCreditCode, match="invalid format"):
            validate_credit_code("91330502MA2B3C4DOX")

    def test_ccd004_orm_refuses_a_bad_code(self):
        with pytest.raises(InvalidCreditCode):
            Enterprise(name="x", credit_code="91330502MA2B3C4D5Z", sector="童装生产", station_id=1,
                       lat=0.0, lon=0.0, address="x")

    def test_ccd005_every_demo_code_is_valid_and_unique(self, demo_engine):
        with demo_engine.connect() as conn:
            codes = [row[0] for row in conn.execute(text("SELECT credit_code FROM enterprises"))]
        assert len(codes) == len(set(codes)) == 14_000
        assert all(_check_digit(code[:17]) == code[17] for code in codes)
