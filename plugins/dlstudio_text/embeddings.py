"""Pretrained word vectors: reading GloVe / word2vec-text / fastText ``.vec`` files for a vocabulary, and the
glove.6B download (the book's ``GloVe(name='6B', dim=300)``).

:func:`read_vectors` reads a text file of ``word v1 v2 … vd`` lines (an optional first line ``count dim``, as
word2vec and fastText write) and returns the weights of an ``nn.Embedding`` for an :class:`Encoder`'s
vocabulary: each token's vector where the file has it (or has it in another case: fastText keeps "The"), a small
random row otherwise, zeros for ``<pad>``. Only the vocabulary's lines are parsed into numbers, so a 400,000-word
file reads in seconds; every line's count of values is still checked, and a bad one raises ValueError naming the
file and the line.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dlstudio_text.download import download
from dlstudio_text.tokens import PAD_ID, SPECIALS, Encoder

if TYPE_CHECKING:
    import torch

GLOVE_URL = "https://nlp.stanford.edu/data/glove.6B.zip"
#: The size of glove.6B.zip in bytes (Stanford publishes no checksum, so the size is what is checked).
GLOVE_SIZE = 862_182_613
GLOVE_DIMS = (50, 100, 200, 300)
#: How many of the most frequent tokens without a vector the messages name.
MISSING_SHOWN = 12


class Vectors(NamedTuple):
    """Embedding weights for a vocabulary, read from a vectors file."""

    #: FloatTensor[vocab_size, dim]: the file's vector for each token found, small random rows for the others,
    #: zeros for <pad>.
    weights: torch.Tensor
    dim: int
    #: How many of the vocabulary's tokens (the special tokens left out) have a vector in the file.
    found: int
    #: ``found`` as a share of the vocabulary (the special tokens left out).
    coverage: float
    messages: list[str]
    #: The most frequent tokens without a vector, most frequent first.
    missing: tuple[str, ...] = ()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            yield number, raw.decode("utf-8", errors="replace").rstrip()


def read_vectors(path: str | os.PathLike, encoder: Encoder, *, seed: int = 0) -> Vectors:
    """The embedding weights of ``encoder``'s vocabulary from a GloVe / word2vec-text / fastText ``.vec`` file
    (``.gz`` too). Raises ValueError for a line with the wrong number of values or a value that is no number,
    naming the file and the line, and for a file without vectors."""
    import numpy as np
    import torch

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no vectors file at {path}")
    wanted = {token: i for i, token in enumerate(encoder.itos) if token not in SPECIALS}
    rows: dict[int, np.ndarray] = {}
    exact: set[int] = set()
    dim = header_count = 0
    dim_from = ""
    lines = 0
    for number, line in _lines(path):
        if not line:
            continue
        if number == 1:
            head = line.split()
            if len(head) == 2 and head[0].isdigit() and head[1].isdigit():
                header_count, dim = int(head[0]), int(head[1])
                dim_from = "the header line says"
                continue
        word, _, rest = line.partition(" ")
        count = rest.count(" ") + 1 if rest else 0
        if not dim:
            dim = len(rest.split())
            dim_from = f"line {number} has"
            if not dim:
                raise ValueError(f"{path.name}, line {number}: a word without values: {line[:60]!r}")
        if count != dim:
            parts = line.split()
            if len(parts) == dim + 1:  # several spaces between values
                word, rest = parts[0], " ".join(parts[1:])
            elif len(parts) > dim + 1 and not _is_number(parts[1]):  # a word with a space (glove.840B has some)
                word, rest = " ".join(parts[:-dim]), " ".join(parts[-dim:])
            else:
                raise ValueError(f"{path.name}, line {number}: {len(parts) - 1} values after the word, where "
                                 f"{dim_from} {dim}: {line[:60]!r}")
        lines += 1
        i = wanted.get(word)
        other_case = False
        if i is None or i in exact:
            i = wanted.get(word.lower())
            other_case = True
            if i is None or i in rows:  # the exact case, or the first (most frequent) other case, wins
                continue
        try:
            vector = np.array(rest.split(), dtype=np.float32)
        except ValueError as exc:
            raise ValueError(f"{path.name}, line {number}: {exc}") from None
        rows[i] = vector
        if not other_case:
            exact.add(i)
            if len(exact) == len(wanted):
                break  # every token has its own vector: nothing later can change the result
    if not dim or (not lines and not rows):
        raise ValueError(f"{path.name}: no word vectors in it (expected lines of a word and its numbers)")

    generator = torch.Generator().manual_seed(seed)
    found = torch.from_numpy(np.stack(list(rows.values()))) if rows else torch.zeros(0, dim)
    scale = float(found.std()) if found.numel() > 1 else 0.1
    weights = torch.randn(encoder.vocab_size, dim, generator=generator) * (scale or 0.1)
    weights[PAD_ID] = 0
    for i, vector in rows.items():
        weights[i] = torch.from_numpy(vector)

    coverage = len(rows) / len(wanted) if wanted else 0.0
    missing = [t for t in encoder.counts if t in wanted and wanted[t] not in rows][:MISSING_SHOWN]
    counted = sum(encoder.counts.values())
    covered = sum(c for t, c in encoder.counts.items() if t in wanted and wanted[t] in rows)
    note = (f"{path.name}: {len(rows):,} of {len(wanted):,} vocabulary tokens have a {dim}-d vector "
            f"({coverage:.1%})")
    if counted:
        note += f", covering {covered / counted:.1%} of the training tokens"
    if len(rows) > len(exact):
        note += f"; {len(rows) - len(exact):,} found in another case"
    messages = [note + "; the others start random"]
    if missing:
        messages.append("most frequent without a vector: " + ", ".join(missing))
    if header_count and lines != header_count and len(exact) < len(wanted):
        messages.append(f"{path.name}: the header announces {header_count:,} vectors, the file holds {lines:,}")
    if not rows:
        messages.append(f"{path.name} has no vector for any token of the vocabulary: is it the right language, "
                        f"and does its casing match (lowercase: {encoder.lowercase})?")
    return Vectors(weights, dim, len(rows), coverage, messages, tuple(missing))


def read_vector_file(path: str | os.PathLike, *, limit: int = 50_000) -> tuple[list[str], Any]:
    """The first ``limit`` words of a vectors file and their vectors (``(words, float32 array [n, dim])``), to
    explore pretrained embeddings on their own. Such files list the most frequent words first. Raises
    ValueError naming the line for a line with the wrong number of values."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no vectors file at {path}")
    words: list[str] = []
    rows: list[Any] = []
    dim = 0
    for number, line in _lines(path):
        if not line:
            continue
        parts = line.split(" ")
        if number == 1 and len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            dim = int(parts[1])
            continue
        parts = line.split()
        dim = dim or len(parts) - 1
        if len(parts) != dim + 1:
            raise ValueError(f"{path.name}, line {number}: {len(parts) - 1} values after the word, where the "
                             f"file's vectors have {dim}: {line[:60]!r}")
        try:
            rows.append(np.array(parts[1:], dtype=np.float32))
        except ValueError as exc:
            raise ValueError(f"{path.name}, line {number}: {exc}") from None
        words.append(parts[0])
        if len(words) >= limit:
            break
    if not words:
        raise ValueError(f"{path.name}: no word vectors in it (expected lines of a word and its numbers)")
    return words, np.stack(rows)


