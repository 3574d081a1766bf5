"""Language-model corpora: a .txt file, a folder of them, the docstrings of the Python standard library (built
on the user's machine, offline) or WikiText-2 (the book's, downloaded).

Each returns ``(train_text, valid_text, messages)``; a file or folder is split by lines, the last
``valid_fraction`` of them held out (a tail, so no sentence of the validation text is seen in training).
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
import sysconfig
import zipfile
from collections.abc import Callable
from pathlib import Path

from dlstudio_text.data.folder import decode, listing
from dlstudio_text.download import download

WIKITEXT2_URL = "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip"
WIKITEXT2_ARCHIVE = "wikitext-2-v1.zip"
WIKITEXT2_SHA1 = "3c914d17d80b1459be871a5039ac23e752a53cbe"
WIKITEXT2_FILES = ("wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens")
#: Folders of the standard library whose docstrings are tests, vendored code or not English prose.
SKIP_DIRS = {"test", "tests", "site-packages", "dist-packages", "idle_test", "__pycache__", "lib2to3", "turtledemo",
             "pydoc_data", "encodings", "ensurepip"}
_DOCTEST = re.compile(r"^\s*(>>>|\.\.\.)")
#: A paragraph needs this many letters to be prose (not a signature or a table).
MIN_PARAGRAPH = 40

Corpus = tuple[str, str, list[str]]


def split_lines(text: str, valid_fraction: float) -> tuple[str, str]:
    """The first lines for training, the last ``valid_fraction`` of them for validation."""
    if not 0 <= valid_fraction < 1:
        raise ValueError(f"the validation fraction must be in [0, 1), got {valid_fraction}")
    lines = [line for line in text.splitlines() if line.strip()]
    n_valid = round(len(lines) * valid_fraction)
    if valid_fraction > 0 and n_valid == 0 and len(lines) > 1:
        n_valid = 1
    cut = len(lines) - n_valid
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


def cap(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters of whole lines (0: all of it)."""
    if not max_chars or len(text) <= max_chars:
        return text
    end = text.rfind("\n", 0, max_chars + 1)
    return text[:end if end > 0 else max_chars]


def _check(text: str, what: str) -> None:
    if not text.strip():
        raise ValueError(f"{what} holds no text: a language model needs a corpus of some thousands of words")


def read_text_file(path: Path) -> str:
    """A text file's content (UTF-8, else Windows-1252/Latin-1); a binary file raises a clear ValueError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"{path} is not a file: choose a .txt file")
    text, _ = decode(path.read_bytes())
    if text is None:
        raise ValueError(f"{path} is a binary file, not text: choose a plain-text (.txt) file")
    _check(text, str(path))
    return text


def read_folder_text(folder: Path) -> tuple[str, list[str]]:
    """Every .txt file under ``folder`` (sorted by path) in one text; binary and empty files skipped, listed."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: choose a folder of .txt files")
    paths = sorted(p for p in folder.rglob("*.txt") if p.is_file())
    if not paths:
        raise ValueError(f"{folder} has no .txt file")
    parts, skipped, fallback = [], [], []
    for path in paths:
        text, encoding = decode(path.read_bytes())
        name = str(path.relative_to(folder))
        if text is None or not text.strip():
            skipped.append(name)
            continue
        if encoding != "utf-8":
            fallback.append(name)
        parts.append(text.strip())
    _check("\n".join(parts), f"{folder} ({len(paths)} .txt file(s), all empty or binary)")
    messages = [f"read {len(parts)} text file(s) from {folder}"]
    if fallback:
        messages.append(f"decoded {len(fallback)} file(s) as Windows-1252/Latin-1 (not UTF-8): {listing(fallback)}")
    if skipped:
        messages.append(f"skipped {len(skipped)} empty or binary file(s): {listing(skipped)}")
    return "\n".join(parts), messages


def from_path(path: Path, *, valid_fraction: float = 0.1, max_chars: int = 0) -> Corpus:
    """A .txt file or a folder of them, capped and split by lines."""
    path = Path(path).expanduser()
    if path.is_dir():
        text, messages = read_folder_text(path)
    else:
        text, messages = read_text_file(path), [f"read {path}"]
    return _finish(text, valid_fraction, max_chars, messages)


def _finish(text: str, valid_fraction: float, max_chars: int, messages: list[str]) -> Corpus:
    capped = cap(text, max_chars)
    if len(capped) < len(text):
        messages.append(f"kept the first {len(capped):,} of {len(text):,} characters (max_chars)")
    train, valid = split_lines(capped, valid_fraction)
    messages.append(f"corpus: {len(train):,} training and {len(valid):,} validation characters")
    return train, valid, messages


# -- the Python standard library's docstrings ------------------------------------------------------------------

def _paragraphs(doc: str) -> list[str]:
    """A docstring's prose paragraphs, each on one line; doctests and short fragments left out."""
    out = []
    for block in re.split(r"\n\s*\n", doc):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines or any(_DOCTEST.match(line) for line in lines):
            continue
        paragraph = " ".join(lines)
        if sum(c.isalpha() for c in paragraph) >= MIN_PARAGRAPH:
            out.append(paragraph)
    return out


