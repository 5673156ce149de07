"""HTTP transport: one ``requests.Session`` per worker thread, one deadline per request.

Deadlines. requests' timeouts are per socket operation, so a slow-drip body never times out
and a body stalled midway surfaces as ``ConnectionError("Read timed out")``. We therefore:

* give every socket operation a timeout equal to the time left before the request's deadline
  (connect is additionally capped at :data:`CONNECT_TIMEOUT_CAP`), so a stall ends exactly at
  the deadline and is classified as ``timeout`` by its urllib3 ``ReadTimeoutError`` cause;
* register the connection in use with an :class:`InFlight` handle that the
  :class:`~pytest_qwenperf.engine.watchdog.Watchdog` thread shuts down (``socket.shutdown``)
  when the deadline passes or the run is stopped. That ends a slow-drip body at the deadline
  and unblocks any read at once on interrupt. A request whose handle was killed is classified
  by the kill reason, whatever exception the read then raised.

Redirects are never followed (a 3xx is a classified failure): credentials must not travel to
another origin. TLS verification follows ``LoadConfig.verify_tls``.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from pytest_qwenperf.metrics.sample import Outcome
from pytest_qwenperf.protocols.base import HttpRequest, HttpResponse
from pytest_qwenperf.redact import redact

#: Longest a TCP/TLS connect may take, even with a longer deadline (seconds). A connect is the
#: one step the watchdog cannot cut short, so this also bounds how long an interrupt can take.
CONNECT_TIMEOUT_CAP = 10.0
#: Largest response body read (bytes); beyond it the response is a protocol error.
MAX_BODY_BYTES = 256 * 1024 * 1024
_CHUNK = 64 * 1024

KILL_DEADLINE = "deadline"
KILL_STOP = "stop"

_current = threading.local()


class InFlight:
    """One request in flight: its deadline and the connection it is using right now."""

    __slots__ = ("_conn", "_lock", "deadline", "killed")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.killed: str | None = None
        self._conn: HTTPConnection | None = None
        self._lock = threading.Lock()

    def attach(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._conn = conn
            killed = self.killed
        if killed:
            _shutdown(conn)

    def detach(self) -> None:
        with self._lock:
            self._conn = None

    def kill(self, reason: str) -> None:
        with self._lock:
            if self.killed is None:
                self.killed = reason
            conn = self._conn
        if conn is not None:
            _shutdown(conn)


def _shutdown(conn: HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _TrackedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        handle: InFlight | None = getattr(_current, "handle", None)
        if handle is not None:
            handle.attach(self)
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        handle: InFlight | None = getattr(_current, "handle", None)
        if handle is not None:
            handle.attach(self)
        super().request(*args, **kwargs)


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection

    def _validate_conn(self, conn: Any) -> None:
        if self.cert_reqs not in (ssl.CERT_NONE, "CERT_NONE", "NONE"):
            super()._validate_conn(conn)
            return
        # --qwenperf-insecure was chosen explicitly and is warned about once, in the header
        # and the reports. urllib3's per-request InsecureRequestWarning would instead turn
        # every request into an error under `filterwarnings = error` (a per-test setting
        # that no global filter can override), so connect as urllib3 does, without it.
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


class _TrackedAdapter(HTTPAdapter):
    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _TrackedHTTPPool,
            "https": _TrackedHTTPSPool,
        }


class TransportError(Exception):
    """A request that ended without a complete HTTP response."""

    def __init__(self, outcome: Outcome, message: str, bytes_received: int = 0) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.bytes_received = bytes_received


class Stopped(Exception):
    """The run was stopped (interrupt or stop event) while this request was in flight."""


def new_session(url: str | None = None) -> requests.Session:
    """A keep-alive session for one worker thread (it sends one request at a time).

    Environment settings are resolved once here rather than on every request (requests would
    otherwise look up proxies and ~/.netrc per call): proxies from ``*_PROXY``/``NO_PROXY`` for
    ``url``, CA bundle from ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``. Credentials from
    ``.netrc`` are never used: the API key is the only credential sent.
    """
    session = requests.Session()
    if url is not None:
        settings = session.merge_environment_settings(url, {}, None, None, None)
        session.proxies.update(settings.get("proxies") or {})
        verify = settings.get("verify")
        if isinstance(verify, str):
            session.verify = verify
        session.trust_env = False
    adapter = _TrackedAdapter(pool_connections=2, pool_maxsize=2, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _has_read_timeout_cause(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, (urllib3.exceptions.ReadTimeoutError, socket.timeout, TimeoutError)):
            return True
        args = getattr(seen, "args", ())
        if any(isinstance(a, urllib3.exceptions.ReadTimeoutError) for a in args):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, (urllib3.exceptions.ReadTimeoutError, socket.timeout)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _has_cause(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, kinds) or any(isinstance(a, kinds) for a in seen.args):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def classify_exception(exc: BaseException) -> Outcome:
    """The outcome class of a requests/urllib3 exception (reference/measurement.md §4)."""
    if isinstance(
        exc,
        (
            requests.exceptions.ReadTimeout,
            requests.exceptions.ConnectTimeout,
            urllib3.exceptions.TimeoutError,
            socket.timeout,
            TimeoutError,
        ),
    ):
        return Outcome.TIMEOUT
    if _has_read_timeout_cause(exc):
        # A body stalled midway: requests says ConnectionError("Read timed out").
        return Outcome.TIMEOUT
    if isinstance(
        exc,
        (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
            urllib3.exceptions.ProtocolError,
            urllib3.exceptions.DecodeError,
        ),
    ):
        # A reset or broken pipe mid-body is the connection's fault; a short or malformed
        # body (IncompleteRead, bad chunk length) is the protocol's.
        if _has_cause(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return Outcome.CONNECTION_ERROR
        if isinstance(exc, urllib3.exceptions.ProtocolError) and not _has_cause(
            exc, (http.client.IncompleteRead, urllib3.exceptions.InvalidChunkLength)
        ):
            return Outcome.CONNECTION_ERROR
        return Outcome.PROTOCOL_ERROR
    return Outcome.CONNECTION_ERROR


class Transport:
    """Sends :class:`HttpRequest` values for one worker thread."""

    def __init__(
        self, *, verify_tls: bool, secrets: tuple[str | None, ...], url: str | None = None
    ) -> None:
        self._session = new_session(url)
        # True -> the session's CA bundle (certifi or REQUESTS_CA_BUNDLE); False -> no checks.
        session_verify = self._session.verify
        self._verify: bool | str = (
            (session_verify if session_verify is not None else True) if verify_tls else False
        )
        self._secrets = secrets

    def close(self) -> None:
        self._session.close()

    def send(self, request: HttpRequest, handle: InFlight) -> tuple[HttpResponse, int]:
        """The complete response and the body bytes received.

        Raises :class:`TransportError` (timeout, connection or protocol error) or
        :class:`Stopped`.
        """
        received = 0
        remaining = handle.deadline - time.monotonic()
        if handle.killed == KILL_STOP:
            raise Stopped()
        if remaining <= 0 or handle.killed == KILL_DEADLINE:
            raise TransportError(Outcome.TIMEOUT, "deadline reached before the request was sent")
        _current.handle = handle
        try:
            try:
                with self._session.request(
                    request.method,
                    request.url,
                    headers=dict(request.headers),
                    data=request.body_bytes(),
                    timeout=(min(remaining, CONNECT_TIMEOUT_CAP), remaining),
                    allow_redirects=False,
                    stream=True,
                    verify=self._verify,
                ) as resp:
                    chunks: list[bytes] = []
                    raw = resp.raw
                    # read1 returns as soon as any bytes arrive, so bytes are counted as they
                    # come and a stop/kill is noticed between chunks of a slow body.
                    reader = getattr(raw, "read1", None)
                    for _ in range(MAX_BODY_BYTES):
                        chunk = (
                            reader(_CHUNK, decode_content=True)
                            if reader is not None
                            else raw.read(_CHUNK, decode_content=True)
                        )
                        if not chunk:
                            break
                        received += len(chunk)
                        if received > MAX_BODY_BYTES:
                            raise TransportError(
                                Outcome.PROTOCOL_ERROR,
                                f"response body larger than {MAX_BODY_BYTES} bytes",
                                received,
                            )
                        chunks.append(chunk)
                        if handle.killed:
                            break
                    if handle.killed:
                        self._raise_killed(handle, received)
                    headers = {k.lower(): v for k, v in resp.headers.items()}
                    return HttpResponse(resp.status_code, headers, b"".join(chunks)), received
            except (TransportError, Stopped):
                raise
            except Exception as exc:
                if handle.killed:
                    self._raise_killed(handle, received)
                outcome = classify_exception(exc)
                at_deadline = time.monotonic() >= handle.deadline - 0.005
                if isinstance(exc, requests.exceptions.ConnectTimeout) and not at_deadline:
                    # Only the connect cap expired, not the request's deadline.
                    outcome = Outcome.CONNECTION_ERROR
                elif at_deadline and outcome is not Outcome.TIMEOUT:
                    # The socket gave up at the deadline: the deadline is what stopped it.
                    outcome = Outcome.TIMEOUT
                text = f"{type(exc).__name__}: {exc}".replace("_TrackedHTTP", "HTTP")
                message = redact(text, self._secrets)
                raise TransportError(outcome, message, received) from None
        finally:
            _current.handle = None
            handle.detach()

    def _raise_killed(self, handle: InFlight, received: int) -> None:
        if handle.killed == KILL_STOP:
            raise Stopped()
        raise TransportError(
            Outcome.TIMEOUT, "per-request deadline reached while receiving the response", received
        )
