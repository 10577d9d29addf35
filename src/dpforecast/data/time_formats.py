"""What a spec's time formats accept, as regular expressions: checked when a spec is read
and used by validation's phase 1, one reading for both. Below the spec (no imports of it)."""

from __future__ import annotations

import re
from typing import Protocol

ISO8601 = "iso8601"

# strftime directive -> regular expression of what it accepts (phase 1 format checks).
_DIRECTIVES = {
    "%Y": "[0-9]{4}",
    "%m": "(?:0[1-9]|1[0-2])",
    "%d": "(?:0[1-9]|[12][0-9]|3[01])",
    "%H": "(?:[01][0-9]|2[0-3])",
    "%-H": "(?:[01]?[0-9]|2[0-3])",
    "%M": "[0-5][0-9]",
    "%S": "[0-5][0-9]",
}
ISO_REGEX = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r"(?::[0-5][0-9](?:\.[0-9]+)?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?$"
)
ISO_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"


class TimeLayout(Protocol):
    """The time columns of a spec's layout (:class:`dpforecast.data.spec.Layout`)."""

    timestamp: str | None
    timestamp_format: str
    date: str | None
    date_format: str
    time: str | None
    time_format: str
    time_is_range: bool


def _pattern(fmt: str) -> str:
    out, i = "", 0
    while i < len(fmt):
        token = next((d for d in ("%-H", *_DIRECTIVES) if fmt.startswith(d, i)), None)
        if token is None:
            if fmt[i] == "%":
                raise ValueError(f"unsupported strftime directive in {fmt!r}: use %Y %m %d %H %-H %M %S")
            out += re.escape(fmt[i])
            i += 1
        else:
            out += _DIRECTIVES[token]
            i += len(token)
    return out


def format_regexes(layout: TimeLayout) -> dict[str, tuple[str, str]]:
    """Time column -> (regular expression, what a mismatch means in words)."""
    if layout.timestamp:
        if layout.timestamp_format == ISO8601:
            return {layout.timestamp: (ISO_REGEX, "not an ISO 8601 timestamp")}
        return {layout.timestamp: (f"^{_pattern(layout.timestamp_format)}$", f"not a {layout.timestamp_format} timestamp")}
    time = _pattern(layout.time_format)
    if layout.time_is_range:
        time = f"{time}-{time}"
    problem = f"not a {layout.time_format}{'-' + layout.time_format if layout.time_is_range else ''} time"
    return {
        layout.date: (f"^{_pattern(layout.date_format)}$", f"not a {layout.date_format} date"),  # type: ignore[dict-item]
        layout.time: (f"^{time}$", problem),  # type: ignore[dict-item]
    }
