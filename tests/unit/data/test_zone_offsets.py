"""The time zones a file's UTC offsets belong to, and the one a new data set's spec gets."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from dpforecast.data.zone_offsets import infer_timezone, named_zones, zones_with_offsets

YEAR = pl.datetime_range(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC), "1d", eager=True)


def offsets(zone: str) -> pl.Series:
    local = YEAR.dt.convert_time_zone(zone)
    return (local.dt.base_utc_offset() + local.dt.dst_offset()).dt.total_minutes()


def test_zones_with_offsets_are_the_places_that_agree_at_every_instant():
    assert zones_with_offsets(YEAR, offsets("Pacific/Auckland")) == ["Pacific/Auckland"]
    paris = zones_with_offsets(YEAR, offsets("Europe/Paris"))
    assert "Europe/Paris" in paris and "Europe/London" not in paris and "Africa/Lagos" not in paris
    assert zones_with_offsets(YEAR.head(1), pl.Series([13 * 60 + 7])) == []  # no place is at +13:07
    assert zones_with_offsets(YEAR.head(1), pl.Series([-10 * 60])) == sorted(zones_with_offsets(YEAR.head(1),
                                                                                                pl.Series([-600])))


def test_a_year_of_offsets_names_the_zone_or_the_name_picks_among_those_that_fit():
    akl = infer_timezone(YEAR, offsets("Pacific/Auckland"), ["counts", "export"])
    assert akl.timezone == "Pacific/Auckland" and akl.candidates == ("Pacific/Auckland",) and "only zone" in akl.why
    paris = infer_timezone(YEAR, offsets("Europe/Paris"), ["lille", "paris_counts"])
    assert paris.timezone == "Europe/Paris" and len(paris.candidates) > 3 and "the name says so" in paris.why
    unnamed = infer_timezone(YEAR, offsets("Europe/Paris"), ["city"])
    assert unnamed.timezone == unnamed.candidates[0] and "choose yours" in unnamed.why


def test_without_offsets_only_the_name_can_say_and_else_utc_is_flagged():
    assert infer_timezone(YEAR, None, ["sydney_sensors"]).timezone == "Australia/Sydney"
    utc = infer_timezone(YEAR, pl.Series([0] * YEAR.len()), ["counts"])
    assert utc.timezone == "UTC" and "every time is written in UTC" in utc.why and "set timezone" in utc.why
    assert named_zones(["America/Sao_Paulo", "Europe/Rome"], ["sao_paulo_2024"]) == ["America/Sao_Paulo"]
