"""A TorchScript file holds code that runs when it is loaded and called (issue 12, item 7).

PyTorch does not consider TorchScript from untrusted sources safe, so the inspector says so before it loads
one, and runs it only when the user allows that file: ``--trust-torchscript`` on the CLI, a confirmation in
the window remembered for that file's path and content for the session. The file's code is observed through
what it prints (TorchScript's ``print`` writes to the process's stdout, which capfd captures).
"""

import warnings

import pytest
import torch
from torch import nn

import dlstudio_inspector.plugin as inspector_plugin
from dlstudio.cli import build_parser
from dlstudio_inspector import trust
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.sources import UntrustedCode, open_file
from tests.plugins.inspector import tiny_models

MARK = "CODE-FROM-THE-FILE-RAN"


class Talker(nn.Module):
    """Prints when loaded (its ``__setstate__`` runs in ``torch.jit.load``) and on every forward pass."""

    def __init__(self, word: str) -> None:
        super().__init__()
        self.word = word

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print(self.word, "forward")
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return self.word, self.training

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        print(state[0], "load")
        self.word, self.training = state


class Chatty(nn.Module):
    def __init__(self, word: str = MARK) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.talker = Talker(word)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.talker(self.fc(x))


def save_chatty(path, word: str = MARK):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script's deprecation notice
        torch.jit.save(torch.jit.script(Chatty(word)), str(path))
    return path


@pytest.fixture
def studio(make_studio):
    trust.forget_all()
    yield make_studio(("inspector", inspector_plugin), ("tiny", tiny_models))
    trust.forget_all()


@pytest.fixture
def script(tmp_path, capfd):
    path = save_chatty(tmp_path / "chatty.pt")
    capfd.readouterr()  # scripting it here printed nothing, but start clean
    return path


def run_cli(studio, *argv):
    args = build_parser(studio).parse_args(list(argv))
    return args.handler(args, studio)


def test_the_test_file_really_runs_its_own_code(studio, script, capfd):
    # The independent reference: torch.jit.load and a forward pass run the file's prints.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
        torch.jit.load(str(script))(torch.zeros(1, 4))
    out = capfd.readouterr().out
    assert f"{MARK} load" in out and f"{MARK} forward" in out


def test_without_consent_nothing_from_the_file_runs_and_the_message_says_why(studio, script, capfd):
    with pytest.raises(UntrustedCode) as caught:
        open_file(studio, script)
    message = str(caught.value)
    assert isinstance(caught.value, InspectorError)
    assert "TorchScript" in message and "runs that code" in message and "untrusted sources" in message
    assert "--trust-torchscript" in message
    assert MARK not in capfd.readouterr().out


def test_cli_refuses_then_runs_with_trust_torchscript(studio, script, capfd):
    assert run_cli(studio, "inspect", str(script)) == 2
    captured = capfd.readouterr()
    assert MARK not in captured.out + captured.err
    assert "dlstudio inspect:" in captured.err and "--trust-torchscript" in captured.err
    assert run_cli(studio, "inspect", str(script), "--trust-torchscript") == 0
    out = capfd.readouterr().out
    assert f"{MARK} load" in out and f"{MARK} forward" in out and "TorchScript — chatty.pt" in out
    # The flag trusts that one command: it is not remembered.
    assert run_cli(studio, "export", str(script), "-f", "safetensors", "-o", str(script.parent / "o")) == 2
    assert MARK not in capfd.readouterr().out


def test_consent_is_remembered_for_that_path_and_content_only(studio, script, tmp_path, capfd):
    with pytest.raises(UntrustedCode) as caught:
        open_file(studio, script)
    trust.allow(caught.value.path, caught.value.digest)
    opened = open_file(studio, script)
    assert opened.kind == "torchscript"
    opened.model(torch.zeros(1, 4))
    assert f"{MARK} forward" in capfd.readouterr().out
    # The same bytes elsewhere, or other bytes at the same path, are asked about again.
    copy = tmp_path / "copy.pt"
    copy.write_bytes(script.read_bytes())
    with pytest.raises(UntrustedCode):
        open_file(studio, copy)
    save_chatty(script, "OTHER-CODE")
    capfd.readouterr()
    with pytest.raises(UntrustedCode):
        open_file(studio, script)
    assert "OTHER-CODE" not in capfd.readouterr().out


def test_the_window_asks_before_loading_and_remembers_yes(studio, script, qtbot, capfd, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from dlstudio.gui.context import StudioContext
    from dlstudio_inspector.panels.main import InspectorPanel
    from dlstudio_inspector.panels.preview import PreviewHost
    from dlstudio_inspector.plugin import PANEL

    host = PreviewHost()
    context = StudioContext(studio, host)
    panel = InspectorPanel(context, PANEL)
    qtbot.addWidget(panel)
    answers, asked = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes], []

    def question(_parent, _title, text, *_args, **_kwargs):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    try:
        panel.source.open_path(script)
        assert panel.session.wait_idle(60_000)
        assert len(asked) == 1 and "TorchScript" in asked[0] and "chatty.pt" in asked[0]
        assert panel.session.opened is None and MARK not in capfd.readouterr().out
        panel.source.open_path(script)  # asked again, and allowed this time
        assert panel.session.wait_idle(60_000)
        assert len(asked) == 2 and panel.session.opened is not None
        assert panel.session.opened.kind == "torchscript"
        panel.source.open_path(script)  # remembered: not asked a third time
        assert panel.session.wait_idle(60_000)
        assert len(asked) == 2 and not host.errors
    finally:
        panel.session.wait_idle()
        context.shutdown()
