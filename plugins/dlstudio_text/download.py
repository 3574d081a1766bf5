"""Downloading the text plugin's archives (IMDB, WikiText-2, GloVe): progress, resume, checksum, offline message.

A download goes into ``<dest>.part``; an interrupted one is resumed with an HTTP Range request on the next try,
the finished file is checked against its size and SHA-256, and only then renamed to ``dest`` (atomically), so a
half-written archive never looks complete. When the network fails, :class:`OfflineError` says which file to put
where, so a user on a machine without internet can bring it in by hand.

No torch, no third-party packages: the standard library's ``urllib`` only.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 16
#: Seconds between two progress reports (the first and the last are always reported).
REPORT_EVERY = 2.0


class OfflineError(ValueError):
    """The network failed: the message names the file, where it comes from and where to put it."""


def human_size(n: int | None) -> str:
    """``84125825`` → ``"80.2 MB"``; None → ``"unknown size"``."""
    if n is None:
        return "unknown size"
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop returns


def sha256_of(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest (SHA-256 unless told) of a file, read in chunks (archives are tens of MB)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def offline_message(url: str, dest: Path, reason: str = "", *, size: int | None = None, then: str = "") -> str:
    """What to do without internet: which file (from where) to put in which folder."""
    name = Path(dest).name
    why = f" ({reason})" if reason else ""
    bytes_ = f", {human_size(size)}" if size else ""
    follow = f" {then}" if then else ""
    return (f"could not download {name}{why}. Without internet, download {url}{bytes_} on another machine "
            f"and put {name} in {Path(dest).parent}.{follow}")


def _problem(path: Path, sums: dict[str, str | None], size: int | None) -> str:
    """Why a finished file is not the expected one, or ""."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        return f"it has {actual} bytes, expected {size}"
    for algorithm, expected in sums.items():
        if expected and sha256_of(path, algorithm) != expected.lower():
            return f"its {algorithm.upper()} checksum does not match"
    return ""


def download(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None,
             report: Callable[[str], None] = print, timeout: float = 60.0, then: str = "",
             sha1: str | None = None, md5: str | None = None) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), check it, rename it into place; return ``dest``.

    A ``dest`` already there and matching ``size``/``sha256`` is returned without touching the network. A
    network failure raises :class:`OfflineError` (the partial file is kept for the next try); a file that
    arrives complete but wrong is deleted and raises ValueError. ``then`` is appended to the offline message
    (e.g. "Then extract it there."). ``sha1``/``md5`` check archives whose publishers give only those.
    """
    dest = Path(dest)
    sums = {"sha256": sha256, "sha1": sha1, "md5": md5}
    if dest.exists():
        problem = _problem(dest, sums, size)
        if not problem:
            return dest
        report(f"{dest.name} is there but {problem}: downloading it again")
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch(url, part, size, report, timeout)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        kept = part.stat().st_size if part.exists() else 0
        note = f" ({human_size(kept)} kept in {part.name}; the next try resumes it)" if kept else ""
        raise OfflineError(offline_message(url, dest, f"{reason}{note}", size=size, then=then)) from None
    problem = _problem(part, sums, size)
    if problem:
        part.unlink()
        raise ValueError(f"the download of {dest.name} from {url} is damaged: {problem}. It was deleted: try "
                         f"again, or download it on another machine and put {dest.name} in {dest.parent}.")
    os.replace(part, dest)
    report(f"downloaded {dest.name} ({human_size(dest.stat().st_size)})")
    return dest


def _fetch(url: str, part: Path, size: int | None, report: Callable[[str], None], timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:  # a stale partial file of something else
        part.unlink()
        have = 0
    if size is not None and have == size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": "dlstudio"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the range starts at the end: the part is complete
            return
        raise
    with response:
        status = getattr(response, "status", 200)
        if have and status != 206:  # the server ignored the range: start over
            report(f"{part.name}: the server cannot resume, starting again")
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else size
        mode = "ab" if have else "wb"
        done = have
        verb = "resuming" if have else "downloading"
        report(f"{verb} {url} ({human_size(total)}" + (f", {human_size(have)} already here)" if have else ")"))
        last = time.monotonic()
        with open(part, mode) as out:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                now = time.monotonic()
                if now - last >= REPORT_EVERY:
                    last = now
                    report(_progress(part.name, done, total))
        report(_progress(part.name, done, total))


def _progress(name: str, done: int, total: int | None) -> str:
    if total:
        return f"{name}: {human_size(done)} of {human_size(total)} ({100 * done / total:.0f} %)"
    return f"{name}: {human_size(done)}"
