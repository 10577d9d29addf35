"""DVC stage ``features``: calendar features and the chronological window split."""

from dpforecast.interrupts import sigterm_as_interrupt
from dpforecast.project import load_project
from dpforecast.stages.features import build_features

if __name__ == "__main__":
    with sigterm_as_interrupt():
        paths, params = load_project()
        counts = build_features(paths, params)
        print(f"features: windows per split {counts}")
