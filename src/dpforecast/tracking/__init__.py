"""MLflow tracking and the lineage (data version, git commit) every run records."""
