"""Dagster code location for dpforecast: the DVC pipeline's stages as software-defined assets.

Every asset calls the same :mod:`dpforecast.stages` function as the matching
``pipelines/*.py`` script and writes the same files (:class:`dpforecast.runtime.paths.Paths`),
so a Dagster materialization and a ``dvc repro`` of one project root agree byte for byte.
"""
