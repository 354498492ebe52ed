"""Counts, durations and money as a person says them."""

from __future__ import annotations

import pytest

from models.wording import count, duration, money


@pytest.mark.parametrize(
    ("n", "said"),
    [
        (0, "0 webinar registrations"),
        (1, "1 webinar registration"),
        (2, "2 webinar registrations"),
        (1200, "1,200 webinar registrations"),
        (1.2, "1 webinar registration"),
    ],
)
def test_count_fits_the_noun_to_the_number(n: float, said: str) -> None:
    assert count(n, "webinar registration", "webinar registrations") == said


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (0.2, "less than a minute"),
        (1, "1 minute"),
        (5, "5 minutes"),
        (60, "60 minutes"),
        (240, "4 hours"),
        (1440, "24 hours"),
        (0.7 * 1440, "17 hours"),
        (10080, "7 days"),
        (30 * 1440, "4 weeks"),
        (180 * 1440, "6 months"),
        (800 * 1440, "2 years"),
    ],
)
def test_duration_in_the_unit_people_use(minutes: float, said: str) -> None:
    assert duration(minutes) == said


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        (950, "USD 950"),
        (1_500, "USD 1.5K"),
        (75_000, "USD 75K"),
        (1_752_000, "USD 1.8M"),
        (2_000_000, "USD 2M"),
        (999_999, "USD 1M"),
        (999_400, "USD 999K"),
        (3.4e9, "USD 3.4B"),
    ],
)
def test_money_carries_its_currency(amount: float, said: str) -> None:
    assert money(amount, "USD") == said
