import pytest

import dlstudio_inspector.plugin as inspector_plugin
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.samples import candidate_datasets, load_dataset, run_dataset, sample_at
from dlstudio_inspector.sources import open_registered, open_target
from tests.fixture_plugins import demo_plugin


@pytest.fixture
def demo(make_studio):
    return make_studio(("demo", demo_plugin), ("inspector", inspector_plugin))


def test_samples_from_the_models_family_dataset(demo):
    from dlstudio.contract import DataInfo

    opened = open_registered(demo, "demo.mlp", data=DataInfo(input_shape=(4,), classes=("a", "b", "c")))
    assert candidate_datasets(demo, opened) == ["demo.blobs"]
    bundle = load_dataset(demo, "demo.blobs", {"samples": 50})
    sample = sample_at(bundle, 3, "valid", expected=(4,))
    assert sample.x.shape == (1, 4) and sample.split == "valid" and sample.label_name in ("c0", "c1", "c2")
    assert opened.model(sample.x).shape == (1, 3)
    with pytest.raises(InspectorError, match="the model expects 3×32×32"):
        sample_at(bundle, 0, expected=(3, 32, 32))


def test_a_runs_own_dataset_comes_first(demo):
    from dlstudio.runner import Run, run_to_end
    from dlstudio.spec import RunSpec

    spec = RunSpec.from_dict({"model": {"id": "demo.mlp"}, "data": {"id": "demo.blobs", "params": {"samples": 80}},
                              "train": {"epochs": 1}, "run": {"device": "cpu"}})
    run = Run(demo, spec)
    run_to_end(run)
    opened = open_target(demo, f"run:{run.run_id}")
    assert run_dataset(opened) == ("demo.blobs", {"samples": 80})
    assert candidate_datasets(demo, opened)[0] == "demo.blobs"
