"""The Runs view's "Open in TensorBoard"."""

from __future__ import annotations


def test_open_in_tensorboard_opens_the_browser_at_the_run(demo_studio, make_window, qtbot, monkeypatch):
    from dlstudio.gui import tensorboard_action
    from dlstudio.tensorboard_server import TensorBoardServer
    from tests.runs import finished_run

    run_id = finished_run(demo_studio)
    started, opened = [], []
    monkeypatch.setattr(tensorboard_action, "start_tensorboard",
                        lambda logdir: started.append(logdir) or TensorBoardServer(logdir, 6123, None))
    monkeypatch.setattr(tensorboard_action.QDesktopServices, "openUrl", lambda url: opened.append(url.toString())
                        or True)
    window = make_window(demo_studio)
    window.show_runs()
    window.runs_view.select_ids([run_id])
    menu = window.runs_view.context_menu()
    action = next(a for a in menu.actions() if a.text() == "Open in TensorBoard")
    assert action.isEnabled()
    action.trigger()
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    assert started == [demo_studio.store.runs_dir]
    assert opened[0].startswith("http://localhost:6123/") and run_id in opened[0]
    assert window.errors == []
