"""A bound on request body size, checked before the body is parsed (ASGI middleware).

A body declared (``Content-Length``) or streamed past the limit gets ``413`` with the
API's usual JSON error, ``{"detail": ...}``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"request body larger than {limit} bytes")


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413; ``larger`` gives exact paths
    (the dashboard's file upload) a limit of their own: a number of bytes, or a function
    asked at each request (a limit that follows a changed setting)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: dict[str, int | Callable[[], int]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self.larger.get(scope.get("path", ""), self.max_bytes)
        limit = found() if callable(found) else found
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            error = BodyTooLarge(limit)
            response = JSONResponse({"detail": error.detail}, status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            # Raised inside the route's body read, so FastAPI answers it like any HTTPException.
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
