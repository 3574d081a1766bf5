"""The store as ranks other than 0 see it: they read the run (to resume it) and never write it."""

from __future__ import annotations

from dlstudio.run_ranks import FollowerStore
from tests.runs import finished_run


def test_a_follower_reads_the_store_and_writes_nothing(demo_studio):
    run_id = finished_run(demo_studio)
    store = demo_studio.store
    before = (store.get(run_id), store.metrics(run_id), store.artifacts(run_id))
    follower = FollowerStore(store)
    assert follower.get(run_id) == before[0] and follower.run_dir(run_id) == store.run_dir(run_id)
    follower.set_status(run_id, "failed", "rank 1 says so")
    follower.record_epoch(run_id, 9, {"train_loss": 1.0}, best_epoch=None, best_value=None)
    follower.truncate_metrics(run_id, 0)
    follower.mark_running(run_id, "cpu")
    follower.replace_spec(run_id, "", epochs=1, params={})
    follower.delete(run_id)
    assert follower.create_run(name="x", plugin="", task="", model="", dataset="", params={}, spec="", device="",
                               epochs=1, monitor="") is None
    assert (store.get(run_id), store.metrics(run_id), store.artifacts(run_id)) == before
    assert len(store.list_runs()) == 1
    scratch = follower.scratch
    assert scratch.is_dir()
    follower.close()
    assert not scratch.exists()  # plugins' files of a rank other than 0 go, with the rank
