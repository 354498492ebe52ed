"""timestamps.py: ISO with or without a zone, dates, epoch seconds and milliseconds; an
unreadable value is marked, never guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts.timestamps import UnknownTimeZone, check_zone, parse_timestamps


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_parse_iso_zoned_values_keep_their_zone() -> None:
    values = pd.Series(["2025-01-01T10:00:00.123Z", "2025-01-01T10:00:00+02:00"], dtype="str")
    parsed, bad = parse_timestamps(values, "iso", "Europe/Berlin")
    assert list(parsed) == [_utc("2025-01-01 10:00:00.123"), _utc("2025-01-01 08:00")]
    assert str(parsed.dtype) == "datetime64[us, UTC]" and not bad.any()


def test_parse_iso_salesforce_offset_without_colon() -> None:
    parsed, _ = parse_timestamps(pd.Series(["2025-03-04T10:11:12.000+0000"]), "iso")
    assert parsed.iloc[0] == _utc("2025-03-04 10:11:12")


def test_parse_iso_zoneless_and_dates_read_in_the_declared_zone() -> None:
    values = pd.Series(["2025-01-07 10:30", "2025-01-01", "2025-07-01"], dtype="str")
    parsed, bad = parse_timestamps(values, "iso", "Europe/Berlin")
    assert list(parsed) == [
        _utc("2025-01-07 09:30"),
        _utc("2024-12-31 23:00"),
        _utc("2025-06-30 22:00"),
    ]
    assert not bad.any()


def test_parse_iso_mixed_zones_and_a_bad_value_marks_only_the_bad_one() -> None:
    values = pd.Series(["2025-01-01T10:00:00Z", "2025-01-01", "soon", None, " 2025-01-02T00:00 "])
    parsed, bad = parse_timestamps(values, "iso", "UTC")
    assert bad.tolist() == [False, False, True, False, False]
    assert parsed.isna().tolist() == [False, False, True, True, False]
    assert parsed.iloc[4] == _utc("2025-01-02")


def test_parse_iso_daylight_saving_gaps_and_repeats_have_one_answer() -> None:
    values = pd.Series(["2025-03-30 02:30", "2025-10-26 02:30"], dtype="str")
    parsed, bad = parse_timestamps(values, "iso", "Europe/Berlin")
    assert list(parsed) == [_utc("2025-03-30 01:00"), _utc("2025-10-26 00:30")]
    assert not bad.any()


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("epoch_ms", "1736409600000", "2025-01-09 08:00"),
        ("epoch_ms", "1736409600123", "2025-01-09 08:00:00.123"),
        ("epoch_s", "1736409600", "2025-01-09 08:00"),
        ("epoch_ms", "1.7364096e12", "2025-01-09 08:00"),
    ],
)
def test_parse_epoch_numbers(fmt: str, text: str, expected: str) -> None:
    parsed, bad = parse_timestamps(pd.Series([text, None], dtype="str"), fmt)
    assert parsed.iloc[0] == _utc(expected) and pd.isna(parsed.iloc[1])
    assert not bad.any()


def test_parse_epoch_not_a_number_is_unreadable() -> None:
    parsed, bad = parse_timestamps(pd.Series(["1736409600000", "2025-01-09"]), "epoch_ms")
    assert bad.tolist() == [False, True] and pd.isna(parsed.iloc[1])


def test_parse_typed_timestamps_pass_through() -> None:
    naive = pd.Series(pd.to_datetime(["2025-01-01 12:00"]))
    parsed, bad = parse_timestamps(naive, "iso", "America/New_York")
    assert parsed.iloc[0] == _utc("2025-01-01 17:00") and not np.any(bad)


def test_check_zone_refuses_an_unknown_zone() -> None:
    assert check_zone("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(UnknownTimeZone, match="Mars/Olympus"):
        check_zone("Mars/Olympus")
