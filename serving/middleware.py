"""One pure-ASGI middleware: request id, body size limit, latency metrics, last-resort 500.

Pure ASGI (not `BaseHTTPMiddleware`) because it sits on every request of a latency-bound
service. The body is read here, counting bytes, so an oversized body is refused with 413
whether or not the client declared its length. Unexpected errors are logged by type and
stack only: exception messages can carry payload values, and payloads never reach logs.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.metrics import Metrics

logger = logging.getLogger("handoff.serving")

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _json(status: int, payload: dict[str, Any]) -> list[Message]:
    body = json.dumps(payload).encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


class ServingMiddleware:
    """Wraps the FastAPI app; see the module docstring."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        async def reply(code: int, detail: str) -> None:
            for message in _json(code, {"detail": detail, "request_id": request_id}):
                await send_wrapper(message)

        try:
            app_receive = receive
            if scope["method"] in _BODY_METHODS:
                body, problem = await self._read_body(scope, receive)
                if problem is not None:
                    await reply(*problem)
                    return
                app_receive = self._replay(body, receive)
            await self.app(scope, app_receive, send_wrapper)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error(
                "unhandled %s in request %s (message withheld: it may carry payload)\n%s",
                type(exc).__name__,
                request_id,
                frames,
            )
            if not response_started:
                await reply(500, f"internal error; quote request id {request_id}")
        finally:
            self.metrics.observe_request(
                scope["method"], scope["path"], status, time.perf_counter() - started
            )

    async def _read_body(
        self, scope: Scope, receive: Receive
    ) -> tuple[bytes, tuple[int, str] | None]:
        limit = self.max_body_bytes
        too_large = (413, f"request body too large: the limit is {limit} bytes")
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    return b"", (400, "invalid Content-Length header")
                if int(value) > limit:
                    return b"", too_large
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", (400, "client disconnected before sending the body")
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                return b"", too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay
