"""Injected time: the system clock in production, a settable clock in tests and `tick --now`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.dates.workdays import LONDON


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""


class SystemClock:
    """Real time, in Europe/London."""

    def now(self) -> datetime:
        return datetime.now(LONDON)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            at = at.replace(tzinfo=LONDON)
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=LONDON)

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)
