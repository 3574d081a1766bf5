"""Start-up off the GUI thread (dlstudio.gui.startup): the window responds while the libraries and plugins
load, says what is loading, reports a broken install, and builds its panels one per event-loop turn."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QTimer

from dlstudio.gui import app as gui_app
from dlstudio.gui import startup
from dlstudio.gui.app import gui_settings, load_in_background
from dlstudio.gui.main_window import MainWindow
from dlstudio.plugins import module_candidate
from dlstudio.studio import Studio
from tests.fixture_plugins import demo_plugin


@pytest.fixture
def bare_window(qtbot, studio_home):
    window = MainWindow(gui_settings(studio_home))
    window.home = studio_home
    qtbot.addWidget(window)
    yield window
    if window.queue is not None:
        window.queue.shutdown()


@pytest.fixture
def slow_demo_studio(monkeypatch):
    """The demo plugin, opened slowly (as torch's import is): the window must keep responding meanwhile."""
    def open_slowly(home):
        time.sleep(0.6)
        return Studio.open(home, [module_candidate("demo", demo_plugin)])

    monkeypatch.setattr(gui_app, "open_studio", open_slowly)


def test_the_window_responds_and_shows_progress_while_everything_loads(bare_window, slow_demo_studio, qtbot):
    ticks, texts, loaded = [], [], []
    loader = load_in_background(bare_window, lambda: loaded.append(True))
    ticker = QTimer(bare_window)
    ticker.timeout.connect(lambda: ticks.append(loader.is_loading()))
    ticker.start(10)
    loader.progress.connect(lambda text, done, total: texts.append((text, done, total)))
    assert bare_window.pages.currentWidget().objectName() == "loading_page"
    qtbot.waitUntil(lambda: bool(loaded), timeout=60_000)
    ticker.stop()
    # The event loop ran while the plugins loaded (how long it was ever held up: bench/bench_gui_latency.py).
    assert ticks.count(True) > 20
    assert [t for t, _d, _n in texts][-1] == "Loading the plugins' panels…"
    assert [d for _t, d, _n in texts] == sorted(d for _t, d, _n in texts)
    assert bare_window.studio is not None and "demo" in bare_window.family_pages
    pages = [bare_window.pages.widget(i) for i in range(bare_window.pages.count())]
    assert not any(isinstance(page, startup.LoadingPage) for page in pages)  # the loading page is gone


def test_a_broken_install_is_reported_in_the_window(bare_window, monkeypatch, qtbot):
    def broken(_home):
        raise ImportError("libtorch_cpu.so: cannot open shared object file")

    monkeypatch.setattr(gui_app, "open_studio", broken)
    load_in_background(bare_window)
    qtbot.waitUntil(lambda: bool(bare_window.errors), timeout=60_000)
    title, message = bare_window.errors[-1]
    assert "could not load its plugins" in title
    assert "libtorch_cpu.so" in message and "plugins" in message


def test_panels_are_built_one_per_turn_and_on_demand(bare_window, demo_studio, qtbot):
    bare_window.attach_studio(demo_studio, build_panels_later=True)
    # The shown panel at once (the family chosen shows its first tab)...
    assert bare_window.panels["demo.train"].objectName() == "demo.train"
    assert bare_window.family_pages["demo"].currentWidget().isAncestorOf(bare_window.panels["demo.train"])
    qtbot.waitUntil(lambda: not bare_window._unbuilt, timeout=10_000)


def test_a_panel_not_built_yet_is_built_when_asked_for(bare_window, demo_studio, monkeypatch):
    monkeypatch.setattr(bare_window, "_build_next_panel", lambda: None)  # no idle turns: only on demand
    bare_window.settings.setValue("window/family", "__runs__")  # nothing shown builds it
    bare_window.attach_studio(demo_studio, build_panels_later=True)
    assert "demo.train" in bare_window._unbuilt and "demo.train" not in bare_window.panels
    assert bare_window.show_panel("demo.train")
    assert bare_window.panels["demo.train"].start_button is not None


def test_a_message_posted_early_reaches_panels_not_yet_built(bare_window, demo_studio, monkeypatch):
    monkeypatch.setattr(bare_window, "_build_next_panel", lambda: None)
    bare_window.settings.setValue("window/family", "__runs__")
    bare_window.attach_studio(demo_studio, build_panels_later=True)
    assert bare_window._unbuilt
    bare_window.context.post("demo.anything", {})
    assert not bare_window._unbuilt


def test_torch_libraries_preload_without_breaking_torch():
    startup.preload_native_libraries()  # torch is imported already here: mapping again must be harmless
    import torch

    assert float(torch.ones(2) @ torch.ones(2)) == 2.0
