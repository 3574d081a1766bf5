"""Style-transfer specs as the panel and the CLI build them, and what registering the part costs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dlstudio.spec import RunSpec
from dlstudio_generative.style.catalog import TASK_PARAMS, callback_specs, dataset_specs, model_specs, task_specs
from dlstudio_generative.style.spec import RECORD_EVERY, stylize_result_image
from dlstudio_generative.style.spec import style_spec as make_spec


def test_the_spec_is_valid_and_says_what_the_user_chose():
    raw = make_spec("sample:landscape", "/pictures/starry.jpg", size=96, iterations=50, snapshot_every=2,
                    keep_colors=True)
    spec = RunSpec.from_dict(raw)
    assert spec.run.task == "style-transfer" and spec.run.name == "landscape in the style of starry"
    assert (spec.model.id, spec.data.id) == ("generative.canvas", "generative.style-pair")
    assert spec.data.params == {"content": "sample:landscape", "style": "/pictures/starry.jpg", "size": 96}
    assert spec.task.params == {"features": "random-banks", "snapshot_every": 2, "keep_colors": True}
    assert (spec.train.steps, spec.train.eval_every, spec.train.lr) == (50, RECORD_EVERY, 1.0)
    assert spec.train.keep_best is False
    assert RunSpec.from_dict(make_spec("a.png", "b.png", iterations=5)).train.eval_every == 5
    assert make_spec("a.png", "b.png", iterations=500, snapshot_every=50)["train"]["eval_every"] == 50
    assert make_spec("a.png", "b.png", record_every=7)["train"]["eval_every"] == 7


def test_vgg19_gets_the_books_balance_unless_told():
    assert make_spec("a.png", "b.png", features="vgg19")["task"]["params"]["style_weight"] == 1.0
    assert make_spec("a.png", "b.png", features="vgg19", style_weight=5.0)["task"]["params"]["style_weight"] == 5.0
    assert "style_weight" not in make_spec("a.png", "b.png")["task"]["params"]  # the task's default: 30


def test_bad_spec_arguments_are_refused():
    with pytest.raises(ValueError, match="no parameter 'colour'; its parameters are features, vgg_weights"):
        make_spec("a.png", "b.png", colour=True)
    with pytest.raises(ValueError, match="must be at least 1"):
        make_spec("a.png", "b.png", snapshot_every=0)


def test_a_run_without_pictures_says_so(tmp_path):
    with pytest.raises(ValueError, match="no picture yet"):
        stylize_result_image(tmp_path)


def test_every_task_parameter_explains_itself():
    for key, param in TASK_PARAMS.items():
        assert len(param.help) > 20, key
    for spec in (*model_specs(), *dataset_specs(), *task_specs(), *callback_specs()):
        spec.validate()


def test_registering_and_building_specs_imports_no_torch():
    # Recipes are built with style_spec when the plugin registers, and `dlstudio recipes` must stay light.
    code = textwrap.dedent("""
        import sys
        from dlstudio_generative.style import catalog, layers, samples, snapshots, spec
        items = catalog.model_specs() + catalog.dataset_specs() + catalog.task_specs() + catalog.callback_specs()
        assert len(items) == 4
        spec.style_spec("sample:landscape", "sample:mosaic", features="vgg19")
        print(sorted(m for m in ("torch", "torchvision") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
