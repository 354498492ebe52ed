"""Request heads are bounded by the server `handoff serve` runs, refused with 431, fast.

Requests go over raw sockets: an HTTP client would refuse to send some of these heads, and
the point is what the server does with exactly these bytes.
"""

from __future__ import annotations

import json
import pickle
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving.app import server_options
from serving.http_limits import MAX_HEAD_BYTES, MAX_HEADER_FIELDS, BoundedHttpToolsProtocol
from serving.settings import ServingSettings
from tests.serving.conftest import API_KEY, Served


def _head(target: str = "/healthz", *headers: tuple[str, str], method: str = "GET") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: test", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _responses(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """Read `count` responses (status, body), each with a Content-Length, or until closed."""
    buffer, out = b"", []
    while len(out) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            buffer += chunk
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines[1:])
        length = int(fields.get("content-length", "0"))
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
        out.append((int(lines[0].split()[1]), buffer[:length]))
        buffer = buffer[length:]
    return out


def _exchange(port: int, data: bytes, count: int = 1) -> list[tuple[int, bytes]]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        return _responses(sock, count)


def _pad(size: int) -> tuple[str, str]:
    return ("X-Pad", "p" * size)


class _Probe:
    """Keep-alive `/healthz` requests in a thread, timing each answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seconds: list[float] = []
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                self.statuses.append(client.get("/healthz").status_code)
                self.seconds.append(time.perf_counter() - started)
                time.sleep(0.01)


def test_oversized_api_key_is_431_fast_while_healthz_keeps_answering(served: Served) -> None:
    """The reported case: a 64 MiB key was read whole (401 after 7.5 s, /healthz stalled
    2.75 s). Bounds here are loose for shared cores, and far below those figures."""
    probe = _Probe(served.url)
    probe.thread.start()
    time.sleep(0.3)
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=30)
    piece = b"k" * (1 << 20)

    def send() -> None:
        try:
            sock.sendall(_head("/v1/score", method="POST")[:-2] + b"X-API-Key: ")
            for _ in range(64):
                sock.sendall(piece)
        except OSError:
            pass  # the server may close before all of it is sent; the answer came first

    sender = threading.Thread(target=send, daemon=True)
    started = time.perf_counter()
    sender.start()
    answer = _responses(sock, 1)
    seconds = time.perf_counter() - started
    time.sleep(0.3)
    probe.stop.set()
    probe.thread.join(timeout=30)
    sender.join(timeout=30)
    sock.close()

    assert [status for status, _ in answer] == [431]
    assert json.loads(answer[0][1]) == {
        "detail": f"request headers too large: the limit is {MAX_HEAD_BYTES} bytes"
    }
    assert seconds < 2.0
    assert len(probe.statuses) >= 10 and set(probe.statuses) == {200}
    assert max(probe.seconds) < 1.0


@pytest.mark.parametrize(
    ("pad", "status"),
    [(MAX_HEAD_BYTES // 2, 200), (MAX_HEAD_BYTES, 431), (4 * MAX_HEAD_BYTES, 431)],
)
def test_head_size_over_limit_is_431_under_limit_answers(
    served: Served, pad: int, status: int
) -> None:
    assert [s for s, _ in _exchange(served.port, _head("/healthz", _pad(pad)))] == [status]


@pytest.mark.parametrize(
    ("fields", "status"), [(MAX_HEADER_FIELDS - 1, 200), (MAX_HEADER_FIELDS + 1, 431)]
)
def test_header_fields_over_limit_is_431_at_limit_answers(
    served: Served, fields: int, status: int
) -> None:
    headers = [(f"X-F{i}", "v") for i in range(fields)]  # and Host: the limit, or 2 over
    answers = _exchange(served.port, _head("/healthz", *headers))
    assert [s for s, _ in answers] == [status]
    if status == 431:
        assert b"too many header fields" in answers[0][1]


def test_each_head_is_measured_alone_keep_alive_and_pipelined(served: Served) -> None:
    """Heads that only add up past the bound, on one connection, are all answered."""
    head = _head("/healthz", _pad(MAX_HEAD_BYTES // 3))
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        for _ in range(6):
            sock.sendall(head)
            assert [s for s, _ in _responses(sock, 1)] == [200]
        sock.sendall(head * 6)
        assert [s for s, _ in _responses(sock, 6)] == [200] * 6


def test_large_body_read_with_its_head_is_not_refused(served: Served) -> None:
    body = b'{"lead": {}}' + b" " * (8 * MAX_HEAD_BYTES)
    head = _head(
        "/v1/score",
        ("X-API-Key", API_KEY),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        method="POST",
    )
    answers = _exchange(served.port, head + body)
    assert [s for s, _ in answers] == [422]
    assert json.loads(answers[0][1])["detail"][0]["loc"][:2] == ["body", "lead"]


def test_server_options_pickle_for_worker_processes(tmp_path: Path) -> None:
    options = server_options(ServingSettings(home=tmp_path))
    assert pickle.loads(pickle.dumps(options)) == options


def test_connections_have_nagle_off_on_a_workers_socket_under_asyncio() -> None:
    """A listening socket made with proto 0 (as uvicorn's `bind_socket` for `--workers` made
    it in earlier releases) leaves asyncio's own TCP_NODELAY off; the protocol turns Nagle off itself
    (else head and body wait ~40 ms on the client's delayed ACK), whatever the socket says."""

    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=BoundedHttpToolsProtocol,
        loop="asyncio",
        lifespan="off",
        log_config=None,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0: asyncio skips it
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    assert sock.proto == 0
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(_head("/"))
            assert _responses(client, 1)[0][0] == 200
            (protocol,) = server.server_state.connections
            served = protocol.transport.get_extra_info("socket")
            assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        server.should_exit = True
        thread.join(timeout=30)
