"""What a plugin's panel gets from the window: the studio, runs, devices, background work, messages.

A panel factory receives one :class:`StudioContext`; it is the panels' whole view of the window, so
plugins never reach into the window's internals (and tests can hand a panel a context of their own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from dlstudio.gui.background import BackgroundJob
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio


class Host(Protocol):
    """What the window provides behind the context (the main window implements it)."""

    def start_run(self, spec: RunSpec, resume_id: str | None) -> str | None: ...
    def current_device(self) -> str: ...
    def is_running(self) -> bool: ...
    def cancel_run(self, key: str) -> bool: ...
    def notify(self, text: str, level: str) -> None: ...
    def show_error(self, title: str, message: str, details: str) -> None: ...
    def show_panel(self, panel_id: str) -> bool: ...


class StudioContext(QObject):
    """Signals about runs, plus the calls a panel may make."""

    #: A run entered the store and began training: ``(run_id, plugin)``.
    run_started = Signal(str, str)
    #: Which queued run (the ticket :meth:`start_run` returned) became which stored run: ``(ticket, run_id)``.
    run_assigned = Signal(str, str)
    #: An epoch ended: ``(run_id, {"epoch": n, "train_loss": ..., ...})``.
    run_epoch = Signal(str, dict)
    #: A run ended: ``(run_id, status, message)``; status is completed/stopped/cancelled/failed.
    run_finished = Signal(str, str, str)
    #: A queued run ended before it trained (its data or model was refused, a resume could not resume):
    #: ``(ticket, message)``; ``run_finished`` follows with an empty run id.
    run_refused = Signal(str, str)
    #: A message on the cross-plugin bus: ``(topic, payload)``, e.g. ("model.open", {"path": ...}).
    message_posted = Signal(str, dict)

    def __init__(self, studio: Studio, host: Host, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self._host = host
        self._jobs: set[BackgroundJob] = set()
        self._plugin_states: dict[str, dict[str, Any]] = {}

    # -- runs --------------------------------------------------------------------------------------
    def start_run(self, spec: RunSpec, *, resume_id: str | None = None) -> str | None:
        """Queue ``spec`` for training on the device chosen in the toolbar (unless the spec names one).

        Returns a queue ticket, or None when the spec was refused (the user has been told why).
        Runs train one at a time, in the order they were started.
        """
        return self._host.start_run(spec, resume_id)

    def current_device(self) -> str:
        """The device chosen in the toolbar: "cpu", "cuda:0", "mps"..."""
        return self._host.current_device()

    def is_running(self) -> bool:
        return self._host.is_running()

    def cancel_run(self, key: str) -> bool:
        """Stop a run this panel started: ``key`` is the ticket :meth:`start_run` returned or the run's id.

        The current run stops within one batch (its callbacks still see the end, so what it made so far is
        kept, and it can be resumed); a queued one is dropped before it starts. False when it is neither.
        """
        return self._host.cancel_run(key)

    # -- feedback ----------------------------------------------------------------------------------
    def notify(self, text: str, level: str = "info") -> None:
        """A short message in the status bar and the run log ("info", "warning" or "error")."""
        self._host.notify(text, level)

    def show_error(self, title: str, message: str, details: str = "") -> None:
        """A dialog for an error the user must see (details: e.g. a traceback, collapsed)."""
        self._host.show_error(title, message, details)

    # -- navigation and messages -------------------------------------------------------------------
    def show_panel(self, panel_id: str) -> bool:
        """Bring a panel (of any family) to the front; False if no such panel is loaded."""
        return self._host.show_panel(panel_id)

    def post(self, topic: str, payload: dict[str, Any]) -> None:
        """Publish on the cross-plugin bus; any panel may listen to :attr:`message_posted`."""
        build_all = getattr(self._host, "build_all_panels", None)
        if callable(build_all):  # a window still building its panels at start-up: none may miss a message
            build_all()
        self.message_posted.emit(topic, dict(payload))

    def plugin_state(self, plugin: str) -> dict[str, Any]:
        """A dict that one plugin's panels share in this window (e.g. a study several panels show).

        Keyed by the plugin's name, so plugins do not see each other's; it lives as long as the window
        and nothing in it is saved.
        """
        return self._plugin_states.setdefault(plugin, {})

    # -- remembered values -------------------------------------------------------------------------
    def remembered(self, key: str) -> Any:
        """What :meth:`remember` kept under ``key`` in this studio home, in this or an earlier session (None
        when nothing): a panel's form values, restored on the next start."""
        import json

        text = self._remembered_store().value(f"remembered/{key}")
        if not isinstance(text, str):
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None

    def remember(self, key: str, value: Any) -> None:
        """Keep ``value`` (plain JSON data: a spec dict) under ``key`` across restarts (``gui.ini`` in the
        studio home, beside the window's own settings)."""
        import json

        store = self._remembered_store()
        store.setValue(f"remembered/{key}", json.dumps(value))
        store.sync()

    def _remembered_store(self) -> Any:
        if getattr(self, "_store", None) is None:
            from pathlib import Path

            from PySide6.QtCore import QSettings

            self._store = QSettings(str(Path(self.studio.home) / "gui.ini"), QSettings.Format.IniFormat)
        return self._store

    def is_shut_down(self) -> bool:
        """Whether :meth:`shutdown` was called: a panel's timer that fires later starts no more work."""
        return getattr(self, "_shut_down", False)

    # -- background work ---------------------------------------------------------------------------
    def run_in_background(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> BackgroundJob:
        """Run ``fn(*args)`` in a worker thread; callbacks are called on the GUI thread.

        If ``fn`` is a generator function, each value it yields goes to ``on_progress`` and its return
        value to ``on_result``; ``job.cancel()`` stops it at its next ``yield``. Without ``on_error``
        an exception is shown in an error dialog.
        """
        from dlstudio.gui.background import BackgroundJob

        job = BackgroundJob(fn, args, parent=self)
        if on_result is not None:
            job.result.connect(on_result)
        if on_progress is not None:
            job.progress.connect(on_progress)
        if on_error is not None:
            job.error.connect(lambda exc, _tb: on_error(exc))
        else:
            job.error.connect(lambda exc, tb: self.show_error("Background task failed", str(exc), tb))
        self._jobs.add(job)
        job.done.connect(lambda: self._jobs.discard(job))
        job.start()
        return job

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel background jobs and wait for their threads (called when the window closes)."""
        self._shut_down = True
        for job in list(self._jobs):
            job.cancel()
            job.wait(timeout_ms)


class RecordingHost:
    """A :class:`Host` without a window, recording what a panel asks for: for a panel's ``__main__``
    preview and for plugin tests (``StudioContext(studio, RecordingHost())``)."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.started: list[Any] = []
        self.notices: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str]] = []
        self.shown: list[str] = []
        self.cancelled: list[str] = []

    def start_run(self, spec: Any, resume_id: str | None) -> str | None:
        self.started.append(spec)
        return f"run-{len(self.started)}"

    def current_device(self) -> str:
        return self.device

    def is_running(self) -> bool:
        return False

    def cancel_run(self, key: str) -> bool:
        self.cancelled.append(key)
        return False

    def notify(self, text: str, level: str) -> None:
        self.notices.append((text, level))

    def show_error(self, title: str, message: str, details: str) -> None:
        self.errors.append((title, message))

    def show_panel(self, panel_id: str) -> bool:
        self.shown.append(panel_id)
        return True


