"""After a run: the Evaluate page chooses the newest completed run, the Train page offers "Evaluate this run",
and the learning-rate finder forgets a sweep of a model that has changed."""

import pytest

from dlstudio_images.panels.evaluate_page import EvaluatePage
from dlstudio_images.panels.train_page import TrainPage
from tests.plugins.images.factory import train
from tests.plugins.images.test_evaluate import DIGITS_FAST

TIMEOUT = 60_000


def _recorded_run(store, status):
    """A run in the store with one epoch recorded and ``status`` (nothing trained: the list only reads it)."""
    run_id = store.create_run(name=status, plugin="images", task="classification", model="images.mnist_net",
                              dataset="images.digits", params={}, spec="", device="cpu", epochs=2,
                              monitor="valid_accuracy")
    store.record_epoch(run_id, 1, {"valid_accuracy": 0.5}, best_epoch=1, best_value=0.5)
    store.set_status(run_id, status)
    return run_id


def test_the_evaluate_page_opens_on_the_newest_completed_run_not_a_newer_cancelled_one(qtbot, context):
    completed = _recorded_run(context.studio.store, "completed")
    cancelled = _recorded_run(context.studio.store, "cancelled")
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    assert page.runs.itemData(0) == cancelled  # listed first (newest), and said so
    assert "[cancelled]" in page.runs.itemText(0)
    assert page.runs.currentData() == completed


@pytest.mark.slow
def test_a_completed_run_of_the_train_page_is_one_click_from_its_evaluation(qtbot, context, host):
    train_page, evaluate_page = TrainPage(context), EvaluatePage(context)
    qtbot.addWidget(train_page)
    qtbot.addWidget(evaluate_page)
    older = _recorded_run(context.studio.store, "completed")
    ticket = train_page.panel.start()
    assert train_page.finished_box.isHidden()
    run_id, _ = train(context.studio, host.started[-1].to_dict() | {"train": DIGITS_FAST["train"]})
    evaluate_page.runs.setCurrentIndex(evaluate_page.runs.findData(older))  # the user looked at another run
    context.run_assigned.emit(ticket, run_id)  # what the window's queue says as the run trains and ends
    context.run_finished.emit(run_id, "completed", "")
    assert not train_page.finished_box.isHidden() and "completed" in train_page.finished_label.text()
    train_page.evaluate_button.click()
    assert host.shown[-1] == "images.evaluate"
    assert evaluate_page.runs.currentData() == run_id
    qtbot.waitUntil(lambda: evaluate_page.result is not None, timeout=TIMEOUT)
    assert evaluate_page.result.path.startswith(str(context.studio.store.run_dir(run_id)))


def test_a_run_another_page_started_offers_nothing(qtbot, context):
    page = TrainPage(context)
    qtbot.addWidget(page)
    run_id = _recorded_run(context.studio.store, "completed")
    context.run_assigned.emit("someone-else", run_id)
    context.run_finished.emit(run_id, "completed", "")
    assert page.finished_box.isHidden()


def test_the_lr_finder_forgets_its_sweep_when_the_model_changes(qtbot, context):
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.panel.data_box.form().set_values({"size": 16})
    page.lr_box.find()
    qtbot.waitUntil(lambda: page.lr_box.result is not None, timeout=TIMEOUT)
    assert page.lr_box.use_button.isEnabled() and page.lr_box.curve.getData()[0] is not None
    page.panel.model_box.form().set_values({"dropout": 0.4})
    assert page.lr_box.result is None and not page.lr_box.use_button.isEnabled()
    xs, _ = page.lr_box.curve.getData()
    assert xs is None or len(xs) == 0
    assert not page.lr_box.marker.isVisible()


def test_the_windows_evaluate_this_run_chooses_the_run_on_this_page(qtbot, context):
    """The run dock's and the Runs view's "Evaluate this run" show the page, then post ``run.evaluate``."""
    wanted = _recorded_run(context.studio.store, "completed")
    newer = _recorded_run(context.studio.store, "completed")
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    page.evaluate_selected = lambda: None  # (nothing trained here to evaluate)
    assert page.runs.currentData() == newer
    context.post("run.evaluate", {"run_id": wanted, "panel": "text.evaluate"})  # another family's page: not us
    assert page.runs.currentData() == newer
    context.post("run.evaluate", {"run_id": wanted, "panel": "images.evaluate"})
    assert page.runs.currentData() == wanted
