"""dpforecast.runtime.interrupts: SIGTERM unwinds a stage as Ctrl-C does, inside the block only."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from dpforecast.runtime.interrupts import sigterm_as_interrupt


def test_sigterm_raises_keyboard_interrupt_and_the_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(KeyboardInterrupt, match="received signal SIGTERM"), sigterm_as_interrupt():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            cleaned.append(True)
    assert cleaned == [True] and signal.getsignal(signal.SIGTERM) == before


def test_off_the_main_thread_nothing_changes():
    seen = []

    def body() -> None:
        with sigterm_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [before]
