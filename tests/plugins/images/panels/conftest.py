import pytest


@pytest.fixture
def context(qtbot, studio_home):
    from dlstudio_images.panels.stub import stub_context

    ctx = stub_context(studio_home)
    yield ctx
    ctx.shutdown()


@pytest.fixture
def host(context):
    return context._host
