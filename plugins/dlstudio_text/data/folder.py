"""Text files in class folders — the aclImdb layout (train/pos, train/neg, test/...) or root/<class> — and the
IMDB download.

Files are read as UTF-8, then (when that fails) as Windows-1252, then Latin-1; how many needed the fallback is
reported. Empty and binary files are skipped and listed, never a crash.
"""

from __future__ import annotations

import random
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from dlstudio_text.download import download

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_ARCHIVE = "aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
IMDB_SHA1 = "01ada507287d82875905620988597833ad4e0903"
#: Folders of the aclImdb layout that are not classes (unlabelled reviews).
IGNORED = {"unsup"}
TRAIN_NAMES = ("train", "training")
VALID_NAMES = ("test", "valid", "validation", "val")
#: How many file names a message lists before "and N more".
SHOW = 5

Samples = list[tuple[str, int]]


def decode(data: bytes) -> tuple[str | None, str]:
    """``(text, encoding)``: UTF-8 first, then cp1252, then latin-1; ``(None, why)`` for binary data."""
    if b"\x00" in data:
        return None, "binary"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def listing(names: list[str]) -> str:
    """The first few names, and how many more."""
    shown = ", ".join(names[:SHOW])
    return shown + (f" and {len(names) - SHOW} more" if len(names) > SHOW else "")


class Reader:
    """Reads text files, keeping count of fallback decodings and skipped files for the messages."""

    def __init__(self) -> None:
        self.fallback: list[str] = []
        self.empty: list[str] = []
        self.binary: list[str] = []

    def read(self, path: Path, name: str) -> str | None:
        try:
            data = path.read_bytes()
        except OSError:
            self.binary.append(name)
            return None
        text, encoding = decode(data)
        if text is None:
            self.binary.append(name)
            return None
        if not text.strip():
            self.empty.append(name)
            return None
        if encoding != "utf-8":
            self.fallback.append(name)
        return text.strip()

    def messages(self) -> list[str]:
        out = []
        if self.fallback:
            out.append(f"decoded {len(self.fallback)} file(s) as Windows-1252/Latin-1 (not UTF-8): "
                       f"{listing(self.fallback)}")
        if self.empty:
            out.append(f"skipped {len(self.empty)} empty file(s): {listing(self.empty)}")
        if self.binary:
            out.append(f"skipped {len(self.binary)} unreadable or binary file(s): {listing(self.binary)}")
        return out


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and p.name not in IGNORED)


def _split_folders(root: Path) -> tuple[Path | None, Path | None]:
    train = next((root / n for n in TRAIN_NAMES if (root / n).is_dir()), None)
    valid = next((root / n for n in VALID_NAMES if (root / n).is_dir()), None)
    return train, valid


def _read_classes(folder: Path, classes: list[str], reader: Reader, root: Path, limit: int,
                  seed: int) -> Samples:
    samples = []
    for label, name in enumerate(classes):
        sub = folder / name
        if not sub.is_dir():
            continue
        for path in _files(sub):
            text = reader.read(path, str(path.relative_to(root)))
            if text is not None:
                samples.append((text, label))
    if limit and len(samples) > limit:
        samples = random.Random(seed).sample(samples, limit)
    return samples


