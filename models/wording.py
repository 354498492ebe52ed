"""How Handoff says numbers to people: counts with their nouns, durations, money.

One home for these words, so a reason code, the review report, the demo and the review
pages all say "1 webinar registration", "4 hours" and "USD 1.8M" the same way, and never
"1 webinar registrations" or "10080 min".
"""

from __future__ import annotations

import math

# (unit, minutes in it, the largest count said in it before moving up a unit)
_DURATION_UNITS: tuple[tuple[str, str, float, float], ...] = (
    ("minute", "minutes", 1.0, 90.0),
    ("hour", "hours", 60.0, 48.0),
    ("day", "days", 1440.0, 14.0),
    ("week", "weeks", 10080.0, 9.0),
    ("month", "months", 43200.0, 24.0),
    ("year", "years", 525600.0, math.inf),
)
_MONEY_STEPS: tuple[tuple[float, str], ...] = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def count(n: float, one: str, many: str) -> str:
    """`n` with the noun that fits it: "1 web visit", "2 web visits", "1,200 employees"."""
    whole = round(n)
    return f"{whole:,} {one if whole == 1 else many}"


def duration(minutes: float) -> str:
    """A span in the largest unit that reads naturally: "5 minutes", "4 hours", "7 days"."""
    if math.isnan(minutes):
        return "an unknown time"
    minutes = abs(minutes)
    if minutes < 1:
        return "less than a minute"
    for one, many, size, most in _DURATION_UNITS:
        amount = round(minutes / size)
        if amount < most:
            return count(amount, one, many)
    raise AssertionError("unreachable: the last unit takes any amount")  # pragma: no cover


def money(amount: float, currency: str) -> str:
    """An amount with its currency, rounded as people say it: "USD 1.8M", "EUR 950"."""
    if math.isnan(amount):
        return f"an unknown amount of {currency}"
    for size, suffix in _MONEY_STEPS:
        if abs(amount) >= size * 0.9995:  # 999,999 is "1M", not "1,000K"
            scaled = amount / size
            figure = f"{scaled:,.0f}" if abs(scaled) >= 10 else f"{scaled:.1f}".replace(".0", "")
            return f"{currency} {figure}{suffix}"
    return f"{currency} {amount:,.0f}"
