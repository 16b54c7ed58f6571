"""A local stand-in for the Hugging Face Hub on 127.0.0.1, for the model-download tests.

It speaks what huggingface_hub 2.x asks of the Hub, as read from its source (hf_api.py,
file_download.py, utils/_http.py, utils/_pagination.py):

- GET  /api/models/{repo}?blobs=True: HfApi.model_info(files_metadata=True); JSON with
  "id", "sha" and "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256", "size",
  "pointerSize"}}]. An unknown repo is 404 with X-Error-Code: RepoNotFound.
- GET  /api/models?search=…&filter=gguf&sort=…&limit=…: HfApi.list_models; a JSON list of
  {"id": …}, one page (no Link header).
- HEAD /{repo}/resolve/{revision}/{path}: get_hf_file_metadata; X-Repo-Commit, ETag,
  X-Linked-Etag (the LFS SHA-256), X-Linked-Size and Content-Length. Unknown files are 404
  with X-Error-Code: EntryNotFound.
- GET  /{repo}/resolve/{revision}/{path}: http_get; the bytes, or for "Range: bytes=N-" a 206
  with Content-Range.

Faults for the tests: a connection cut after N bytes of a body, a body held after N bytes
until the test releases it, an error status instead of an answer, a byte served flipped (same
size, other SHA-256), a size the listing overstates. Every request is logged with the Range
it asked for and the body bytes it got.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_CHUNK = 1024 * 1024
_API_MODEL = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_RANGE = re.compile(r"^bytes=(?P<start>\d+)-(?P<end>\d*)$")
_HOLD_LIMIT_S = 30.0


def minimal_gguf() -> bytes:
    """A valid GGUF v3 file with no tensors and no metadata: a stand-in for a later part of a
    split model, which llama.cpp reads only through the first part."""
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 0)


@cache
def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(4 * _CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Blob:
    """A file the Hub serves: a real file on disk, or bytes."""

    content: Path | bytes
    listed_size: int | None = None  # what the listing claims, when it should lie
    flip_at: int | None = None  # serve this byte inverted: same size, another SHA-256

    @property
    def size(self) -> int:
        return self.content.stat().st_size if isinstance(self.content, Path) else len(self.content)

    @property
    def sha256(self) -> str:
        """The hash of the true content: what the Hub's LFS metadata says."""
        if isinstance(self.content, Path):
            return _file_sha256(self.content)
        return hashlib.sha256(self.content).hexdigest()

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end), as served (a flipped byte included)."""
        position = start
        handle = self.content.open("rb") if isinstance(self.content, Path) else None
        try:
            if handle is not None:
                handle.seek(start)
            while position < end:
                count = min(_CHUNK, end - position)
                if handle is not None:
                    chunk = bytearray(handle.read(count))
                else:
                    assert isinstance(self.content, bytes)
                    chunk = bytearray(self.content[position : position + count])
                if self.flip_at is not None and position <= self.flip_at < position + count:
                    chunk[self.flip_at - position] ^= 0xFF
                yield bytes(chunk)
                position += count
        finally:
            if handle is not None:
                handle.close()


@dataclass(frozen=True)
class Fault:
    """What the next file request gets instead of a plain answer."""

    cut_after: int | None = None  # send this many body bytes, then drop the connection
    hold_after: int | None = None  # send this many body bytes, then wait for release()
    status: int | None = None  # answer with this HTTP status and no file


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # unquoted
    range_start: int | None  # the N of the request's "Range: bytes=N-" header
    status: int
    sent: int  # body bytes sent


@dataclass
class _Repo:
    commit: str
    files: dict[str, Blob]


@dataclass
class HubState:
    repos: dict[str, _Repo] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    log: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    def next_fault(self) -> Fault:
        with self.lock:
            return self.faults.pop(0) if self.faults else Fault()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and Content-Length, as the real Hub
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test log below says more, and stderr stays clean

    def do_GET(self) -> None:
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:
        self._dispatch(send_body=False)

    def _dispatch(self, *, send_body: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        state = self.server.state
        if path == "/api/models" and send_body:
            self._api_search(parse_qs(url.query))
        elif (match := _API_MODEL.match(path)) and send_body:
            self._api_model(state.repos.get(match["repo"]), match["repo"])
        elif match := _RESOLVE.match(path):
            self._resolve(state.repos.get(match["repo"]), match["path"], send_body)
        else:
            self._json(404, {"error": "not found"}, {"X-Error-Code": "EntryNotFound"})

    def _record(self, status: int, sent: int) -> None:
        path = unquote(urlsplit(self.path).path)
        match = _RANGE.match(self.headers.get("Range", "").strip())
        range_start = int(match["start"]) if match else None
        request = Request(self.command, path, range_start, status, sent)
        with self.server.state.lock:
            self.server.state.log.append(request)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._record(status, len(data))

    def _api_search(self, query: dict[str, list[str]]) -> None:
        words = query.get("search", [""])[0].lower()
        found = [{"id": repo} for repo in self.server.state.repos if words in repo.lower()]
        self._json(200, found)

    def _api_model(self, repo: _Repo | None, repo_id: str) -> None:
        if repo is None:
            self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return
        siblings = [
            {
                "rfilename": name,
                "size": blob.listed_size or blob.size,
                "blobId": hashlib.sha1(name.encode()).hexdigest(),
                "lfs": {
                    "sha256": blob.sha256,
                    "size": blob.listed_size or blob.size,
                    "pointerSize": 135,
                },
            }
            for name, blob in repo.files.items()
        ]
        self._json(200, {"id": repo_id, "sha": repo.commit, "siblings": siblings})

    def _resolve(self, repo: _Repo | None, name: str, send_body: bool) -> None:
        if repo is None:
            self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return
        blob = repo.files.get(name)
        if blob is None:
            self._json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            return
        fault = self.server.state.next_fault() if send_body else Fault()
        if fault.status is not None:
            self._json(fault.status, {"error": "injected failure"})
            return
        start, status = self._range(blob.size)
        if status == 416:
            self._json(416, {"error": "range not satisfiable"})
            return
        self.send_response(status)
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("ETag", f'"{blob.sha256}"')
        self.send_header("X-Linked-Etag", f'"{blob.sha256}"')
        self.send_header("X-Linked-Size", str(blob.size))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(blob.size - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{blob.size - 1}/{blob.size}")
        self.end_headers()
        sent = self._send(blob, start, fault) if send_body else 0
        self._record(status, sent)

    def _range(self, size: int) -> tuple[int, int]:
        header = self.headers.get("Range")
        if header is None:
            return 0, 200
        match = _RANGE.match(header.strip())
        if match is None:
            return 0, 200  # a Range we do not understand is ignored, as RFC 9110 allows
        start = int(match["start"])
        return (start, 206) if start < size else (start, 416)

    def _send(self, blob: Blob, start: int, fault: Fault) -> int:
        end = blob.size if fault.cut_after is None else min(blob.size, start + fault.cut_after)
        hold_at = None if fault.hold_after is None else start + fault.hold_after
        sent = 0
        try:
            for piece_start, piece_end in _pieces(start, end, hold_at):
                if piece_start == hold_at:
                    self.wfile.flush()
                    self.server.state.released.wait(_HOLD_LIMIT_S)
                for chunk in blob.read(piece_start, piece_end):
                    self.wfile.write(chunk)
                    sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client paused or gave up
        if fault.cut_after is not None:
            self.close_connection = True  # fewer bytes than Content-Length: a broken transfer
        return sent


def _pieces(start: int, end: int, split_at: int | None) -> list[tuple[int, int]]:
    if split_at is None or not start < split_at < end:
        return [(start, end)]
    return [(start, split_at), (split_at, end)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: HubState


class HubServer:
    """Start with `with HubServer() as hub:`; point huggingface_hub at `hub.url`."""

    def __init__(self) -> None:
        self.state = HubState()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        # A short poll: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_repo(self, repo_id: str, files: dict[str, Blob]) -> str:
        """Publish a repository; returns its commit hash."""
        commit = hashlib.sha1(repo_id.encode()).hexdigest()
        self.state.repos[repo_id] = _Repo(commit, dict(files))
        return commit

    def release(self) -> None:
        """Let bodies held by a `hold_after` fault go on."""
        self.state.released.set()

    def fail_next(self, *faults: Fault) -> None:
        """The next file downloads (GET) get these faults, one each, in order."""
        with self.state.lock:
            self.state.faults.extend(faults)

    @property
    def requests(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.log)

    def downloads(self, name: str) -> list[Request]:
        """The GET requests for the file `name`."""
        return [r for r in self.requests if r.method == "GET" and r.path.endswith(f"/{name}")]

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
