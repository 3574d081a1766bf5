"""A run's duration is the wall time it trained, summed over its segments: a run cancelled in its first epoch
did not take 00:00, and a resume adds its own time to the earlier segments'."""

import time

from dlstudio.engine import BatchEnd, RunControl
from dlstudio.runner import Run
from tests.runs import demo_spec, drive

PAUSE = 0.3  # seconds the test holds the run inside its first epoch (an independent clock: time.sleep)


def _cancelled_in_the_first_epoch(studio):
    control = RunControl()
    run = Run(studio, demo_spec(studio, "train.epochs=3"), control=control)
    began = time.monotonic()
    for record in run.records():
        if isinstance(record, BatchEnd) and not control.cancelled:
            time.sleep(PAUSE)
            control.cancel()
    return run, time.monotonic() - began


def test_a_run_cancelled_in_its_first_epoch_lasted_as_long_as_it_ran(demo_studio):
    run, wall = _cancelled_in_the_first_epoch(demo_studio)
    row = demo_studio.store.get(run.run_id)
    assert (row.status, row.epochs_done) == ("cancelled", 0)
    assert PAUSE <= row.duration <= wall  # before: 0 (only finished epochs counted)


def test_a_resumed_run_adds_its_segment_to_the_earlier_ones(demo_studio):
    run, _ = _cancelled_in_the_first_epoch(demo_studio)
    first = demo_studio.store.get(run.run_id).duration
    began = time.monotonic()
    drive(Run.resume(demo_studio, run.run_id))
    second_wall = time.monotonic() - began
    row = demo_studio.store.get(run.run_id)
    assert row.status == "completed"
    assert first < row.duration <= first + second_wall
