"""Log lines as an operator reads them: `BOT_LOG_FORMAT=json` makes each line one JSON object (time, level, logger,
event, and, while a request about a case is handled, its case reference and the actor's platform id: `log_context`).
The event is the message itself, which by this code base's rule never carries personal data or tokens; an exception is
named by its kind only (a traceback may quote what was being handled)."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("escalation_log", default=None)


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """While inside, JSON log lines carry these fields (`case`, `actor`): references and ids, never details."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO), level, logger, event, and the case and actor where known."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                                "level": record.levelname, "logger": record.name, "event": record.getMessage()}
        line.update(_CONTEXT.get() or {})
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False)


def log_handler(fmt: str) -> logging.Handler:
    """The handler for BOT_LOG_FORMAT (`text` or `json`)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler
