import pytest

import dlstudio_images.plugin as images_plugin
from dlstudio.contract import LoadContext


@pytest.fixture
def studio(make_studio):
    """A studio with only the image plugin."""
    return make_studio(("images", images_plugin))


@pytest.fixture
def ctx(tmp_path):
    messages: list[str] = []
    return LoadContext(cache_dir=tmp_path / "cache" / "images.test", seed=0, report=messages.append)