def read_folder(root: Path, *, valid_fraction: float = 0.2, seed: int = 0, limit_train: int = 0,
                limit_valid: int = 0) -> tuple[Samples, Samples, list[str], list[str]]:
    """``(train, valid, classes, messages)`` from root/train/<class> + root/test/<class> (or valid/), or from
    root/<class> split by ``valid_fraction`` (stratified, seeded). ``limit_*`` > 0 keep a seeded sample."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder: choose a folder with one sub-folder of text files per class "
                         "(or train/<class> and test/<class>, the aclImdb layout)")
    if (root / "aclImdb").is_dir() and not _split_folders(root)[0]:
        root = root / "aclImdb"
    train_dir, valid_dir = _split_folders(root)
    reader = Reader()
    messages = []
    if train_dir is not None:
        classes = [p.name for p in _class_folders(train_dir)]
        _check_classes(classes, train_dir)
        train = _read_classes(train_dir, classes, reader, root, limit_train, seed)
        if valid_dir is not None:
            extra = sorted({p.name for p in _class_folders(valid_dir)} - set(classes))
            if extra:
                messages.append(f"ignored {valid_dir.name}/ folder(s) that are not training classes: "
                                f"{listing(extra)}")
            valid = _read_classes(valid_dir, classes, reader, root, limit_valid, seed)
        else:
            train, valid = split(train, valid_fraction, seed)
            messages.append(f"no test/ or valid/ folder: {valid_fraction:.0%} of {train_dir.name}/ held out "
                            "for validation")
    else:
        classes = [p.name for p in _class_folders(root)]
        _check_classes(classes, root)
        samples = _read_classes(root, classes, reader, root, 0, seed)
        train, valid = split(samples, valid_fraction, seed)
        train, valid = _limit(train, limit_train, seed), _limit(valid, limit_valid, seed)
    messages += reader.messages()
    counts = [sum(1 for _, y in train if y == i) for i in range(len(classes))]
    empty = [c for c, n in zip(classes, counts, strict=True) if n == 0]
    if empty:
        raise ValueError(f"no readable text for class(es) {', '.join(empty)} in {root}: every class folder "
                         "needs at least one non-empty text file")
    messages.insert(0, f"read {len(train):,} training and {len(valid):,} validation texts from {root} "
                       f"({', '.join(f'{c}: {n:,}' for c, n in zip(classes, counts, strict=True))})")
    return train, valid, classes, messages


def _limit(samples: Samples, limit: int, seed: int) -> Samples:
    return random.Random(seed).sample(samples, limit) if limit and len(samples) > limit else samples


def _check_classes(classes: list[str], folder: Path) -> None:
    if not classes:
        raise ValueError(f"{folder} has no class folders: put the texts of each class in a sub-folder "
                         "(e.g. pos/ and neg/), or use train/<class> and test/<class> (the aclImdb layout)")
    if len(classes) == 1:
        raise ValueError(f"{folder} has one class only ({classes[0]!r}): a classifier needs at least two class "
                         "folders (e.g. pos/ and neg/)")


def split(samples: Samples, fraction: float, seed: int) -> tuple[Samples, Samples]:
    """A stratified, seeded split: ``fraction`` of each class goes to validation (at least one when it can)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"the validation fraction must be in [0, 1), got {fraction}")
    rng = random.Random(seed)
    train, valid = [], []
    for label in sorted({y for _, y in samples}):
        group = [s for s in samples if s[1] == label]
        rng.shuffle(group)
        n = round(len(group) * fraction)
        if fraction > 0 and n == 0 and len(group) > 1:
            n = 1
        valid += group[:n]
        train += group[n:]
    rng.shuffle(train)
    return train, valid


# -- IMDB ------------------------------------------------------------------------------------------------------

def imdb_missing(cache: Path) -> str:
    return (f"IMDB is not in {cache / 'aclImdb'}. Switch 'download' on (needs internet, about 84 MB), or download "
            f"{IMDB_URL} yourself and put {IMDB_ARCHIVE} in {cache} (dlstudio extracts it there) — or set "
            "'root' to a folder that holds the extracted aclImdb.")


def ensure_imdb(cache: Path, *, allow_download: bool, report: Callable[[str], None] = print) -> Path:
    """The extracted aclImdb folder in ``cache``: extracted from the archive there, downloaded if allowed."""
    cache = Path(cache)
    folder = cache / "aclImdb"
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return folder
    archive = cache / IMDB_ARCHIVE
    if not archive.exists():
        if not allow_download:
            raise ValueError(imdb_missing(cache))
        download(IMDB_URL, archive, md5=IMDB_MD5, report=report, then="dlstudio extracts it there.")
    report(f"extracting {archive.name} into {cache} (100,000 small files: a minute or two)")
    extract_tar(archive, cache, "aclImdb")
    return folder


def extract_tar(archive: Path, cache: Path, top: str) -> None:
    """Extract ``archive`` into ``cache`` through a temporary folder, so a half-extracted ``top`` never shows."""
    tmp = cache / f".{top}.extracting"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"{archive} is damaged ({exc}): delete it and try again") from None
    if not (tmp / top).is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"{archive} holds no {top}/ folder: is it the right archive?")
    shutil.rmtree(cache / top, ignore_errors=True)
    (tmp / top).rename(cache / top)
    shutil.rmtree(tmp, ignore_errors=True)
