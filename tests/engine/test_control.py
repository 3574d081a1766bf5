"""RunControl: the flags another thread sets and the loop honours between batches."""

from __future__ import annotations

import threading

import pytest

from dlstudio.engine import Cancelled, RunControl


def checker(control: RunControl) -> tuple[threading.Thread, list]:
    outcome: list = []

    def target():
        try:
            control.check()
            outcome.append("passed")
        except Cancelled:
            outcome.append("cancelled")

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def test_a_fresh_control_lets_the_loop_run():
    control = RunControl()
    assert not control.paused and not control.cancelled
    control.check()


def test_cancel_makes_check_raise():
    control = RunControl()
    control.cancel()
    assert control.cancelled and not control.paused
    with pytest.raises(Cancelled):
        control.check()


def test_pause_blocks_check_until_resume():
    control = RunControl()
    control.pause()
    assert control.paused
    thread, outcome = checker(control)
    thread.join(0.2)
    assert thread.is_alive() and outcome == []
    control.resume()
    thread.join(30)
    assert outcome == ["passed"] and not control.paused


def test_cancel_wakes_a_paused_check():
    control = RunControl()
    control.pause()
    thread, outcome = checker(control)
    thread.join(0.2)
    assert thread.is_alive()
    control.cancel()
    thread.join(30)
    assert outcome == ["cancelled"]
