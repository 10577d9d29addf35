"""How a DVC stage script runs: the stage, or one line saying what is wrong with the input.

Bad input (a spec or parameter, a data file, a delivery that fails validation, a zone
with no counts, an exhausted privacy budget) is the user's to fix, so it gets the
stage's name and the library's message, which names the file and the key, line or
column, and a non-zero exit: never a traceback. Anything else is a bug and keeps its
traceback. Stages write their outputs atomically, so a refused run leaves nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from dpforecast.data.ingest import RawFormatError
from dpforecast.errors import ConfigError
from dpforecast.privacy.refusals import PRIVACY_REFUSALS
from dpforecast.runtime.interrupts import sigterm_as_interrupt
from dpforecast.validation import DataValidationError

# A refusal the user can act on (exit 2); a failed validation exits 1, as `dpforecast validate`.
REFUSALS: tuple[type[BaseException], ...] = (ConfigError, RawFormatError, *PRIVACY_REFUSALS)


def run_stage(name: str, body: Callable[[], None]) -> None:
    from dpforecast.features.zones import EmptyZoneError, SplitError

    with sigterm_as_interrupt():
        try:
            body()
        except DataValidationError as exc:
            print(f"{name}: FAILED\n{exc}", file=sys.stderr)
            sys.exit(1)
        except (*REFUSALS, EmptyZoneError, SplitError) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            sys.exit(2)
