"""The raw file's columns and the short, stable names the pipeline uses for them.

The study calls the zones R1..R6 in column order; the original names are kept here so
that every report can map a short name back to the operator's zone.
"""

from __future__ import annotations

DATE = "Date"
HOUR = "Hour"
TOTAL = "Total"

ZONE_NAMES: dict[str, str] = {
    "r1": "Commune Montreuil",
    "r2": "IRIS 930480204",
    "r3": "IRIS 930480205",
    "r4": "IRIS 930480206",
    "r5": "IRIS 930480401",
    "r6": "IRIS 930480604",
}
ZONES: list[str] = list(ZONE_NAMES)
# R1 is the whole commune and R2..R6 are IRIS inside it: one person present in an IRIS
# during an interval is counted twice (in R1 and in that IRIS), in at most two counts.
CONTAINING_ZONE = "r1"
COUNTS_PER_PERSON_PER_INTERVAL = 2
RAW_COLUMNS: list[str] = [DATE, HOUR, *ZONE_NAMES.values(), TOTAL]
COUNT_COLUMNS: list[str] = [*ZONE_NAMES.values(), TOTAL]

TIMESTAMP = "timestamp"
INTERVAL_MINUTES = 30
INTERVALS_PER_DAY = 24 * 60 // INTERVAL_MINUTES
