import pytest

from dlstudio.gui.forms import ParamForm
from dlstudio.spec import SpecError


@pytest.fixture
def form(qtbot):
    widget = ParamForm({"epochs": 3, "lr": 0.1, "name": "run", "amp": False, "sizes": [64, 32],
                        "normalize": {"mean": [0.5], "std": [0.25]}, "pool": "avg"},
                       choices={"pool": ["avg", "max"]})
    qtbot.addWidget(widget)
    return widget


def test_each_type_gets_its_widget_and_values_come_back_typed(form):
    assert form.values() == {"epochs": 3, "lr": 0.1, "name": "run", "amp": False, "sizes": [64, 32],
                             "normalize": {"mean": [0.5], "std": [0.25]}, "pool": "avg"}
    assert form.widget("sizes").text() == "[64, 32]"
    assert form.widget("normalize").text() == "{ mean = [0.5], std = [0.25] }"


def test_set_values_round_trips_lists_and_tables(form):
    form.set_values({"sizes": [8], "normalize": {"mean": [0.1, 0.2]}, "pool": "max", "amp": True})
    values = form.values()
    assert (values["sizes"], values["normalize"], values["pool"], values["amp"]) == ([8], {"mean": [0.1, 0.2]},
                                                                                     "max", True)


@pytest.mark.parametrize(("key", "text", "message"), [
    ("sizes", "[64, ", "Sizes: '[64,' is not a list like [64, 32]"),
    ("sizes", "7", "Sizes: expected a list, got '7'"),
    ("normalize", "mean = 1", "Normalize: 'mean = 1' is not a dict like { mean = [0.5], std = [0.25] }"),
    ("lr", "fast", "Lr: 'fast' is not a number"),
])
def test_bad_text_names_the_field(form, key, text, message):
    form.widget(key).setText(text)
    with pytest.raises(SpecError) as info:
        form.values()
    assert str(info.value) == message
