"""Working days: weekends, a UK nation's bank holidays (from `holidays`) and a partnership's own closure days (local
holidays, e.g. a Scottish council's, from its policy file's `[calendar]`), in Europe/London time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays

if TYPE_CHECKING:
    from policies.model import Policy

LONDON = ZoneInfo("Europe/London")
NATIONS = ("ENG", "WLS", "SCT", "NIR")


class WorkingCalendar:
    """Working-day arithmetic for one UK nation (subdivision of GB in `holidays`), with any local closure days."""

    def __init__(self, region: str, closures: Iterable[date] = ()) -> None:
        if region not in NATIONS:
            raise ValueError(f"unknown UK nation {region!r}; expected one of {', '.join(NATIONS)}")
        self.region = region
        # Always with the subdivision: England, Wales, Scotland and Northern Ireland differ.
        self._holidays = holidays.country_holidays("GB", subdiv=region)
        self.closures = frozenset(closures)

    def holiday_name(self, day: date) -> str | None:
        """The bank holiday's name ('Local closure day' for one of the partnership's own), or None."""
        name = self._holidays.get(day)
        if name:
            return str(name)
        return "Local closure day" if day in self.closures else None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays and day not in self.closures

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start`, counting from the day after it.

        Zero gives `start` itself. E.g. 2 working days from Thursday 24 Dec 2026 (England) is Wednesday
        30 Dec: Christmas Day, the weekend and Boxing Day (observed Monday 28 Dec) do not count.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.add_working_days(day, 1)

    def on_or_after(self, day: date) -> date:
        """`day` itself if it is a working day, otherwise the next working day."""
        return day if self.is_working_day(day) else self.next_working_day(day)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day`."""
        day -= timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie after `start` up to and including `end` (0 if end <= start)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


@lru_cache(maxsize=32)
def calendar_for(region: str, closures: tuple[date, ...] = ()) -> WorkingCalendar:
    """One shared calendar per nation (and set of local closure days)."""
    return WorkingCalendar(region, closures)


def calendar_of(policy: Policy) -> WorkingCalendar:
    """The working-day calendar a procedure counts in: its nation's bank holidays and its own closure days."""
    return calendar_for(policy.region, policy.closure_days)


def london_today(now: datetime) -> date:
    """The calendar date in London at an aware instant."""
    if now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return now.astimezone(LONDON).date()
