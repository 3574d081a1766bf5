"""The data folder and the settings file."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from dlstudio import home as home_module
from dlstudio.home import HomeError, Settings, studio_home


def test_the_configured_home_is_created(studio_home):
    assert not studio_home.exists()
    assert home_module.studio_home() == studio_home
    assert studio_home.is_dir() and list(studio_home.iterdir()) == []  # the write probe is cleaned up


def test_without_configuration_the_platform_data_folder_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("DLSTUDIO_HOME")
    monkeypatch.setattr(home_module.platformdirs, "user_data_dir", lambda name: str(tmp_path / "platform" / name))
    assert studio_home() == tmp_path / "platform" / "dlstudio"


def test_a_home_that_cannot_be_created_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DLSTUDIO_HOME", str(blocker / "home"))
    with pytest.raises(HomeError) as info:
        studio_home()
    assert str(info.value) == (f"DLSTUDIO_HOME={blocker / 'home'} cannot be created (Not a directory); "
                               "set DLSTUDIO_HOME to a writable folder")


def test_a_home_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("DLSTUDIO_HOME", str(blocker))
    with pytest.raises(HomeError) as info:
        studio_home()
    assert str(info.value) == f"DLSTUDIO_HOME={blocker} is not a folder; set DLSTUDIO_HOME to a writable folder"


def test_an_unwritable_home_is_a_clear_error(studio_home, monkeypatch):
    original = home_module.tempfile.TemporaryFile

    def refuse(*args, dir=None, **kwargs):  # (root may write anywhere: the refusal is the file system's, simulated)
        if dir is not None and Path(dir) == studio_home:
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return original(*args, dir=dir, **kwargs)

    monkeypatch.setattr(home_module.tempfile, "TemporaryFile", refuse)
    with pytest.raises(HomeError) as info:
        home_module.studio_home()
    assert str(info.value) == (f"DLSTUDIO_HOME={studio_home} is not writable (Permission denied); "
                               "set DLSTUDIO_HOME to a writable folder")


def test_the_default_home_names_itself_in_errors(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.delenv("DLSTUDIO_HOME")
    monkeypatch.setattr(home_module.platformdirs, "user_data_dir", lambda name: str(blocker / name))
    with pytest.raises(HomeError, match=r"^the data folder .*file/dlstudio cannot be created"):
        studio_home()


# -- settings ----------------------------------------------------------------------------------------


def test_disabled_plugins_are_stored_and_merged_with_the_environment(tmp_path, monkeypatch):
    settings = Settings(tmp_path)
    assert settings.disabled_plugins() == set()
    settings.set_plugin_enabled("b", False)
    settings.set_plugin_enabled("a", False)
    settings.set_plugin_enabled("b", True)
    assert Settings(tmp_path).disabled_plugins() == {"a"}
    assert json.loads((tmp_path / "settings.json").read_text()) == {"disabled_plugins": ["a"]}
    assert not (tmp_path / "settings.tmp").exists()
    monkeypatch.setenv("DLSTUDIO_DISABLED_PLUGINS", "x, y,,")
    assert settings.disabled_plugins() == {"a", "x", "y"}


def test_other_settings_are_kept(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"theme": "dark"}))
    Settings(tmp_path).set_plugin_enabled("a", False)
    assert json.loads((tmp_path / "settings.json").read_text()) == {"theme": "dark", "disabled_plugins": ["a"]}


@pytest.mark.parametrize("content, disabled", [
    ("{not json", set()),
    ("[1, 2]", set()),
    ('{"disabled_plugins": 5}', set()),
    ('{"disabled_plugins": "demo"}', {"demo"}),
    ('{"disabled_plugins": ["demo", 3]}', {"demo", "3"}),
])
def test_a_damaged_settings_file_does_not_stop_the_studio(tmp_path, content, disabled):
    (tmp_path / "settings.json").write_text(content)
    settings = Settings(tmp_path)
    assert settings.disabled_plugins() == disabled
    settings.set_plugin_enabled("other", False)
    assert settings.disabled_plugins() == disabled | {"other"}


def test_processes_starting_together_each_find_the_home_writable(tmp_path, monkeypatch):
    """A distributed run's processes check the home at the same moment: no one's check may trip another's."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("DLSTUDIO_HOME", str(tmp_path / "home"))
    with ThreadPoolExecutor(4) as pool:
        homes = list(pool.map(lambda _: studio_home(), range(400)))
    assert set(homes) == {tmp_path / "home"}
    assert list((tmp_path / "home").iterdir()) == []  # nothing left behind
