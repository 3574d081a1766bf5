from dlstudio_images.panels.train_page import TrainPage

TIMEOUT = 60_000


def _page(qtbot, context):
    page = TrainPage(context)
    qtbot.addWidget(page)
    return page


def test_opens_on_the_digits_recipe_with_its_parameter_count(qtbot, context):
    page = _page(qtbot, context)
    assert page.panel.recipe_combo.currentData() == "digits-cnn"
    qtbot.waitUntil(lambda: "21,840" in page.counts.text(), timeout=TIMEOUT)
    page.panel.model_box.select("images.resnet18", {"freeze": "backbone"})
    page.panel.data_box.select("images.shapes", {"size": 32, "num_classes": 3})
    qtbot.waitUntil(lambda: "1,539" in page.counts.text(), timeout=TIMEOUT)  # 512×3 + 3 in the new fc
    assert "frozen" in page.counts.text() and "11,176,512" in page.counts.text()


def test_lr_finder_suggestion_is_one_click_away(qtbot, context):
    page = _page(qtbot, context)
    page.panel.data_box.form().set_values({"size": 16})
    page.lr_box.find()
    qtbot.waitUntil(lambda: page.lr_box.result is not None, timeout=TIMEOUT)
    suggestion = page.lr_box.result.suggestion
    assert suggestion and page.lr_box.use_button.isEnabled()
    page.lr_box.use_button.click()
    assert page.panel.train_form.values()["lr"] == float(f"{suggestion:.3g}")


def test_kfold_queues_k_runs_and_shows_the_studies(qtbot, context, host):
    page = _page(qtbot, context)
    page.k_spin.setValue(3)
    page.kfold_button.click()
    assert [(s.data.params["folds"], s.data.params["fold"]) for s in host.started] == [(3, 0), (3, 1), (3, 2)]
    assert host.shown == ["images.studies"]
    assert len({s.run.name for s in host.started}) == 3


def test_kfold_with_early_stopping_is_refused_with_what_to_change(qtbot, context, host):
    page = _page(qtbot, context)
    page.panel.advanced_form.set_values({"early_stopping": 2})
    page.kfold_button.click()
    assert host.started == [] and host.shown == []
    assert "held-out fold" in host.errors[-1][1] and "early_stopping to 0" in host.errors[-1][1]


def test_ensemble_needs_cached_features_of_several_backbones(qtbot, context, host):
    page = _page(qtbot, context)
    page.ensemble_button.click()
    assert host.errors and "Cached backbone features" in host.errors[-1][1]
    page.panel.recipe_combo.setCurrentIndex(page.panel.recipe_combo.findData("digits-features-ensemble"))
    page.ensemble_button.click()
    assert [s.model.id for s in host.started] == ["images.feature_head"] * 3 + ["images.ensemble_head"]


def test_clone_loads_a_runs_spec(qtbot, context, studio_home):
    page = _page(qtbot, context)
    spec = context.studio.recipe_spec("shapes-resnet18-transfer").to_dict()
    assert page.load_spec(spec)
    assert page.panel.model_box.current_id() == "images.resnet18"
