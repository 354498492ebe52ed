"""A bound on each request head (request line and headers), enforced while uvicorn reads it.

uvicorn's httptools protocol reads a head of any size before the app sees it, and httptools
grows a header value by bytes concatenation, so a 64 MiB `X-API-Key` is copied again with
every read, on the event loop: seconds in which every other client waits, all to answer 401.
uvicorn's own bound (`h11_max_incomplete_event_size`) only applies to its pure-Python h11
protocol, which answers 400 and parses every request more slowly. This subclass keeps
httptools and answers 431 once a head passes `MAX_HEAD_BYTES` or `MAX_HEADER_FIELDS`.

It also turns Nagle's algorithm off on every connection (below): the protocol is where
each connection passes through Handoff's hands first.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

MAX_HEAD_BYTES = 16 * 1024
MAX_HEADER_FIELDS = 100
# How long a refused connection keeps reading (and dropping) what the client still sends, so
# that closing it does not reset the connection before the client has read the 431.
LINGER_SECONDS = 2.0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing heads over `MAX_HEAD_BYTES` or `MAX_HEADER_FIELDS`.

    A complete head is measured from its parts (request target, each name and value, and
    their separators) when it is complete: per-header callbacks would cost every request.
    An unfinished head cannot be measured so: httptools holds the unfinished header itself.
    So reads are counted too, and an unfinished head is refused once the reads since it
    began pass the bound (a read in which it began after another request ended is not
    counted, so the refusal comes at most one read, <= 256 KiB, late).
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._in_head = True  # a connection starts with a head
        self._requests_ended = 0
        self._head_read = 0  # bytes of whole reads made inside the unfinished head
        self._refusal: str | None = None
        self._linger: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """TCP_NODELAY, whatever the loop. asyncio sets it only on sockets whose `proto` is
        TCP, and the listening socket uvicorn makes for `--workers` says 0: without this, a
        response's head and body wait on the client's delayed ACK, about 40 ms each."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # lingering: what the client still sends is dropped
        inside_head, ended = self._in_head, self._requests_ended
        super().data_received(data)
        if self.transport.is_closing():
            return
        if (
            self._refusal is None
            and self._in_head
            and inside_head
            and ended == self._requests_ended
        ):
            self._head_read += len(data)
            if self._head_read > MAX_HEAD_BYTES:
                self._refusal = _too_large()
        if self._refusal is not None:
            self._refuse(self._refusal)

    # Parser callbacks: the head is judged once complete; once refused, nothing reaches the app.
    def on_headers_complete(self) -> None:
        if self._refusal is None:
            self._refusal = _head_problem(self.url, self.headers)
        if self._refusal is not None:
            return
        self._in_head = False
        self._head_read = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refusal is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refusal is not None:
            return
        self._in_head = True
        self._requests_ended += 1
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def _refuse(self, reason: str) -> None:
        """431 and no more reading: the connection closes when the client is done, or soon."""
        body = json.dumps({"detail": reason}).encode()
        head = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        self.logger.warning("Refused a request from %s: %s.", client, reason)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def _head_problem(target: bytes, headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why a complete head is refused, or None."""
    if len(headers) > MAX_HEADER_FIELDS:
        return f"too many header fields: the limit is {MAX_HEADER_FIELDS}"
    size = len(target) + sum(len(name) + len(value) + 4 for name, value in headers)  # ": ", CRLF
    return _too_large() if size > MAX_HEAD_BYTES else None


def _too_large() -> str:
    return f"request headers too large: the limit is {MAX_HEAD_BYTES} bytes"
