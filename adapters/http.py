"""What every channel's HTTP route does first: read the body, refusing anything over a size limit, slower than a
time limit, or not decodable."""

from __future__ import annotations

import asyncio
import logging

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


class UnreadableRequests(logging.Filter):
    """aiohttp logs a request its HTTP parser cannot read (a header line over 8 KB, a broken request line) at ERROR
    with a traceback and the start of the offending line, which may be a bearer token. It is the sender's fault and
    already answered 400: one INFO line naming the kind, nothing of the request."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 0) < 500:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args, record.exc_info, record.exc_text = (
                "refused a request that could not be read (%s)", (type(error).__name__,), None, None)
        return True


def quiet_unreadable_requests() -> None:
    """Install UnreadableRequests on aiohttp's server logger (once)."""
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, UnreadableRequests) for f in server.filters):
        server.addFilter(UnreadableRequests())
