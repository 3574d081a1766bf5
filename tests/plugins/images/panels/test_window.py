def test_the_image_family_opens_in_the_window_with_its_pages(make_window, studio):
    window = make_window(studio)
    assert {"images.train", "images.data", "images.evaluate", "images.studies"} <= set(window.panels)
    assert not studio.plugin_record("images").warnings
    assert window.panels["images.train"].panel.recipe_combo.currentData() == "digits-cnn"
    assert window.show_panel("images.studies")


def test_clone_of_an_image_run_lands_in_the_train_page(make_window, studio):
    window = make_window(studio)
    spec = studio.recipe_spec("shapes-scratch-cnn").to_dict()
    window.clone_run("images", spec)
    page = window.panels["images.train"]
    assert page.panel.model_box.current_id() == "images.dogscats_net"
    assert page.panel.data_box.current_id() == "images.shapes"
