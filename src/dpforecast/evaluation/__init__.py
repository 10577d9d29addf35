"""Forecast error on the raw count scale."""
