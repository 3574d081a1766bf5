"""The Data page and the Train page edit one data definition: what is previewed is what trains."""

from dlstudio_images.panels.data_page import DataPage
from dlstudio_images.panels.train_page import TrainPage


def _pages(qtbot, context):
    train, data = TrainPage(context), DataPage(context)
    qtbot.addWidget(train)
    qtbot.addWidget(data)
    return train, data


def _choose(data_page, data_id):
    data_page.combo.setCurrentIndex(data_page.combo.findData(data_id))


def test_rotation_set_on_the_data_page_is_the_train_pages_spec(qtbot, context, host):
    train, data = _pages(qtbot, context)
    assert data.data_id() == "images.digits"  # the Data page opens on what the Train page's recipe trains
    _choose(data, "images.shapes")
    data.form().set_values({"rotation": 30.0, "hflip": True, "size": 32})
    spec = train.panel.current_spec()
    assert spec.data.id == "images.shapes"
    assert (spec.data.params["rotation"], spec.data.params["hflip"], spec.data.params["size"]) == (30.0, True, 32)
    train.panel.start()
    assert host.started[-1].data.params["rotation"] == 30.0


def test_rotation_set_on_the_train_page_is_what_the_data_page_previews(qtbot, context):
    train, data = _pages(qtbot, context)
    train.panel.data_box.select("images.shapes", {"rotation": 12.5, "num_classes": 3})
    assert data.data_id() == "images.shapes"
    values = data.form().values()
    assert (values["rotation"], values["num_classes"]) == (12.5, 3)
    data.form().widget("rotation").setText("20")  # typed, as a person does
    assert train.panel.current_spec().data.params["rotation"] == 20.0


def test_a_spec_loaded_into_either_page_shows_in_both(qtbot, context):
    train, data = _pages(qtbot, context)
    spec = context.studio.recipe_spec("shapes-resnet18-transfer").to_dict()
    spec["data"]["params"]["rotation"] = 7.0
    assert train.load_spec(spec)
    assert data.data_id() == "images.shapes" and data.form().values()["rotation"] == 7.0
    assert data.load_spec({"data": {"id": "images.digits", "params": {"rotation": 3.0}}})
    assert train.panel.current_spec().data.id == "images.digits"
    assert train.panel.current_spec().data.params["rotation"] == 3.0


def test_a_value_the_data_page_cannot_read_stops_the_train_pages_start(qtbot, context, host):
    train, data = _pages(qtbot, context)
    data.form().widget("rotation").setText("lots")
    assert train.panel.start() is None and host.started == []
    assert "Data page › Rotation" in host.errors[-1][1]
    data.form().widget("rotation").setText("5")
    assert train.panel.start() is not None
    assert host.started[-1].data.params["rotation"] == 5.0


def test_a_later_page_adopts_the_shared_data(qtbot, context):
    data = DataPage(context)
    qtbot.addWidget(data)
    _choose(data, "images.shapes")
    data.form().set_values({"rotation": 9.0})
    train = TrainPage(context)
    qtbot.addWidget(train)
    assert train.panel.current_spec().data.id == "images.shapes"
    assert train.panel.current_spec().data.params["rotation"] == 9.0


def test_an_edit_turns_the_recipe_custom_and_drops_its_name(qtbot, context):
    train, data = _pages(qtbot, context)
    assert train.panel.recipe_combo.currentData() == "digits-cnn"
    assert train.panel.name_edit.text() == "Digits CNN (offline demo)"
    data.form().set_values({"hflip": True})
    assert train.panel.recipe_combo.currentData() == ""
    assert train.panel.recipe_info.isHidden() and train.panel.name_edit.text() == ""
    train.panel.recipe_combo.setCurrentIndex(train.panel.recipe_combo.findData("digits-cnn"))
    assert train.panel.recipe_combo.currentData() == "digits-cnn"  # a recipe chosen is not an edit
    assert data.form().values()["hflip"] is False  # and the Data page shows the recipe's data again
