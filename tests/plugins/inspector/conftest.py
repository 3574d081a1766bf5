import pytest

import dlstudio_inspector.plugin as inspector_plugin
from tests.plugins.inspector import tiny_models


@pytest.fixture
def studio(make_studio):
    """A studio with the inspector and the tiny test models (nothing else)."""
    return make_studio(("inspector", inspector_plugin), ("tiny", tiny_models))
