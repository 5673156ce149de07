"""Helpers shared by the hardening tests: a canary key, files under a folder, child processes."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import secrets
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def canary_key() -> str:
    """A fresh API key that cannot occur in any output by chance."""
    return "sk-CANARY" + secrets.token_hex(16)


def leak_fragments(key: str) -> list[str]:
    """The key and the parts of it a truncated or split leak would still show."""
    unique = key.removeprefix("sk-CANARY")
    return [key, unique[:12], unique[-12:]]


def files_containing(root: Path, needles: list[str]) -> dict[str, list[str]]:
    """Every file under ``root`` (recursively) holding any of ``needles``, as bytes."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        hits = [n for n in needles if n.encode() in data]
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc), for checking a run left no process behind."""
    children: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    if not task_dir.exists():
        return children
    for task in task_dir.iterdir():
        path = task / "children"
        try:
            children.extend(int(p) for p in path.read_text().split())
        except OSError:
            continue
    return sorted(set(children))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def temp_files(folder: Path) -> list[str]:
    """Leftover temporary files of the atomic writer (``.<name>.<random>.tmp``)."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


# -- small HTTP(S) servers on 127.0.0.1 ------------------------------------------------------


@dataclass
class Seen:
    """One request a :class:`RecordingServer` received."""

    method: str
    path: str
    headers: dict[str, str]


Responder = Callable[["RecordingServer", Seen], tuple[int, dict[str, str], bytes]]


def dashscope_ok(server: RecordingServer, seen: Seen) -> tuple[int, dict[str, str], bytes]:
    body = {
        "output": {
            "choices": [
                {
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": [{"image": "https://img/x.png"}]},
                }
            ]
        },
        "usage": {"width": 1328, "height": 1328, "image_count": 1},
        "request_id": uuid.uuid4().hex,
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def redirect_to(target: str, status: int = 302) -> Responder:
    def respond(server: RecordingServer, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        return status, {"Location": target + seen.path}, b""

    return respond


class RecordingServer:
    """A threaded HTTP (or, with ``tls``, HTTPS) server that records every request's headers.

    Used as a context manager; leaving it shuts the server down and joins its thread.
    """

    def __init__(self, respond: Responder, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                seen = Seen(self.command, self.path, dict(self.headers.items()))
                with outer._lock:
                    outer.seen.append(seen)
                status, headers, body = respond(outer, seen)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def self_signed_tls(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (openssl CLI)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class HangingServer:
    """A raw TCP server on 127.0.0.1 that accepts and then never answers (``drip_s=None``) or
    answers one byte every ``drip_s`` seconds. Leaving it closes every socket and joins every
    thread."""

    RESPONSE = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        + b" " * 100
    )

    def __init__(self, drip_s: float | None = None) -> None:
        self.drip_s = drip_s
        self.accepted = 0
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> HangingServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._acceptor.join(5)
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in threads:
            thread.join(5)

    def _accept(self) -> None:
        for _ in range(100_000):
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._conns.append(conn)
                thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        if self.drip_s is None:
            self.stopping.wait(120)
            return
        for byte in self.RESPONSE:
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return
            if self.stopping.wait(self.drip_s):
                return
