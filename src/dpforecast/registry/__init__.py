"""The MLflow model registry: one registered model per task and variant, ``champion`` and
``challenger`` aliases, and the rule that decides when the champion changes."""
