"""Serving: forecasts from a registered model and a window of recent counts."""
