import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlstudio.modelio import build_model
from dlstudio.runner import Run, RunError, resolve_parts
from tests.plugins.images.factory import write_mnist

PACKAGE = Path(__import__("dlstudio_images").__file__).parent


def test_everything_registers_under_the_images_family(studio):
    reg = studio.registry
    assert "images" in reg.families and reg.families.get("images").order == 10
    record = studio.plugin_record("images")
    assert record.status == "loaded" and not record.warnings
    for catalog in (reg.models, reg.datasets):
        ids = [item.id for item in catalog if item.plugin == "images"]
        assert ids and all(i.startswith("images.") for i in ids)
    assert {"images.digits", "images.shapes", "images.folder", "images.mnist", "images.fashion_mnist",
            "images.cifar10", "images.features"} <= set(reg.datasets.ids())
    assert {"images.mnist_net", "images.dogscats_net", "images.resnet18", "images.resnet34", "images.resnet50",
            "images.vgg16", "images.vgg16_bn", "images.densenet121", "images.inception_v3",
            "images.mobilenet_v3_small", "images.efficientnet_b0", "images.feature_head",
            "images.ensemble_head"} <= set(reg.models.ids())
    # the app opens on the first recipe of the family: the offline digits demo
    assert next(r.id for r in reg.recipes if r.family == "images") == "digits-cnn"


def test_every_recipe_resolves_and_book_recipes_say_what_they_report(studio):
    for recipe in studio.registry.recipes:
        spec = studio.recipe_spec(recipe.id)
        resolve_parts(studio, spec)  # model/data params valid
        if recipe.id.startswith("book-"):
            assert "%" in recipe.reported_result
            assert recipe.data_note


def test_a_book_recipe_without_its_data_says_where_to_get_it(studio, tmp_path):
    spec = studio.recipe_spec("book-resnet18-transfer", [f'data.params.root="{tmp_path / "missing"}"'])
    with pytest.raises(RunError, match="does not exist"):
        list(Run(studio, spec).records())


@pytest.mark.parametrize("model_id", ["images.mnist_net", "images.resnet18", "images.mobilenet_v3_small",
                                      "images.feature_head", "images.ensemble_head"])
def test_models_build_standalone_from_their_default_data(studio, model_id):
    import torch

    loaded = build_model(studio, model_id)
    x = torch.randn(2, *loaded.data.input_shape)
    assert loaded.model.eval()(x).shape == (2, loaded.data.num_classes)


def test_the_plugin_loads_headless_without_qt():
    code = ("import sys; from dlstudio.studio import Studio; from dlstudio.plugins import module_candidate; "
            "import dlstudio_images.plugin as p; import tempfile; "
            "s = Studio.open(tempfile.mkdtemp(), [module_candidate('images', p)]); "
            "assert len(s.registry.recipes) > 10; assert 'PySide6' not in sys.modules, 'Qt imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_registering_the_plugin_imports_no_torch_and_building_imports_it_on_first_use():
    """``dlstudio --help`` and ``dlstudio plugins`` register every plugin: describing the image models and
    datasets must not cost torch's import; building and loading still work, importing it then."""
    code = textwrap.dedent("""
        import sys, tempfile
        from dlstudio.contract import LoadContext
        from dlstudio.plugins import module_candidate
        from dlstudio.studio import Studio
        import dlstudio_images.plugin as p

        s = Studio.open(tempfile.mkdtemp(), [module_candidate('images', p)])
        assert len(s.registry.models) > 10 and 'images.features' in s.registry.datasets
        heavy = sorted(m for m in sys.modules if m.partition('.')[0] in ('torch', 'torchvision'))
        assert not heavy, heavy[:5]
        data = s.registry.datasets.get('images.digits')
        bundle = data.load({**data.defaults, 'size': 16}, LoadContext(cache_dir=tempfile.mkdtemp(), seed=0))
        for model_id in ('images.mnist_net', 'images.resnet18', 'images.feature_head'):
            spec = s.registry.models.get(model_id)
            info = bundle.info if model_id == 'images.mnist_net' else spec.default_data
            assert spec.build(spec.defaults, info) is not None
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_a_torchvision_set_loads_through_its_registered_spec(studio, tmp_path, ctx):
    write_mnist(tmp_path)
    spec = studio.registry.datasets.get("images.mnist")
    bundle = spec.load({**spec.defaults, "root": str(tmp_path), "normalize": "none"}, ctx)
    assert (len(bundle.train), len(bundle.valid)) == (40, 20) and bundle.info.input_shape == (1, 28, 28)


def test_modules_stay_small():
    for path in PACKAGE.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path
