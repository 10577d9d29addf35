"""The pipeline's own column names, the same for every data set.

A data set's columns, zones, interval and clock are declared in its spec
(:mod:`dpforecast.data.spec`); past ingest every table uses ``timestamp`` and the zones'
short ids.
"""

from __future__ import annotations

TIMESTAMP = "timestamp"
ROW = "row"  # line number in the source file (the header is line 1)
