"""What every channel's HTTP route does first: read the body, refusing anything over a size limit."""

from __future__ import annotations

from aiohttp import web

MAX_BODY = 256 * 1024
CHUNK = 64 * 1024


async def read_limited(request: web.Request, limit: int = MAX_BODY) -> bytes | web.Response:
    """The request body, or a 413 response if it is larger than `limit` (checked before and while reading)."""
    if request.content_length is not None and request.content_length > limit:
        return web.Response(status=413, text="request too large")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(CHUNK):  # (a read returns what has arrived; b"" only at the end)
        size += len(chunk)
        if size > limit:
            return web.Response(status=413, text="request too large")
        chunks.append(chunk)
    return b"".join(chunks)
