"""Working-day arithmetic a user relies on for due dates.

Every expected date below was worked out by hand from a wall calendar and the published UK bank holidays
(England: Christmas Day Fri 25 Dec 2026, Boxing Day Sat 26 Dec 2026 observed Mon 28 Dec 2026, New Year's Day
Fri 1 Jan 2027, Good Friday 26 Mar 2027, Easter Monday 29 Mar 2027), never from the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.dates.workdays import WorkingCalendar, calendar_for, london_today


@pytest.fixture(scope="module")
def eng() -> WorkingCalendar:
    return WorkingCalendar("ENG")


@pytest.fixture(scope="module")
def sct() -> WorkingCalendar:
    return WorkingCalendar("SCT")


@pytest.fixture(scope="module")
def nir() -> WorkingCalendar:
    return WorkingCalendar("NIR")


@pytest.fixture(scope="module")
def wls() -> WorkingCalendar:
    return WorkingCalendar("WLS")


# --- which days are working days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 12, 25), "Christmas Day (Friday)"),
        (date(2026, 12, 26), "Boxing Day falls on a Saturday"),
        (date(2026, 12, 27), "Sunday"),
        (date(2026, 12, 28), "Boxing Day substitute (Monday)"),
        (date(2027, 1, 1), "New Year's Day (Friday)"),
        (date(2027, 3, 26), "Good Friday 2027"),
        (date(2027, 3, 29), "Easter Monday 2027"),
        (date(2026, 4, 3), "Good Friday 2026"),
        (date(2026, 4, 6), "Easter Monday 2026"),
        (date(2026, 5, 4), "Early May bank holiday 2026"),
        (date(2026, 8, 31), "Summer bank holiday 2026 (last Monday of August)"),
        (date(2027, 12, 27), "Christmas 2027 is a Saturday: substitute Monday 27 Dec"),
        (date(2027, 12, 28), "Boxing Day 2027 is a Sunday: substitute Tuesday 28 Dec"),
        (date(2026, 11, 28), "Saturday"),
        (date(2026, 11, 29), "Sunday"),
    ],
)
def test_england_non_working_days(eng: WorkingCalendar, day: date, why: str) -> None:
    assert not eng.is_working_day(day), why


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 23),  # an ordinary Monday
        date(2026, 11, 27),  # an ordinary Friday
        date(2026, 12, 24),  # Christmas Eve (Thursday) is not a bank holiday
        date(2026, 12, 29),  # Tuesday between Christmas and New Year
        date(2026, 12, 31),  # New Year's Eve (Thursday)
        date(2027, 1, 4),  # first Monday of 2027
        date(2027, 3, 25),  # Maundy Thursday
        date(2027, 3, 30),  # Tuesday after Easter Monday
        date(2026, 1, 2),  # 2 January is a Scottish holiday only
        date(2027, 3, 17),  # St Patrick's Day is a Northern Ireland holiday only
        date(2027, 7, 12),  # Battle of the Boyne is a Northern Ireland holiday only
        date(2026, 11, 30),  # St Andrew's Day is a Scottish holiday only
    ],
)
def test_england_working_days(eng: WorkingCalendar, day: date) -> None:
    assert eng.is_working_day(day)


def test_christmas_day_has_a_name_and_ordinary_days_do_not(eng: WorkingCalendar) -> None:
    name = eng.holiday_name(date(2026, 12, 25))
    assert name is not None
    assert "Christmas" in name
    assert eng.holiday_name(date(2026, 11, 23)) is None


def test_scotland_has_2_january(sct: WorkingCalendar, eng: WorkingCalendar) -> None:
    # Friday 2 January 2026: a bank holiday in Scotland, a working day in England.
    assert date(2026, 1, 2).weekday() == 4
    assert not sct.is_working_day(date(2026, 1, 2))
    assert eng.is_working_day(date(2026, 1, 2))


def test_scotland_differs_from_england(sct: WorkingCalendar, eng: WorkingCalendar) -> None:
    # St Andrew's Day, Monday 30 Nov 2026: Scotland only.
    assert not sct.is_working_day(date(2026, 11, 30))
    # Easter Monday is not a bank holiday in Scotland.
    assert sct.is_working_day(date(2027, 3, 29))
    assert not sct.is_working_day(date(2027, 3, 26))  # Good Friday is
    # Summer bank holiday: first Monday of August in Scotland (2 Aug 2027), last Monday in England (30 Aug 2027).
    assert not sct.is_working_day(date(2027, 8, 2))
    assert eng.is_working_day(date(2027, 8, 2))
    assert sct.is_working_day(date(2027, 8, 30))
    assert not eng.is_working_day(date(2027, 8, 30))


def test_northern_ireland_has_12_july_and_17_march(nir: WorkingCalendar, eng: WorkingCalendar) -> None:
    # Monday 12 July 2027 (Battle of the Boyne) and Wednesday 17 March 2027 (St Patrick's Day).
    assert date(2027, 7, 12).weekday() == 0
    assert date(2027, 3, 17).weekday() == 2
    assert not nir.is_working_day(date(2027, 7, 12))
    assert not nir.is_working_day(date(2027, 3, 17))
    assert eng.is_working_day(date(2027, 7, 12))
    assert eng.is_working_day(date(2027, 3, 17))
    # Northern Ireland keeps Easter Monday like England.
    assert not nir.is_working_day(date(2027, 3, 29))


def test_wales_follows_england(wls: WorkingCalendar) -> None:
    assert not wls.is_working_day(date(2026, 12, 28))
    assert not wls.is_working_day(date(2027, 3, 29))
    assert wls.is_working_day(date(2026, 1, 2))
    assert wls.is_working_day(date(2027, 7, 12))


@pytest.mark.parametrize("region", ["ENG", "WLS", "SCT", "NIR"])
def test_weekends_never_count(region: str) -> None:
    cal = WorkingCalendar(region)
    saturday = date(2026, 11, 28)
    for offset in range(0, 52 * 7, 7):  # every weekend of a year
        assert not cal.is_working_day(saturday + timedelta(days=offset))
        assert not cal.is_working_day(saturday + timedelta(days=offset + 1))


@pytest.mark.parametrize("region", ["GB", "UK", "eng", "England", "XX", ""])
def test_unknown_nation_is_refused(region: str) -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(region)


def test_calendar_for_shares_one_calendar_per_nation() -> None:
    assert calendar_for("ENG") is calendar_for("ENG")
    assert calendar_for("ENG") is not calendar_for("SCT")
    with pytest.raises(ValueError):
        calendar_for("XX")


# --- adding working days --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # 2 working days from Thursday 24 Dec 2026: 25 (holiday), 26-27 (weekend), 28 (holiday), 29 (1), 30 (2).
        (date(2026, 12, 24), 2, date(2026, 12, 30)),
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        # Over New Year: Thu 31 Dec 2026 + 2: 1 Jan (holiday), weekend, Mon 4 (1), Tue 5 (2).
        (date(2026, 12, 31), 2, date(2027, 1, 5)),
        # Ordinary week: Mon 23 Nov 2026 + 2 = Wed 25 Nov.
        (date(2026, 11, 23), 2, date(2026, 11, 25)),
        # Over a weekend: Thu 26 Nov + 2 = Fri 27 (1), Mon 30 (2).
        (date(2026, 11, 26), 2, date(2026, 11, 30)),
        # Friday + 1 = Monday.
        (date(2026, 11, 27), 1, date(2026, 11, 30)),
        # From a Saturday: Mon 30 Nov (1), Tue 1 Dec (2).
        (date(2026, 11, 28), 2, date(2026, 12, 1)),
        # From a holiday: 25 Dec + 1 = Tue 29 Dec.
        (date(2026, 12, 25), 1, date(2026, 12, 29)),
        # Over Easter 2027: Thu 25 Mar + 2: Good Friday, weekend, Easter Monday, Tue 30 (1), Wed 31 (2).
        (date(2027, 3, 25), 2, date(2027, 3, 31)),
        # 10 working days from Fri 18 Dec 2026: 21,22,23,24 (4), 29,30,31 (7), 4,5,6 Jan (10).
        (date(2026, 12, 18), 10, date(2027, 1, 6)),
        # A whole working week: Mon 23 Nov + 5 = Mon 30 Nov.
        (date(2026, 11, 23), 5, date(2026, 11, 30)),
    ],
)
def test_add_working_days_england(eng: WorkingCalendar, start: date, days: int, expected: date) -> None:
    assert eng.add_working_days(start, days) == expected


def test_add_working_days_depends_on_the_nation(
    sct: WorkingCalendar, nir: WorkingCalendar, eng: WorkingCalendar
) -> None:
    # Thu 1 Jan 2026 + 1: England Fri 2 Jan; Scotland skips 2 Jan (holiday) and the weekend: Mon 5 Jan.
    assert eng.add_working_days(date(2026, 1, 1), 1) == date(2026, 1, 2)
    assert sct.add_working_days(date(2026, 1, 1), 1) == date(2026, 1, 5)
    # Fri 9 Jul 2027 + 1: England Mon 12 Jul; Northern Ireland skips the Twelfth: Tue 13 Jul.
    assert eng.add_working_days(date(2027, 7, 9), 1) == date(2027, 7, 12)
    assert nir.add_working_days(date(2027, 7, 9), 1) == date(2027, 7, 13)


@pytest.mark.parametrize("start", [date(2026, 11, 23), date(2026, 11, 28), date(2026, 12, 25), date(2027, 3, 29)])
def test_zero_working_days_is_the_start_itself(eng: WorkingCalendar, start: date) -> None:
    assert eng.add_working_days(start, 0) == start


@pytest.mark.parametrize("days", [-1, -10])
def test_negative_working_days_are_refused(eng: WorkingCalendar, days: int) -> None:
    with pytest.raises(ValueError):
        eng.add_working_days(date(2026, 11, 23), days)


# --- counting, next, previous, on-or-after --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 12, 24), date(2026, 12, 30), 2),  # 29, 30
        (date(2026, 11, 27), date(2026, 11, 30), 1),  # Fri -> Mon: just Monday
        (date(2026, 11, 23), date(2026, 11, 23), 0),  # same day
        (date(2026, 11, 30), date(2026, 11, 23), 0),  # end before start
        (date(2026, 11, 23), date(2026, 11, 30), 5),  # Tue..Fri + Mon
        (date(2026, 12, 24), date(2026, 12, 28), 0),  # nothing but holidays and a weekend
        (date(2026, 12, 18), date(2027, 1, 6), 10),
        (date(2027, 3, 25), date(2027, 3, 31), 2),  # Easter: 30, 31
    ],
)
def test_working_days_between(eng: WorkingCalendar, start: date, end: date, expected: int) -> None:
    assert eng.working_days_between(start, end) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 23), date(2026, 11, 24)),  # Mon -> Tue
        (date(2026, 11, 27), date(2026, 11, 30)),  # Fri -> Mon
        (date(2026, 11, 28), date(2026, 11, 30)),  # Sat -> Mon
        (date(2026, 12, 24), date(2026, 12, 29)),  # Christmas Eve -> Tue 29 Dec
        (date(2026, 12, 31), date(2027, 1, 4)),  # New Year's Eve -> Mon 4 Jan
        (date(2027, 3, 25), date(2027, 3, 30)),  # Maundy Thursday -> Tue after Easter
    ],
)
def test_next_working_day(eng: WorkingCalendar, day: date, expected: date) -> None:
    assert eng.next_working_day(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 24), date(2026, 11, 23)),  # Tue -> Mon
        (date(2026, 11, 30), date(2026, 11, 27)),  # Mon -> Fri
        (date(2026, 11, 29), date(2026, 11, 27)),  # Sun -> Fri
        (date(2026, 12, 29), date(2026, 12, 24)),  # Tue 29 Dec -> Christmas Eve
        (date(2027, 1, 4), date(2026, 12, 31)),  # Mon 4 Jan -> New Year's Eve
        (date(2027, 3, 30), date(2027, 3, 25)),  # Tue after Easter -> Maundy Thursday
    ],
)
def test_previous_working_day(eng: WorkingCalendar, day: date, expected: date) -> None:
    assert eng.previous_working_day(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 23), date(2026, 11, 23)),  # a working day is itself
        (date(2026, 12, 24), date(2026, 12, 24)),
        (date(2026, 11, 28), date(2026, 11, 30)),  # Sat -> Mon
        (date(2026, 12, 25), date(2026, 12, 29)),  # Christmas Day -> Tue 29
        (date(2026, 12, 28), date(2026, 12, 29)),  # Boxing Day substitute -> Tue 29
        (date(2027, 1, 1), date(2027, 1, 4)),
        (date(2027, 3, 26), date(2027, 3, 30)),  # Good Friday -> Tue after Easter
    ],
)
def test_on_or_after(eng: WorkingCalendar, day: date, expected: date) -> None:
    assert eng.on_or_after(day) == expected


# --- London's date ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Summer (BST, UTC+1): 23:30 UTC on 30 June is 00:30 on 1 July in London.
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), date(2026, 7, 1)),
        (datetime(2026, 6, 30, 22, 59, tzinfo=UTC), date(2026, 6, 30)),
        # Winter (GMT): 23:30 UTC on 31 Dec is still 31 Dec in London.
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), date(2026, 12, 31)),
        # BST starts 01:00 UTC Sunday 29 Mar 2026: the evening before is GMT, the evening of is BST.
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 28)),
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), date(2026, 3, 30)),
        # BST ends 01:00 UTC Sunday 25 Oct 2026: the evening before is BST, the evening of is GMT.
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25)),
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25)),
        # Another zone: 19:30 in New York (EDT, UTC-4) on 30 June is 00:30 on 1 July in London.
        (datetime(2026, 6, 30, 19, 30, tzinfo=ZoneInfo("America/New_York")), date(2026, 7, 1)),
        # London's own zone is its own date.
        (datetime(2026, 7, 1, 0, 10, tzinfo=ZoneInfo("Europe/London")), date(2026, 7, 1)),
    ],
)
def test_london_today(instant: datetime, expected: date) -> None:
    assert london_today(instant) == expected


def test_london_today_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        london_today(datetime(2026, 6, 30, 23, 30))
