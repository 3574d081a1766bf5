"""Language-model corpora: the standard library's docstrings, files and folders, WikiText-2 offline."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from dlstudio_text.data.corpus import WIKITEXT2_ARCHIVE, WIKITEXT2_URL, from_path, split_lines, stdlib_corpus, wikitext2


def test_the_stdlib_corpus_is_english_prose_of_the_asked_size_and_cached(tmp_path):
    train, valid, messages = stdlib_corpus(tmp_path, max_chars=30_000, valid_fraction=0.1, report=lambda m: None)
    text = train + "\n" + valid
    assert 25_000 < len(text) <= 30_000
    assert ">>>" not in text
    words = text.lower().split()
    assert words.count("the") > len(words) / 50  # English: "the" is ~5 % of words
    assert "built a corpus" in messages[0]
    again = stdlib_corpus(tmp_path, max_chars=30_000, valid_fraction=0.1, report=lambda m: None)
    assert again[:2] == (train, valid) and "cached" in again[2][0] and "built" not in again[2][0]
    assert len(list(tmp_path.glob("*.txt"))) == 1


def test_split_keeps_the_last_lines_for_validation():
    text = "\n".join(f"line {i}" for i in range(10))
    train, valid = split_lines(text, 0.2)
    assert valid == "line 8\nline 9" and train.endswith("line 7")


def test_a_folder_corpus_skips_binary_files_and_empty_or_binary_corpora_are_errors(tmp_path):
    (tmp_path / "a.txt").write_text("first line\nsecond line\n")
    (tmp_path / "b.txt").write_bytes("café au lait\n".encode("cp1252"))
    (tmp_path / "c.txt").write_bytes(b"\x00\x00\xff")
    train, _valid, messages = from_path(tmp_path, valid_fraction=0.0)
    assert train.splitlines() == ["first line", "second line", "café au lait"]
    assert any("skipped 1 empty or binary file(s): c.txt" in m for m in messages)
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="holds no text"):
        from_path(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="binary file"):
        from_path(tmp_path / "c.txt")


def test_wikitext2_offline_says_which_archive_to_put_where(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(ValueError) as err:
        wikitext2(tmp_path, allow_download=True, report=lambda m: None)
    assert WIKITEXT2_URL in str(err.value) and f"put {WIKITEXT2_ARCHIVE} in {tmp_path}" in str(err.value)


def test_a_wikitext_archive_put_in_the_cache_is_extracted(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / WIKITEXT2_ARCHIVE, "w") as zf:
        zf.writestr("wikitext-2/wiki.train.tokens", " = Title = \n\n The cat sat . \n")
        zf.writestr("wikitext-2/wiki.valid.tokens", " The dog ran . \n")
        zf.writestr("wikitext-2/wiki.test.tokens", " A bird . \n")
    train, valid, _ = wikitext2(tmp_path, report=lambda m: None)
    assert train.splitlines() == [" = Title = ", " The cat sat . "] and valid == " The dog ran . "
