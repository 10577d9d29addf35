"""The code location: ``defs`` from ``dg.load_from_defs_folder`` over ``dagster_project/defs/``.

Why the defs folder rather than one hand-written ``dg.Definitions``: it is what ``dg``
scaffolds and ``dg check defs`` expects, new modules (schedules, sensors) are picked up
without editing this file, and resources are no harder: ``defs/resources.py`` binds them
with a ``@dg.definitions`` function, and ``Definitions.merge`` makes them available to every
asset and check of the folder. Tests override them through ``dg.materialize(resources=...)``.
"""

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