class _PrintingHost(RecordingHost):
    """Errors also go to the terminal, so a preview run from a shell shows them."""

    def show_error(self, title: str, message: str, details: str) -> None:
        super().show_error(title, message, details)
        print(f"{title}: {message}")


def preview_context(name: str, plugin: Any, home: Any = None) -> StudioContext:
    """A real :class:`StudioContext` over a studio of one plugin (``plugin``: its module, loaded as ``name``)
    in ``home`` (a temporary folder by default), with a host that records what a page asks for: for a panel's
    ``python -m`` preview and for plugin tests."""
    import tempfile
    from pathlib import Path

    from dlstudio.plugins import module_candidate
    from dlstudio.studio import Studio

    home = Path(home) if home else Path(tempfile.mkdtemp(prefix=f"dlstudio-{name}-"))
    return StudioContext(Studio.open(home, [module_candidate(name, plugin)]), _PrintingHost())


def preview_panel(factory: Callable[[StudioContext], Any], context: StudioContext,
                  size: tuple[int, int] = (1280, 800)) -> int:
    """Open ``factory(context)`` in a window of its own at ``size`` (a laptop's screen by default) and run the
    event loop until it is closed (for a panel module's ``__main__``)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    widget = factory(context)
    widget.resize(*size)
    widget.show()
    return app.exec()
