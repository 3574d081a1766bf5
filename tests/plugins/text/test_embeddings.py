"""Pretrained vectors: GloVe / word2vec-text / fastText files read for a vocabulary, and the glove.6B download."""

from __future__ import annotations

import gzip
import re
import urllib.error
import urllib.request
import zipfile

import pytest
import torch

from dlstudio_text.download import OfflineError
from dlstudio_text.embeddings import GLOVE_URL, download_glove, read_vectors
from dlstudio_text.tokens import Encoder

GLOVE = """the 0.1 0.2 0.3
film 1.0 -1.0 0.5
good 0.0 2.0 -2.0
unused 9 9 9
"""


@pytest.fixture
def encoder():
    # vocabulary: <pad> <unk> <eos> the film good zebra (by frequency)
    return Encoder.fit(["the the the the film film film good good zebra"])


def test_a_glove_file_fills_the_rows_of_the_tokens_it_has(tmp_path, encoder):
    path = tmp_path / "glove.txt"
    path.write_text(GLOVE, encoding="utf-8")
    vectors = read_vectors(path, encoder)
    assert vectors.dim == 3 and vectors.weights.shape == (encoder.vocab_size, 3)
    assert vectors.weights[encoder.stoi["film"]].tolist() == [1.0, -1.0, 0.5]
    assert vectors.weights[encoder.stoi["good"]].tolist() == [0.0, 2.0, -2.0]
    assert torch.equal(vectors.weights[0], torch.zeros(3))  # <pad>
    assert vectors.weights[encoder.stoi["zebra"]].abs().sum() > 0  # random, not the file's
    assert vectors.found == 3 and vectors.coverage == pytest.approx(3 / 4)
    assert vectors.missing == ("zebra",)
    # the, film, good: 9 of the 10 training tokens
    assert "3 of 4 vocabulary tokens have a 3-d vector (75.0%), covering 90.0% of the training tokens" \
        in vectors.messages[0]


def test_a_header_line_and_other_casing_are_understood(tmp_path, encoder):
    path = tmp_path / "wiki.vec"  # fastText: "count dim" first, cased words, a trailing space
    path.write_text("3 2\nThe 1 2 \nthe 3 4 \nFilm 5 6 \n", encoding="utf-8")
    vectors = read_vectors(path, encoder)
    assert vectors.dim == 2
    assert vectors.weights[encoder.stoi["the"]].tolist() == [3.0, 4.0]  # the exact case wins
    assert vectors.weights[encoder.stoi["film"]].tolist() == [5.0, 6.0]  # found as "Film"
    assert vectors.found == 2 and "1 found in another case" in vectors.messages[0]


def test_a_gzipped_file_reads_alike(tmp_path, encoder):
    path = tmp_path / "glove.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(GLOVE)
    assert read_vectors(path, encoder).found == 3


@pytest.mark.parametrize(("text", "line", "why"), [
    ("the 0.1 0.2 0.3\nfilm 1.0 -1.0\n", 2, "2 values after the word, where line 1 has 3"),
    ("2 3\nthe 0.1 0.2 0.3\ngood 1 2 3 4\n", 3, "4 values after the word, where the header line says 3"),
    ("the 0.1 0.2 0.3\nfilm 1.0 oops 0.5\n", 2, "could not convert string to float: 'oops'"),
])
def test_a_bad_line_is_named(tmp_path, encoder, text, line, why):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"bad.txt, line {line}: {why}")):
        read_vectors(path, encoder)


def test_a_file_without_vectors_is_refused(tmp_path, encoder):
    path = tmp_path / "empty.vec"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.vec: no word vectors"):
        read_vectors(path, encoder)
    with pytest.raises(ValueError, match="no vectors file"):
        read_vectors(tmp_path / "missing.txt", encoder)


def test_glove_offline_says_which_file_to_put_where(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OfflineError) as caught:
        download_glove(tmp_path / "glove", dim=50, report=lambda message: None)
    message = str(caught.value)
    assert "glove.6B.zip" in message and GLOVE_URL in message and str(tmp_path / "glove") in message
    assert "glove.6B.50d.txt" in message


def test_glove_is_extracted_from_the_archive_put_in_place(tmp_path, monkeypatch, encoder):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("the network was used"))
    folder = tmp_path / "glove"
    folder.mkdir()
    archive = folder / "glove.6B.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("glove.6B.50d.txt", GLOVE)
        zf.writestr("glove.6B.100d.txt", "the 1 2\n")
    reports = []
    path = download_glove(folder, dim=50, size=archive.stat().st_size, report=reports.append)
    assert path == folder / "glove.6B.50d.txt" and path.read_text(encoding="utf-8") == GLOVE
    assert read_vectors(path, encoder).found == 3
    assert download_glove(folder, dim=50, size=None, report=reports.append) == path  # there already
    with pytest.raises(ValueError, match="300"):
        download_glove(folder, dim=64)