def glove_file(dim: int) -> str:
    """The name of the glove.6B file of ``dim`` dimensions (``glove.6B.100d.txt``)."""
    if dim not in GLOVE_DIMS:
        raise ValueError(f"glove.6B has {', '.join(map(str, GLOVE_DIMS))} dimensions, not {dim}")
    return f"glove.6B.{dim}d.txt"


def download_glove(folder: str | os.PathLike, *, dim: int = 100, report: Callable[[str], None] = print,
                   url: str = GLOVE_URL, size: int | None = GLOVE_SIZE) -> Path:
    """``glove.6B.<dim>d.txt`` in ``folder``: there already, or extracted from ``glove.6B.zip`` (downloaded
    from Stanford when missing, 822 MB, resumed if interrupted, its size checked). ``report`` gets the progress.
    Offline, :class:`dlstudio_text.download.OfflineError` says which file to put where."""
    name = glove_file(dim)
    folder = Path(folder)
    target = folder / name
    if target.is_file() and target.stat().st_size:
        return target
    archive = download(url, folder / "glove.6B.zip", size=size, report=report,
                       then=f"Then dlstudio extracts {name} from it (or put {name} itself in that folder).")
    report(f"extracting {name} from {archive.name}")
    part = target.with_name(name + ".part")
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(name) as source, open(part, "wb") as out:
            while block := source.read(1 << 20):
                out.write(block)
    except KeyError:
        part.unlink(missing_ok=True)
        raise ValueError(f"{archive} holds no {name}: is it glove.6B.zip?") from None
    except zipfile.BadZipFile as exc:
        part.unlink(missing_ok=True)
        raise ValueError(f"{archive} is not a readable zip archive ({exc}): delete it and download it again") from None
    os.replace(part, target)
    return target
