"""The errors dpforecast raises for bad input, below every other module (no imports), so any
layer can raise them and the CLI can turn each into one line and a non-zero exit."""

from __future__ import annotations


class ConfigError(ValueError):
    """A parameter is missing, unknown or out of range (the message names the file and key)."""


class DataFileError(ValueError):
    """A data file cannot be read as counts (the message names the file and the line or column)."""
