"""The arithmetic check of homework answers: right sums pass, slips are named, nothing is executed."""

from __future__ import annotations

import pytest

from studybuddy.ai.arith import NotArithmetic, arithmetic_errors, evaluate


def test_right_arithmetic_passes_in_any_notation() -> None:
    text = ("120 - 3P = 20 + 2P, so 100 = 5P; P = 100 / 5 = 20 and Q = 120 - 3 × 20 = 60. "
            "20 ÷ 3 = 6.67, 2^10 = 1,024, (4 + 6) · 1.5 = 15, −2 × 3 = -6")
    assert arithmetic_errors(text) == []


def test_slips_are_named_with_the_right_value() -> None:
    assert arithmetic_errors("x = 15 / 3 = 6 and 12 × 4 = 46") == ["15 / 3 = 6 (it is 5)", "12 × 4 = 46 (it is 48)"]
    assert arithmetic_errors("20 / 3 = 6.6") == ["20 / 3 = 6.6 (it is 6.66667)"]  # rounded wrongly


@pytest.mark.parametrize("expression", ["__import__('os')", "2 ** 9999", "1 / 0", "abs(-1)", "x + 1"])
def test_anything_but_plain_arithmetic_is_refused(expression: str) -> None:
    with pytest.raises(NotArithmetic):
        evaluate(expression)
