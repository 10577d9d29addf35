"""Experiments: what runs the pipeline's steps many times to compare settings (the study's
seeds, the privacy-utility frontier, rolling-origin backtests, the private variants, the
privacy audit). They sit above the stages; no building block or stage imports them."""
