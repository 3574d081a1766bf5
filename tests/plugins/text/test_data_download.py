"""The downloader: resume by Range, checksum, atomic rename, and an offline message naming the file and folder.

A local HTTP server on the loopback interface stands in for the real hosts (no internet is reached); the
offline case makes urllib fail.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import typing
import urllib.error
import urllib.request

import pytest

from dlstudio_text.download import OfflineError, download

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    ranges: typing.ClassVar[list[str | None]] = []
    honour_range = True

    def do_GET(self):
        rng = self.headers.get("Range")
        type(self).ranges.append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng and self.honour_range else 0
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.ranges = []
    _Handler.honour_range = True
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/data.bin"
    httpd.shutdown()
    httpd.server_close()


def test_resumes_a_partial_download_with_a_range_request(server, tmp_path):
    dest = tmp_path / "cache" / "data.bin"
    dest.parent.mkdir()
    (tmp_path / "cache" / "data.bin.part").write_bytes(PAYLOAD[:30000])
    messages = []
    got = download(server, dest, sha256=DIGEST, size=len(PAYLOAD), report=messages.append)
    assert got == dest and dest.read_bytes() == PAYLOAD
    assert _Handler.ranges == ["bytes=30000-"]
    assert not (tmp_path / "cache" / "data.bin.part").exists()
    assert any("resuming" in m for m in messages) and any("100 %" in m for m in messages)


def test_restarts_when_the_server_ignores_the_range(server, tmp_path):
    _Handler.honour_range = False
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(b"x" * 500)
    download(server, dest, sha256=DIGEST, report=lambda m: None)
    assert dest.read_bytes() == PAYLOAD


def test_a_complete_file_is_not_downloaded_again(server, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    download(server, dest, sha256=DIGEST, size=len(PAYLOAD), report=lambda m: None)
    assert _Handler.ranges == []


def test_a_wrong_checksum_deletes_the_file_and_says_so(server, tmp_path):
    dest = tmp_path / "data.bin"
    with pytest.raises(ValueError, match="checksum") as err:
        download(server, dest, sha256="0" * 64, report=lambda m: None)
    assert not isinstance(err.value, OfflineError)
    assert not dest.exists() and not (tmp_path / "data.bin.part").exists()


def test_offline_names_the_archive_and_the_folder_and_keeps_the_partial_file(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    dest = tmp_path / "cache" / "aclImdb_v1.tar.gz"
    dest.parent.mkdir()
    (dest.parent / "aclImdb_v1.tar.gz.part").write_bytes(b"x" * 2048)
    url = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    with pytest.raises(OfflineError) as err:
        download(url, dest, report=lambda m: None, then="dlstudio extracts it there.")
    text = str(err.value)
    assert url in text and f"put aclImdb_v1.tar.gz in {dest.parent}" in text
    assert "Name or service not known" in text and "resumes" in text
    assert (dest.parent / "aclImdb_v1.tar.gz.part").stat().st_size == 2048
