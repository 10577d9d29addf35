"""dpforecast: differentially private forecasting of aggregated mobility counts."""

__version__ = "0.1.0"
