"""DVC stage ``train``: the architectures ``train.model`` selects, tracked in MLflow."""

from dpforecast.interrupts import sigterm_as_interrupt
from dpforecast.project import lineage, load_project
from dpforecast.stages.train import train

if __name__ == "__main__":
    with sigterm_as_interrupt():
        paths, params = load_project()
        for result in train(paths, params, lineage=lineage(paths, params)):
            print(f"train: {result['architecture']} test mean RMSE {result['test']['rmse']['mean']:.1f}")
