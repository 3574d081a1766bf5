"""The forms' "?": the idea behind the main training settings, a click away, offline."""

import pytest

from dlstudio.gui.concepts import CONCEPT_OF_KEY, CONCEPTS, concept_for
from dlstudio.gui.forms import ParamForm, train_form_parts
from dlstudio_images.data.catalog import SOURCES
from dlstudio_images.models.catalog import model_specs

#: The ideas the issue names, and a key of a field that must offer each.
MAIN = {"learning_rate": "lr", "weight_decay": "weight_decay", "momentum": "momentum", "scheduler": "scheduler",
        "freezing": "freeze", "augmentation": "rotation", "batch_size": "batch_size",
        "early_stopping": "early_stopping", "mixed_precision": "amp", "kfold": "folds", "ensembles": "backbones"}


def test_every_train_field_has_help_or_an_explanation():
    basic, advanced, _ = train_form_parts()
    for key, param in {**basic, **advanced}.items():
        assert param.help or concept_for(key), key


def test_the_main_concepts_are_explained_in_a_few_sentences():
    for name, key in MAIN.items():
        concept = CONCEPTS[name]
        assert CONCEPT_OF_KEY[key] == name
        sentences = concept.text.count(". ") + 1
        assert 3 <= sentences <= 8 and len(concept.text) < 900, name
    assert set(CONCEPT_OF_KEY.values()) <= set(CONCEPTS)


def test_every_image_model_and_data_field_has_a_tooltip_with_more_than_its_key(qtbot):
    # A field's tooltip is its help, or else its concept's summary: never only "Key: ...".
    for item in [*model_specs(), *SOURCES.values()]:
        form = ParamForm(item.defaults, item.choices)
        qtbot.addWidget(form)
        for key in form.params:
            if concept_for(key) or form.params[key].help:
                assert not form.widget(key).toolTip().startswith("Key:"), (item.id, key)


@pytest.mark.parametrize("key", ["lr", "weight_decay", "scheduler", "amp", "batch_size"])
def test_the_question_mark_opens_the_explanation_without_blocking(qtbot, key):
    basic, advanced, choices = train_form_parts()
    form = ParamForm({**basic, **advanced}, choices)
    qtbot.addWidget(form)
    button = form.concept_button(key)
    assert button is not None and button.text() == "?"
    button.click()
    assert button.box.isVisible() and not button.box.isModal()
    assert button.box.text() == concept_for(key).text
    button.box.close()


def test_freezing_and_augmentation_fields_have_their_question_mark(qtbot):
    resnet = next(m for m in model_specs() if m.id == "images.resnet18")
    form = ParamForm(resnet.defaults, resnet.choices)
    qtbot.addWidget(form)
    form.concept_button("freeze").click()
    assert "layer3" in form.concept_button("freeze").box.text()
    data = ParamForm(SOURCES["images.shapes"].defaults, SOURCES["images.shapes"].choices)
    qtbot.addWidget(data)
    assert all(data.concept_button(k) for k in ("hflip", "rotation", "color_jitter", "random_resized_crop"))
    assert form.concept_button("weights_file") is None  # no "?" where nothing is written


def test_the_train_page_explains_k_fold_and_ensembles(qtbot, studio_home):
    from dlstudio_images.panels.stub import stub_context
    from dlstudio_images.panels.train_page import TrainPage

    context = stub_context(studio_home)
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.kfold_concept.click()
    page.ensemble_concept.click()
    assert page.kfold_concept.box.text() == CONCEPTS["kfold"].text
    assert page.ensemble_concept.box.text() == CONCEPTS["ensembles"].text
    context.shutdown()
