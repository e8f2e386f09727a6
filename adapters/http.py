"""What every channel's HTTP route does first: read the body, refusing anything over a size limit, slower than a
time limit, or not decodable."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

MAX_BODY = 256 * 1024
CHUNK = 64 * 1024
READ_SECONDS = 10.0  # a whole body; Slack and Teams send theirs at once, so only a stalling client takes longer


async def read_limited(request: web.Request, limit: int = MAX_BODY) -> bytes | web.Response:
    """The request body; else 413 if it is larger than `limit` (checked before and while reading), 408 if it does not
    arrive within READ_SECONDS, 400 if it cannot be decoded (bad chunking, gzip or deflate)."""
    if request.content_length is not None and request.content_length > limit:
        return web.Response(status=413, text="request too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(READ_SECONDS):
            while chunk := await request.content.read(CHUNK):  # (what has arrived so far; b"" only at the end)
                size += len(chunk)
                if size > limit:
                    return web.Response(status=413, text="request too large")
                chunks.append(chunk)
    except TimeoutError:
        return web.Response(status=408, text="request timed out")
    except (HttpProcessingError, RequestPayloadError, ValueError):
        return web.Response(status=400, text="malformed request body")
    return b"".join(chunks)
