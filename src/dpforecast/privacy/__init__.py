"""Differential privacy: noise mechanisms, DP-SGD accounting, checks, reports and the budget ledger."""
