"""Small raw-socket HTTP servers on 127.0.0.1 for engine tests: every network fault on demand.

A ``RawServer`` accepts connections in a thread and serves each connection in its own thread
(keep-alive). Each request is handed to a behaviour ``fn(server, request, conn)`` that writes
whatever it likes, including nothing. ``stop()`` (or leaving the ``with`` block) shuts every
socket down and joins every thread it started; stalling behaviours wait on ``server.stopping``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    arrival: float  # monotonic
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def json(self) -> Any:
        return json.loads(self.body.decode())


Behaviour = Callable[["RawServer", RawRequest, socket.socket], bool]
"""Writes the response; returns True to keep the connection open for another request."""


def _read_request(conn: socket.socket, buf: bytearray) -> RawRequest | None:
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf.extend(chunk)
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body.extend(chunk)
    buf[:] = body[length:]
    return RawRequest(method, path, headers, bytes(body[:length]), time.monotonic())


def http_response(
    status: int, body: bytes, headers: dict[str, str] | None = None, reason: str = "X"
) -> bytes:
    head = [f"HTTP/1.1 {status} {reason}"]
    all_headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    all_headers.update(headers or {})
    head += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class RawServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stopping = threading.Event()
        self.requests: list[RawRequest] = []
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1024)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="raw-acceptor", daemon=True)

    def __enter__(self) -> RawServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._acceptor.join(5)
        with self._lock:
            conns = list(self._conns)
            threads = list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._conns.add(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buf = bytearray()
        try:
            for _ in range(100_000):
                request = _read_request(conn, buf)
                if request is None or self.stopping.is_set():
                    return
                with self._lock:
                    self.requests.append(request)
                if not self.behaviour(self, request, conn):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()


# -- response bodies --------------------------------------------------------------------------


def dashscope_ok_body(
    request_id: str, image: str = "https://img.example/x.png?sig=SECRET"
) -> bytes:
    return json.dumps(
        {
            "output": {
                "choices": [
                    {
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": [{"image": image}]},
                    }
                ]
            },
            "usage": {"width": 1328, "height": 1328, "image_count": 1},
            "request_id": request_id,
        }
    ).encode()


def dashscope_error_body(code: str, message: str) -> bytes:
    return json.dumps({"request_id": "r-err", "code": code, "message": message}).encode()


# -- behaviours -------------------------------------------------------------------------------


def ok(delay: float = 0.0) -> Behaviour:
    def fn(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
        if delay and server.stopping.wait(delay):
            return False
        conn.sendall(
            http_response(200, dashscope_ok_body(req.request_id), {"x-request-id": req.request_id})
        )
        return True

    return fn


def status(code: int, body: bytes, headers: dict[str, str] | None = None) -> Behaviour:
    def fn(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
        conn.sendall(http_response(code, body, headers))
        return True

    return fn


def stall_headers(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    server.stopping.wait(30)
    return False


def stall_body(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    conn.sendall(http_response(200, b"", {"Content-Length": "1000"}) + b'{"output": ')
    server.stopping.wait(30)
    return False


def slow_drip(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    conn.sendall(http_response(200, b"", {"Content-Length": "100000"}))
    for _ in range(1000):  # one byte every 50 ms: never idle long enough for a read timeout
        conn.sendall(b" ")
        if server.stopping.wait(0.05):
            break
    return False


def truncated(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    conn.sendall(http_response(200, b"", {"Content-Length": "1000"}) + b'{"output": {')
    return False


def bad_chunking(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    conn.sendall(head.encode() + b"zz\r\nnot a chunk\r\n")
    return False


def reset(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False  # close with linger 0 -> RST


def close_without_response(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    return False


def bad_json(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    conn.sendall(http_response(200, b"<html>not json</html>", {"Content-Type": "text/html"}))
    return True


def no_image(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    body = json.dumps({"output": {"choices": []}, "request_id": req.request_id}).encode()
    conn.sendall(http_response(200, body))
    return True


def redirect(server: RawServer, req: RawRequest, conn: socket.socket) -> bool:
    conn.sendall(http_response(302, b"", {"Location": "http://127.0.0.1:9/elsewhere"}))
    return True


def refused_url() -> str:
    """A loopback URL nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
