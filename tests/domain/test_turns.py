"""Constants and rules of a turn."""

from __future__ import annotations


def test_a_clear_claim_is_measured_from_at_least_the_floor() -> None:
    from baton.domain.turns import CLEAR_FLOOR, SWITCH_MARGIN, clear_bar

    assert clear_bar(0.0) == CLEAR_FLOOR + SWITCH_MARGIN
    assert clear_bar(0.7) == 0.7 + SWITCH_MARGIN
    assert clear_bar(0.0, 0.1) == CLEAR_FLOOR + 0.1
