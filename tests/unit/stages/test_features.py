"""What the ``features`` stage prints: windows per split, their target periods, what was removed."""

from __future__ import annotations

from dpforecast.stages.features import features_report

SUMMARY = {
    "timezone": "Pacific/Auckland",
    "windows": {"train": 4560, "validation": 84, "test": 84},
    "periods": {"train": {"first": "2024-03-01T12:00:00+13:00", "last": "2025-03-21T22:00:00+13:00"},
                "validation": {"first": "2025-03-22T00:00:00+13:00", "last": "2025-03-28T22:00:00+13:00"},
                "test": {"first": "2025-03-29T00:00:00+13:00", "last": "2025-04-04T22:00:00+13:00"}},
    "windows_removed": {"before_history": 120, "gap_in_time": 7, "two_blocks": 0, "missing_count": 66},
    "missing_counts": {"z0003": 48},
    "dropped_zones": ["z0005"],
    "protocol": {"test_days": 7, "validation_days": 7, "history_days": 365},
}


def test_the_report_gives_every_period_in_the_data_sets_zone_and_each_removal_with_its_reason():
    assert features_report(SUMMARY).splitlines() == [
        "features: windows train 4560, validation 84, test 84; target periods (Pacific/Auckland):",
        "  train       2024-03-01T12:00:00+13:00 to 2025-03-21T22:00:00+13:00",
        "  validation  2025-03-22T00:00:00+13:00 to 2025-03-28T22:00:00+13:00",
        "  test        2025-03-29T00:00:00+13:00 to 2025-04-04T22:00:00+13:00",
        "  removed: 7 straddling a gap in time, 0 with targets in two blocks, 66 touching a missing count (48 missing "
        "in 1 zone(s))",
        "  not used: 120 before the training history (365 days)",
        "  zones left out (no count in the training period): z0005",
    ]
