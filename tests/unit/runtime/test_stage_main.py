"""dpforecast.runtime.stage_main: bad input ends a stage with one line and an exit code; a bug keeps its traceback."""

from __future__ import annotations

import pytest

from dpforecast.data.ingest import RawFormatError
from dpforecast.errors import ConfigError
from dpforecast.features.zones import EmptyZoneError, SplitError
from dpforecast.privacy.ledger import BudgetExceededError
from dpforecast.runtime.stage_main import REFUSALS, run_stage
from dpforecast.validation import DataValidationError


def _raise(exc: BaseException):
    def body() -> None:
        raise exc

    return body


def test_a_body_that_succeeds_returns(capsys):
    ran = []
    run_stage("ingest", lambda: ran.append(True))
    assert ran == [True] and capsys.readouterr().err == ""


def test_a_failed_validation_exits_1_with_the_report(capsys):
    with pytest.raises(SystemExit) as ended:
        run_stage("validate", _raise(DataValidationError(None, "data/x.csv: line 7: count -3 below 0")))
    assert ended.value.code == 1
    assert capsys.readouterr().err == "validate: FAILED\ndata/x.csv: line 7: count -3 below 0\n"


@pytest.mark.parametrize("error", [
    ConfigError("params.yaml: train.epochs: expected an integer"),
    RawFormatError("data/x.csv: empty file"),
    BudgetExceededError("privacy budget exceeded on unit 'event'"),
    EmptyZoneError("zone z0003 has no count in the training period"),
    SplitError("the split leaves no test window"),
], ids=lambda e: type(e).__name__)
def test_a_refusal_exits_2_with_one_line_naming_the_stage(capsys, error):
    with pytest.raises(SystemExit) as ended:
        run_stage("features", _raise(error))
    assert ended.value.code == 2 and capsys.readouterr().err == f"features: {error}\n"


def test_anything_else_is_a_bug_and_propagates():
    assert not any(issubclass(KeyError, e) for e in REFUSALS)
    with pytest.raises(KeyError, match="oops"):
        run_stage("train", _raise(KeyError("oops")))
