"""The head of a household when several persons hold the head's citizen ID."""

from __future__ import annotations

from hub.resolve.households import choose_head


def test_the_head_is_the_holder_registered_in_the_household_whatever_the_reading_order() -> None:
    holders = {"P9": "H1", "P2": "H7", "P5": None}
    for order in (holders, dict(reversed(holders.items()))):
        assert choose_head(order, "H1") == "P9"  # the one living in this 户, though not the smallest id
        assert choose_head(order, "H3") == "P2"  # none lives here: the smallest id, not the last one read
    assert choose_head({}, "H1") is None and choose_head(None, "H1") is None
