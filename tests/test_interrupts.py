"""The one stop mechanism: what SIGINT and SIGTERM do to a run, whichever code is running when they come."""

from __future__ import annotations

import os
import signal

import pytest

from detector.interrupts import Aborted, Stopped, StopSignals, stop_reason


def send(signum: int) -> None:
    """Signal this process: the handler runs before the next line."""
    os.kill(os.getpid(), signum)


def test_the_first_signal_interrupts_reading_and_says_which_it_was():
    previous = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop, pytest.raises(Stopped) as stopped:
        send(signal.SIGTERM)
    assert stop_reason(stopped.value) == stop.requested == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is previous  # restored when the run ends
    assert stop_reason(KeyboardInterrupt()) == "SIGINT"  # a plain Ctrl-C


def test_held_signals_wait_for_the_end_of_the_unit_of_work():
    stop = StopSignals()
    done = []
    with pytest.raises(Stopped, match="SIGINT"), stop.held():  # outside a run: installed for the block only
        send(signal.SIGINT)
        done.append("batch")  # not interrupted in the middle
    assert done == ["batch"] and not stop.installed


def test_a_polled_stop_only_records_and_a_second_sigint_aborts():
    with StopSignals() as stop, stop.polled():
        send(signal.SIGTERM)
        assert stop.requested == "SIGTERM"
        send(signal.SIGTERM)  # repeated: still one clean stop
        with pytest.raises(Aborted):
            send(signal.SIGINT)
