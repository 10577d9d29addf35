"""Fitting a forecaster: device choice, seeding and the training loop."""
