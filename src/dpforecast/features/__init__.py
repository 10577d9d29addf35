"""Model inputs: calendar features, sliding windows, the chronological split and scaling."""
