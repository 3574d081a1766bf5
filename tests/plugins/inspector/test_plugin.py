import subprocess
import sys

from dlstudio_inspector.plugin import FAMILY, PANEL


def test_registers_family_panel_and_commands(studio):
    family = studio.registry.families.get(FAMILY)
    assert family.title == "Architecture inspector" and family.order == 30 and family.plugin == "inspector"
    assert studio.registry.panels.get(PANEL).family == FAMILY
    assert {"inspect", "export"} <= set(studio.registry.commands.ids())
    record = studio.plugin_record("inspector")
    assert record.status == "loaded" and not record.warnings and record.version


def test_the_headless_modules_never_import_qt():
    code = (
        "import sys\n"
        "import dlstudio_inspector.plugin, dlstudio_inspector.cli, dlstudio_inspector.summary, "
        "dlstudio_inspector.graph, dlstudio_inspector.activations, dlstudio_inspector.weights, "
        "dlstudio_inspector.attribution, dlstudio_inspector.featvis, dlstudio_inspector.actfuncs, "
        "dlstudio_inspector.export, dlstudio_inspector.compare, dlstudio_inspector.samples\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_model_open_in_the_real_window_shows_the_inspector(make_window, studio, tmp_path, qtbot):
    from dlstudio.checkpoints import save_checkpoint
    from dlstudio_inspector.sources import open_registered
    from tests.plugins.inspector.test_sources import _meta

    window = make_window(studio)
    panel = window.panels[PANEL]
    original = open_registered(studio, "tiny.cnn")
    save_checkpoint(tmp_path / "cnn", original.model.state_dict(), _meta(original))
    window.context.post("model.open", {"path": str(tmp_path / "cnn.safetensors")})
    assert panel.session.wait_idle(60_000)
    assert panel.session.opened.model_id == "tiny.cnn"
    assert window.current_panel() is panel
