"""The in-memory API: :class:`DPForecast` and the values it is built from."""
