"""Where DP-SGD's default hyper-parameters come from, and what a report says about them.

Choosing a private model's batch, epochs, learning rate, clipping norm or size by looking
at its own data set's validation or test windows is a release no accountant sees
(Papernot and Steinke 2022). dpforecast's DP-SGD defaults (``profiles/dp-sgd.yaml``, the
profile DP-SGD variants, the frontier and the audit train under) were chosen on another
data set, :data:`CHOSEN_ON`, by ``benchmarks/private_defaults.py`` on its validation block.
Every DP-SGD report says whether its run used them, and what follows.
"""

from __future__ import annotations

from pathlib import Path

from dpforecast.config import Params, params_from_dict

CHOSEN_ON = "auckland"
PROFILE = "dp-sgd"
HOW = "benchmarks/private_defaults.py on its validation block (BENCHMARKS.md, 'DP-SGD defaults')"


def chosen(params: Params, arch: str) -> dict[str, object]:
    """The hyper-parameters the defaults fix, as this run has them."""
    units, batch, lr = params.hyper(arch)
    gp = params.privacy.gp
    return {"units": units, "batch_size": batch, "learning_rate": lr, "epochs": params.train.epochs,
            "max_grad_norm": gp.max_grad_norm, "optimizer": gp.optimizer, "ema": gp.ema,
            "residual": params.residual()}


def defaults_for(params: Params) -> Params | None:
    """:data:`PROFILE` alone over the built-in defaults (not over ``params.yaml``, whose edits
    would then show on both sides), from the project root beside the data set's spec; None
    when that root has no such profile."""
    profiles = Path(params.data_set.path).resolve().parents[1] / "profiles"
    if not (profiles / f"{PROFILE}.yaml").is_file():
        return None
    return params_from_dict({"dataset": params.dataset}, profiles, {"profile": PROFILE})


def provenance_note(params: Params, arch: str, defaults: Params | None = None) -> str:
    """One sentence for the report, comparing this run with :data:`PROFILE` (``defaults``)."""
    defaults = defaults or defaults_for(params)
    if defaults is None:
        return (f"no {PROFILE} profile beside {params.dataset}'s spec: where the hyper-parameters were chosen is "
                f"unknown; a choice made by looking at {params.dataset}'s validation or test windows is not accounted")
    mine, tuned = chosen(params, arch), chosen(defaults, arch)
    shown = ", ".join(f"{k} {v}" for k, v in mine.items())
    if mine != tuned:
        changed = ", ".join(f"{k} {mine[k]} (default {tuned[k]})" for k in mine if mine[k] != tuned[k])
        return (f"hyper-parameters differ from dpforecast's DP-SGD defaults (chosen on {CHOSEN_ON}): {changed}. "
                f"If they were chosen by looking at {params.dataset}'s validation or test windows, that choice is "
                f"a release this report does not account")
    if params.dataset == CHOSEN_ON:
        return (f"hyper-parameters ({shown}) are dpforecast's DP-SGD defaults, chosen on this data set's own "
                f"validation block ({HOW}): that selection is NOT accounted here")
    return (f"hyper-parameters ({shown}) are dpforecast's DP-SGD defaults, chosen on {CHOSEN_ON} by {HOW}, never "
            f"on {params.dataset}'s data: choosing them cost {params.dataset} no privacy")
