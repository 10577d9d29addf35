"""The pipeline's stages: one function each, called by DVC (pipelines/) and Dagster alike."""
