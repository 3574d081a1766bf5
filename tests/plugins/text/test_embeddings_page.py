"""Pretrained vectors explored on their own, from the Embeddings page."""

import numpy as np
import pytest

from dlstudio.gui.context import RecordingHost, StudioContext
from dlstudio.plugins import module_candidate
from dlstudio.studio import Studio
from dlstudio_text import plugin as text_plugin
from dlstudio_text.embeddings import read_vector_file

# Hand-made 3-d vectors: royalty on one axis, gender on another, so king − man + woman lands on queen.
VECTORS = {"king": (1, 1, 0), "queen": (1, -1, 0), "man": (0, 1, 0.1), "woman": (0, -1, 0.1), "apple": (0, 0, 1),
           "pear": (0.05, 0, 1)}


@pytest.fixture
def vec_file(tmp_path):
    path = tmp_path / "tiny.vec"
    lines = [f"{len(VECTORS)} 3"] + [f"{w} {' '.join(map(str, v))}" for w, v in VECTORS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_vectors_file_is_read_in_its_own_order_and_bad_lines_are_named(vec_file, tmp_path):
    words, weights = read_vector_file(vec_file, limit=4)
    assert words == ["king", "queen", "man", "woman"] and weights.shape == (4, 3)
    assert np.allclose(weights[1], VECTORS["queen"])
    bad = tmp_path / "bad.vec"
    bad.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.vec, line 2: 2 values after the word, where the file's vectors have 3"):
        read_vector_file(bad)


def test_the_page_explores_a_vectors_file(qtbot, studio_home, vec_file):
    from dlstudio_text.panels.embeddings_page import EmbeddingsPage

    context = StudioContext(Studio.open(studio_home, [module_candidate("text", text_plugin)]), RecordingHost())
    page = EmbeddingsPage(context)
    qtbot.addWidget(page)
    page.load_vectors_file(str(vec_file))
    qtbot.waitUntil(lambda: page.embeddings is not None, timeout=30_000)
    assert page.embeddings.itos == list(VECTORS) and "File tiny.vec: 6 tokens × 3 dimensions" in page.info.text()
    page.word.setText("apple")
    page.find_neighbours()
    assert page.table.item(0, 0).text() == "pear"
    page.a.setText("king"), page.b.setText("man"), page.c.setText("woman")
    page.find_analogy()
    assert page.table.item(0, 0).text() == "queen"
    context.shutdown()