def _docstrings(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    docs = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                docs.append(doc)
    return docs


def stdlib_files(stdlib: Path | None = None) -> list[Path]:
    """The standard library's .py files in a fixed order (public modules first, then sorted by path), tests and
    vendored code left out."""
    root = Path(stdlib or sysconfig.get_paths()["stdlib"])
    files = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if not SKIP_DIRS.intersection(rel.parts[:-1]) and not rel.name.startswith("test_"):
            files.append(rel)
    return [root / rel for rel in sorted(files, key=lambda p: (any(x.startswith("_") for x in p.parts),
                                                                p.as_posix()))]


def build_stdlib_corpus(max_chars: int, stdlib: Path | None = None) -> str:
    """Prose paragraphs of the standard library's docstrings, one per line, up to ``max_chars`` (0: all)."""
    lines: list[str] = []
    seen: set[str] = set()
    total = 0
    for path in stdlib_files(stdlib):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for doc in _docstrings(source):
            for paragraph in _paragraphs(doc):
                if paragraph in seen:
                    continue
                seen.add(paragraph)
                lines.append(paragraph)
                total += len(paragraph) + 1
                if max_chars and total >= max_chars:
                    return cap("\n".join(lines), max_chars)
    return "\n".join(lines)


def stdlib_corpus(cache: Path, *, max_chars: int = 600_000, valid_fraction: float = 0.1,
                  report: Callable[[str], None] = print) -> Corpus:
    """The docstring corpus, built once per Python version and size and cached in ``cache``."""
    cache = Path(cache)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    cached = cache / f"python{version}-docstrings-{max_chars or 'all'}.txt"
    if cached.exists():
        text = cached.read_text(encoding="utf-8")
        messages = [f"the docstrings of Python {version}'s standard library (cached in {cached})"]
    else:
        report(f"building a corpus from the docstrings of Python {version}'s standard library")
        text = build_stdlib_corpus(max_chars)
        _check(text, f"the standard library in {sysconfig.get_paths()['stdlib']}")
        cache.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(cached.name + ".part")
        part.write_text(text, encoding="utf-8")
        part.replace(cached)
        messages = [f"built a corpus of {len(text):,} characters from the docstrings of Python {version}'s "
                    f"standard library (cached in {cached})"]
    return _finish(text, valid_fraction, 0, messages)


# -- WikiText-2 -----------------------------------------------------------------------------------------------

def wikitext2_missing(cache: Path) -> str:
    return (f"WikiText-2 is not in {cache / 'wikitext-2'}. Switch 'download' on (needs internet, about 4 MB), or "
            f"download {WIKITEXT2_URL} yourself and put {WIKITEXT2_ARCHIVE} in {cache} (dlstudio extracts it "
            f"there) — or choose the source 'folder' with a folder holding {', '.join(WIKITEXT2_FILES[:2])}.")


def ensure_wikitext2(cache: Path, *, allow_download: bool, report: Callable[[str], None] = print) -> Path:
    """The folder holding wiki.train.tokens and wiki.valid.tokens, extracted (and downloaded) if needed."""
    cache = Path(cache)
    folder = cache / "wikitext-2"
    if all((folder / name).is_file() for name in WIKITEXT2_FILES[:2]):
        return folder
    archive = cache / WIKITEXT2_ARCHIVE
    if not archive.exists():
        if not allow_download:
            raise ValueError(wikitext2_missing(cache))
        download(WIKITEXT2_URL, archive, sha1=WIKITEXT2_SHA1, report=report, then="dlstudio extracts it there.")
    tmp = cache / ".wikitext-2.extracting"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)  # zipfile drops absolute paths and ".." from member names
    except (zipfile.BadZipFile, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"{archive} is damaged ({exc}): delete it and try again") from None
    if not (tmp / "wikitext-2").is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"{archive} holds no wikitext-2/ folder: is it the right archive?")
    shutil.rmtree(folder, ignore_errors=True)
    (tmp / "wikitext-2").rename(folder)
    shutil.rmtree(tmp, ignore_errors=True)
    return folder


def wikitext2(cache: Path, *, allow_download: bool = False, max_chars: int = 0,
              report: Callable[[str], None] = print) -> Corpus:
    """WikiText-2's own training and validation splits (case and punctuation kept, as in the book)."""
    folder = ensure_wikitext2(cache, allow_download=allow_download, report=report)
    train = (folder / "wiki.train.tokens").read_text(encoding="utf-8")
    valid = (folder / "wiki.valid.tokens").read_text(encoding="utf-8")
    messages = [f"WikiText-2 from {folder}"]
    if max_chars:
        train, valid = cap(train, max_chars), cap(valid, max(1, max_chars // 9))
        messages.append(f"kept the first {len(train):,} training and {len(valid):,} validation characters "
                        "(max_chars; 0 keeps it all)")
    train = "\n".join(line for line in train.splitlines() if line.strip())
    valid = "\n".join(line for line in valid.splitlines() if line.strip())
    return train, valid, messages
