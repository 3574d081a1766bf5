"""Test helpers, loaded as a pytest plugin: an isolated data folder and a studio that discovers nothing
unless told (so a developer's installed plugins never leak into a test)."""

from __future__ import annotations

import gc

import pytest

from dlstudio.plugins import module_candidate
from dlstudio.studio import Studio
from tests.fixture_plugins import demo_plugin


def pytest_configure(config):
    # As in the window (dlstudio.gui.gc_policy): the cyclic collector must never run on a run or
    # background thread, where it would destroy Qt objects off the GUI thread (issue 8). Tests collect
    # on the main thread between tests instead.
    gc.disable()


def pytest_collection_finish(session):
    # torch, Qt and the plugins are imported by now: keep the per-test collections from rescanning them.
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def collect_garbage_on_the_main_thread():
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def studio_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    monkeypatch.delenv("DLSTUDIO_DISABLED_PLUGINS", raising=False)
    # Set (empty: off), not deleted, so that safe mode entered during a test is undone after it.
    monkeypatch.setenv("DLSTUDIO_SAFE_MODE", "")
    return home


@pytest.fixture
def make_studio(studio_home):
    def make(*plugins):
        candidates = [module_candidate(name, module) for name, module in plugins]
        return Studio.open(studio_home, candidates)

    return make


@pytest.fixture
def demo_studio(make_studio):
    return make_studio(("demo", demo_plugin))


@pytest.fixture
def make_window(qtbot, studio_home):
    """A main window over a studio of the given plugins; runs stopped and window closed after the test."""
    from dlstudio.gui.app import gui_settings, warm_up_torch
    from dlstudio.gui.main_window import MainWindow

    windows = []

    def make(studio):
        warm_up_torch()
        window = MainWindow(gui_settings(studio.home))
        window.home = studio.home
        window.attach_studio(studio)
        windows.append(window)
        return window

    yield make
    for window in windows:
        # Stop runs before closing: closing a window with a run in progress asks the user (a modal).
        if window.queue is not None:
            assert window.queue.shutdown(), "a run thread did not stop within the shutdown timeout"
        window.close()
        window.deleteLater()


@pytest.fixture
def demo_window(make_window, demo_studio):
    return make_window(demo_studio)


@pytest.fixture
def one_thread():
    """Torch on one thread: small models gain nothing from threads, a busy machine's spinning threads slow them
    tenfold, and a child process that trains on one thread computes the same numbers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
