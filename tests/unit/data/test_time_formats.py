"""dpforecast.data.time_formats: a spec's strftime formats as the regular expressions validation checks cells with."""

from __future__ import annotations

import re

import pytest

from dpforecast.data.spec import Layout
from dpforecast.data.time_formats import ISO_OFFSET, ISO_REGEX, format_regexes


def _accepts(regex: str, *cells: str) -> list[bool]:
    return [re.fullmatch(regex, c) is not None for c in cells]


def test_an_iso8601_timestamp_allows_seconds_fractions_and_offsets_only_where_iso_does():
    regexes = format_regexes(Layout(kind="wide", timestamp="ts"))
    assert list(regexes) == ["ts"]
    regex, problem = regexes["ts"]
    assert regex == ISO_REGEX and problem == "not an ISO 8601 timestamp"
    assert _accepts(regex, "2024-03-31T02:30", "2024-03-31 02:30:15.25", "2024-03-31T02:30:00Z",
                    "2024-03-31T02:30:00+0200", "2024-03-31T02:30:00-05:00") == [True] * 5
    assert _accepts(regex, "2024-13-01T00:00", "2024-01-32T00:00", "2024-01-01T24:00", "2024-01-01",
                    "2024-01-01T00:00+25:00", "24-01-01T00:00") == [False] * 6


def test_the_offset_is_found_at_the_end_of_a_timestamp():
    assert re.search(ISO_OFFSET, "2024-01-01T00:00:00+01:00").group(1) == "+01:00"
    assert re.search(ISO_OFFSET, "2024-01-01T00:00:00Z").group(1) == "Z"
    assert re.search(ISO_OFFSET, "2024-01-01T00:00:00") is None


def test_a_strftime_timestamp_becomes_an_anchored_regex_with_its_literals_escaped():
    (regex, problem), = format_regexes(Layout(kind="wide", timestamp="ts", timestamp_format="%d.%m.%Y %H:%M")).values()
    assert problem == "not a %d.%m.%Y %H:%M timestamp"
    assert _accepts(regex, "31.12.2024 23:59", "01.01.2024 00:00") == [True, True]
    # "." is a literal dot, not any character; the month and hour are bounded
    assert _accepts(regex, "31x12x2024 23:59", "31.13.2024 23:59", "31.12.2024 24:00", "31.12.2024 23:59 ") == [False] * 4


def test_date_and_time_columns_each_get_their_format():
    layout = Layout(kind="wide", date="Date", time="Hour")
    regexes = format_regexes(layout)
    assert list(regexes) == ["Date", "Hour"]
    (date, date_problem), (time, time_problem) = regexes["Date"], regexes["Hour"]
    assert date_problem == "not a %Y-%m-%d date" and time_problem == "not a %H:%M:%S time"
    assert _accepts(date, "2020-08-24", "2020-8-24") == [True, False]
    assert _accepts(time, "04:00:00", "4:00:00", "04:60:00") == [True, False, False]


def test_a_time_range_with_an_unpadded_hour_is_accepted_as_a_range():
    layout = Layout(kind="wide", date="Date", time="Hour", time_format="%-H:%M", time_is_range=True)
    time, problem = format_regexes(layout)["Hour"]
    assert problem == "not a %-H:%M-%-H:%M time"
    assert _accepts(time, "6:00-6:59", "06:00-06:59", "23:00-23:59") == [True, True, True]
    assert _accepts(time, "6:00", "24:00-24:59", "6:00-") == [False, False, False]


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %I:%M", "%Y%j", "%Y-%m-%d %H:%M %p"])
def test_an_unsupported_directive_is_refused_naming_the_format(fmt: str):
    with pytest.raises(ValueError, match=rf"unsupported strftime directive in {re.escape(repr(fmt))}: use %Y %m %d"):
        format_regexes(Layout(kind="wide", timestamp="ts", timestamp_format=fmt))
