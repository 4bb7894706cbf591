"""A small TCP proxy on 127.0.0.1 in front of the hub, that can cut a connection in the middle.

    with CuttingProxy(hub_port) as proxy:
        proxy.arm(Cut(b"POST /v1/batches", "request", body_bytes=100))
        ...                     # every matching request is cut after 100 bytes of its body
        proxy.heal()            # the network is fine again

A cut closes both sides of the connection: in the "request" direction after `body_bytes`
bytes of the matching request's body reached the hub (an upload cut half-way), in the
"response" direction after `body_bytes` bytes of the body of the answer to the matching
request reached the client (the hub did the work, the site never hears about it). `skip`
lets that many matching requests through whole before the first cut.

It understands just enough HTTP/1.1 to find where requests and answers start and end on a
kept-alive connection (Content-Length bodies, as httpx and uvicorn send them), and it keeps
the request line of every request it forwards in `requests`, and where each cut fell in
`cuts`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass

JOIN_SECONDS = 10
_HEADER_END = b"\r\n\r\n"


@dataclass(frozen=True)
class Cut:
    trigger: bytes  # the start of the request line, e.g. b"GET /v1/replica/changes"
    direction: str  # "request" (site -> hub) or "response" (hub -> site)
    body_bytes: int  # bytes of the body let through before the cut
    skip: int = 0  # matching requests let through whole before cutting

    def __post_init__(self) -> None:
        if self.direction not in ("request", "response"):
            raise ValueError(self.direction)


class _Closed(Exception):
    pass


class CuttingProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[str] = []  # request lines, in the order they were forwarded
        self.cuts: list[tuple[int, int]] = []  # (body bytes let through, body length) of each cut
        self._lock = threading.Lock()
        self._cut: Cut | None = None
        self._matched = 0
        self._connections: list[_Connection] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._spawn(self._accept)

    # --- control ------------------------------------------------------------------------------

    def arm(self, cut: Cut) -> None:
        with self._lock:
            self._cut, self._matched = cut, 0

    def heal(self) -> None:
        with self._lock:
            self._cut = None

    def close(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):  # wakes the accepting thread up
            socket.create_connection(("127.0.0.1", self.port), timeout=JOIN_SECONDS).close()
        self.listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        for thread in self._threads:
            thread.join(JOIN_SECONDS)
            assert not thread.is_alive(), "proxy thread still running"

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # --- inside -------------------------------------------------------------------------------

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=JOIN_SECONDS)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            connection = _Connection(self, client, upstream)
            with self._lock:
                self._connections.append(connection)
            self._spawn(connection.pump_requests)
            self._spawn(connection.pump_responses)

    def _rule_for(self, request_line: bytes) -> Cut | None:
        """The cut to apply to this request, if it matches the armed rule (counts `skip`)."""
        with self._lock:
            self.requests.append(request_line.decode("latin-1"))
            cut = self._cut
            if cut is None or not request_line.startswith(cut.trigger):
                return None
            self._matched += 1
            return cut if self._matched > cut.skip else None

    def _record_cut(self, sent: int, length: int) -> None:
        with self._lock:
            self.cuts.append((sent, length))


class _Connection:
    """One client connection and its connection to the hub, with a thread each way."""

    def __init__(self, proxy: CuttingProxy, client: socket.socket, upstream: socket.socket):
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()
        self.response_cut: int | None = None  # set before the request that triggers it is sent

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self, sent: int, length: int) -> None:
        self.proxy._record_cut(sent, length)
        self.close()

    def _recv(self, sock: socket.socket) -> bytes:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            raise _Closed
        return data

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.sendall(data)
        except OSError as error:
            raise _Closed from error

    def pump_requests(self) -> None:
        """Client -> hub, request by request."""
        pending = b""
        try:
            while True:
                while _HEADER_END not in pending:
                    pending += self._recv(self.client)
                end = pending.index(_HEADER_END) + len(_HEADER_END)
                head, pending = pending[:end], pending[end:]
                request_line = head.split(b"\r\n", 1)[0]
                length = _content_length(head)
                rule = self.proxy._rule_for(request_line)
                if rule is not None and rule.direction == "response":
                    self.response_cut = rule.body_bytes
                limit = (
                    rule.body_bytes if rule is not None and rule.direction == "request" else None
                )
                self._send(self.upstream, head)
                sent = 0
                while sent < length:
                    if not pending:
                        pending = self._recv(self.client)
                    take = min(len(pending), length - sent)
                    if limit is not None and sent + take >= limit:
                        self._send(self.upstream, pending[: limit - sent])
                        self.cut(limit, length)
                        return
                    self._send(self.upstream, pending[:take])
                    pending, sent = pending[take:], sent + take
        except _Closed:
            self.close()

    def pump_responses(self) -> None:
        """Hub -> client; the answer to a request marked for a response cut is cut."""
        try:
            while True:
                data = self._recv(self.upstream)
                if self.response_cut is None:
                    self._send(self.client, data)
                    continue
                limit, self.response_cut = self.response_cut, None
                while _HEADER_END not in data:
                    data += self._recv(self.upstream)
                end = data.index(_HEADER_END) + len(_HEADER_END)
                length = _content_length(data[:end])
                limit = min(limit, max(length - 1, 0))  # never the whole body
                while len(data) < end + limit:
                    data += self._recv(self.upstream)
                self._send(self.client, data[: end + limit])
                self.cut(limit, length)
                return
        except _Closed:
            self.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0
