"""Text files in class folders: both layouts, fallback decoding counted, bad files listed, IMDB offline."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from dlstudio_text.data.folder import IMDB_ARCHIVE, IMDB_URL, ensure_imdb, read_folder


def _write(folder, name, data: bytes):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def test_aclimdb_layout_uses_test_for_validation_and_ignores_unsup(tmp_path):
    root = tmp_path / "aclImdb"
    for split in ("train", "test"):
        for cls, word in (("pos", "great"), ("neg", "awful")):
            for i in range(3):
                _write(root / split / cls, f"{i}_7.txt", f"{split} {word} film {i}".encode())
    _write(root / "train" / "unsup", "0_0.txt", b"no label")
    train, valid, classes, _messages = read_folder(tmp_path)  # the folder above aclImdb is found too
    assert classes == ["neg", "pos"]
    assert len(train) == 6 and len(valid) == 6
    assert all(text.startswith("train") for text, _ in train) and all(t.startswith("test") for t, _ in valid)
    assert all(("great" in text) == (label == 1) for text, label in train + valid)
    assert "no label" not in {t for t, _ in train}


def test_latin1_files_are_decoded_and_counted_bad_files_skipped_and_listed(tmp_path):
    for i in range(5):
        _write(tmp_path / "fr", f"{i}.txt", f"très bon numéro {i}".encode())
        _write(tmp_path / "en", f"{i}.txt", f"very good number {i}".encode())
    _write(tmp_path / "fr", "cp.txt", "un café crème, déjà".encode("cp1252"))
    _write(tmp_path / "fr", "empty.txt", b"  \n ")
    _write(tmp_path / "en", "blob.txt", b"\x00\x01\x02binary")
    train, valid, _classes, messages = read_folder(tmp_path, valid_fraction=0.2)
    texts = {t for t, _ in train + valid}
    assert "un café crème, déjà" in texts
    assert len(texts) == 11
    text = "\n".join(messages)
    assert "decoded 1 file(s) as Windows-1252/Latin-1" in text and "cp.txt" in text
    assert "skipped 1 empty file(s): fr/empty.txt" in text
    assert "skipped 1 unreadable or binary file(s): en/blob.txt" in text
    # stratified: each class gives one of its 5-6 texts to validation
    assert sorted(label for _, label in valid) == [0, 1]


def test_one_class_only_is_a_clear_error(tmp_path):
    _write(tmp_path / "pos", "a.txt", b"good")
    with pytest.raises(ValueError, match=r"one class only \('pos'\).*at least two"):
        read_folder(tmp_path)


def test_imdb_offline_says_which_archive_to_put_where(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(ValueError) as err:
        ensure_imdb(tmp_path, allow_download=True, report=lambda m: None)
    assert IMDB_URL in str(err.value) and f"put {IMDB_ARCHIVE} in {tmp_path}" in str(err.value)
    with pytest.raises(ValueError) as err:
        ensure_imdb(tmp_path, allow_download=False)
    assert f"put {IMDB_ARCHIVE} in {tmp_path}" in str(err.value) and "download" in str(err.value)


def test_an_archive_put_in_the_cache_is_extracted(tmp_path):
    import io
    import tarfile

    with tarfile.open(tmp_path / IMDB_ARCHIVE, "w:gz") as tar:
        for split in ("train", "test"):
            for cls in ("pos", "neg"):
                data = f"{cls} review".encode()
                info = tarfile.TarInfo(f"aclImdb/{split}/{cls}/0_1.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    folder = ensure_imdb(tmp_path, allow_download=False, report=lambda m: None)
    train, _valid, classes, _ = read_folder(folder)
    assert classes == ["neg", "pos"] and sorted(train, key=lambda s: s[1]) == [("neg review", 0), ("pos review", 1)]
