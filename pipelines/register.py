"""DVC stage ``register``: register the trained models in MLflow and apply the promotion rule."""

from dpforecast.interrupts import sigterm_as_interrupt
from dpforecast.project import lineage, load_project
from dpforecast.stages.register import decisions_table, register

if __name__ == "__main__":
    with sigterm_as_interrupt():
        paths, params = load_project()
        print(decisions_table(register(paths, params, lineage=lineage(paths, params))))
