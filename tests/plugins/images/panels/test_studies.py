from dlstudio.engine import EpochEnd, FitEnded
from dlstudio.runner import Run, RunStarted
from dlstudio.spec import RunSpec
from dlstudio_images.kfold import fold_specs
from dlstudio_images.panels.studies import StudiesPage, study_book
from tests.plugins.images.test_evaluate import DIGITS_FAST


def _drive(context, spec):
    """Train ``spec`` as the window's queue would, emitting the context's signals."""
    run_id = None
    for record in Run(context.studio, spec).records():
        if isinstance(record, RunStarted):
            run_id = record.run_id
            context.run_started.emit(run_id, "images")
        elif isinstance(record, EpochEnd):
            context.run_epoch.emit(run_id, {"epoch": record.epoch, **record.metrics})
        elif isinstance(record, FitEnded):
            context.run_finished.emit(run_id, record.status, record.message)


def test_a_kfold_study_tables_each_fold_and_the_mean(qtbot, context, host):
    page = StudiesPage(context)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    assert page.empty.isVisible()
    specs = fold_specs(RunSpec.from_dict(DIGITS_FAST), 2)
    study = study_book(context).start("kfold", "2-fold digits", [(f"fold {i + 1}", s) for i, s in enumerate(specs)])
    assert page.list.count() == 1 and "waiting" in page.summary.text()
    assert not page.empty.isVisible()
    for spec in host.started:
        _drive(context, spec)
    assert set(study.status.values()) == {"completed"}
    assert page.table.rowCount() == 2
    assert all(page.table.item(r, 2).text().endswith("%") for r in range(2))
    assert "± " in page.summary.text() and "2 folds" in page.summary.text()
    assert "last epoch" in page.summary.text()
    assert len(page.plot.getPlotItem().listDataItems()) == 2


def test_runs_of_other_studies_or_none_are_ignored(qtbot, context, host):
    book = study_book(context)
    study = book.start("kfold", "k", [("fold 1", RunSpec.from_dict(DIGITS_FAST))])
    other = RunSpec.from_dict(DIGITS_FAST)
    other.run.name = "unrelated"
    _drive(context, other)
    assert study.run_ids == {} and study.status["fold 1"] == "queued"


def test_a_fold_whose_run_is_refused_is_marked_refused(qtbot, context, host):
    book = study_book(context)
    study = book.start("kfold", "k", [(f"fold {i}", RunSpec.from_dict(DIGITS_FAST)) for i in (1, 2)])
    context.run_refused.emit(study.tickets["fold 2"], "dataset could not be loaded")
    assert study.status == {"fold 1": "queued", "fold 2": "refused"}


def test_the_kfold_table_shows_each_folds_last_epoch_on_the_held_out_fold(qtbot, context, host):
    from tests.plugins.images.test_kfold import _scripted_fold

    page = StudiesPage(context)
    qtbot.addWidget(page)
    specs = fold_specs(RunSpec.from_dict(DIGITS_FAST), 2)
    study = study_book(context).start("kfold", "2-fold", [(f"fold {i + 1}", s) for i, s in enumerate(specs)])
    # Fold 1 peaks at 0.95 in epoch 2 and ends at 0.80; fold 2 ends at 0.90. By hand: 85.00% ± 5.00%.
    for spec, curve in zip(host.started, ([0.70, 0.95, 0.80], [0.60, 0.90, 0.90])):
        run_id = _scripted_fold(context.studio, spec.run.name, curve)
        context.run_started.emit(run_id, "images")
        context.run_finished.emit(run_id, "completed", "")
    assert set(study.status.values()) == {"completed"}
    header = [page.table.horizontalHeaderItem(c).text() for c in range(page.table.columnCount())]
    assert "held-out" in header[2].lower() and "last epoch" in header[2].lower()
    assert [page.table.item(r, 2).text() for r in range(2)] == ["80.00%", "90.00%"]
    assert [page.table.item(r, 3).text() for r in range(2)] == ["3", "3"]
    assert "85.00% ± 5.00%" in page.summary.text() and "over 2 folds" in page.summary.text()
