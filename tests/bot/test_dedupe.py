"""Expiry of dedupe records (the engine's "events" and each channel's markers): old ones go, fresh ones stay, retries
still have no second effect, records with no readable time age from when a sweep first saw them, and the server's
sweep runs at most once per London day."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from conftest import Chat, core_for

from bot.dates.workdays import LONDON
from bot.jobs.expiry import EVENTS, RETENTION, DailySweep, sweep
from storage.base import StoreError
from storage.memory_store import MemoryStore
from storage.tinydb_store import TinyDBStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)  # the `clock` fixture's time
FAR_EAST = timezone(timedelta(hours=9))  # times stored with another offset compare as instants


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def far_east(**delta: float) -> str:
    return (NOW - timedelta(**delta)).astimezone(FAR_EAST).isoformat()


class CountingStore(MemoryStore):
    """Counts reads of the whole "events" collection; `fail` makes them raise, naming a key as a real error would."""

    def __init__(self) -> None:
        super().__init__()
        self.event_scans = 0
        self.fail = False

    async def scan(self, collection: str):
        if collection == EVENTS:
            self.event_scans += 1
            if self.fail:
                raise StoreError("cannot read events/slack-event:Ev0SECRET: Input/output error")
        return await super().scan(collection)


async def test_old_records_go_and_fresh_ones_stay(store):
    await store.put(EVENTS, "slack-event:old", {"at": ago(days=8)})
    await store.put(EVENTS, "slack-view:just-old", {"at": ago(days=7, seconds=1)})
    await store.put(EVENTS, "teams-card:naive-old", {"at": (NOW - timedelta(days=9)).replace(tzinfo=None).isoformat()})
    await store.put(EVENTS, "slack-event:week", {"at": ago(days=7)})  # exactly the window: not older, kept
    await store.put(EVENTS, "slack-event:day", {"at": ago(days=6, hours=23)})
    await store.put(EVENTS, "teams-event:now", {"at": NOW.isoformat()})
    await store.put(EVENTS, "slack-event:offset", {"at": far_east(hours=1)})
    await store.put(EVENTS, "slack-event:offset-old", {"at": far_east(days=8)})
    await store.put(EVENTS, "clock-ahead", {"at": (NOW + timedelta(days=30)).isoformat()})
    await store.put("dialogs", "old-dialog", {"at": ago(days=400)})  # another collection: never touched
    assert RETENTION == timedelta(days=7)

    assert await sweep(store, NOW, dry_run=True) == 4
    assert len(await store.keys(EVENTS)) == 9  # a dry run removes nothing
    assert await sweep(store, NOW) == 4
    assert sorted(await store.keys(EVENTS)) == [
        "clock-ahead", "slack-event:day", "slack-event:offset", "slack-event:week", "teams-event:now"]
    assert await store.get("dialogs", "old-dialog") is not None
    assert await store.get(EVENTS, "slack-event:day") == {"at": ago(days=6, hours=23)}  # kept as it was
    assert await sweep(store, NOW) == 0


async def test_records_without_a_readable_time_are_kept_for_the_window_after_a_sweep_first_sees_them(store):
    untimed = {"no-at": {}, "text": {"at": "last Tuesday"}, "number": {"at": 1764000000}, "null": {"at": None},
               "other": {"seen": True, "when": NOW.isoformat()}}
    for key, doc in untimed.items():
        await store.put(EVENTS, key, doc)
    await store.put(EVENTS, "fresh", {"at": NOW.isoformat()})
    assert await sweep(store, NOW, dry_run=True) == 0
    assert await store.get(EVENTS, "no-at") == {}  # a dry run stamps nothing
    assert await sweep(store, NOW) == 0
    assert (await store.get(EVENTS, "other"))["noticed_at"] == NOW.isoformat()
    assert await sweep(store, NOW + timedelta(days=6)) == 0
    assert await sweep(store, NOW + timedelta(days=7, minutes=1)) == 6  # (with "fresh", a week old by then)
    assert await store.keys(EVENTS) == []


async def test_a_channels_markers_are_swept_with_the_engines_records(store):
    marks = "teams_marks"
    await store.put(marks, "19:conv:1700000000000", {"seen": True})  # an older marker with no time
    await store.put(marks, "19:conv:timed", {"at": ago(days=8)})
    await store.put(EVENTS, "slack-event:old", {"at": ago(days=8)})
    assert await sweep(store, NOW, collections=[EVENTS, marks]) == 2
    marker = await store.get(marks, "19:conv:1700000000000")
    assert marker == {"seen": True, "noticed_at": NOW.isoformat()}
    assert await sweep(store, NOW + timedelta(days=6), collections=[EVENTS, marks]) == 0
    assert await store.get(marks, "19:conv:1700000000000") == marker  # not stamped again
    assert await sweep(store, NOW + timedelta(days=7, minutes=1), collections=[EVENTS, marks]) == 1
    assert await store.keys(marks) == []


async def test_a_retry_of_a_fresh_event_has_no_second_effect_after_a_sweep(tmp_path, all_policies, clock):
    async with TinyDBStore(tmp_path) as store:
        engine = core_for(store, {"surrey": all_policies["surrey"]}, clock)
        chat = Chat(engine)
        await store.put(EVENTS, "slack-event:last-month", {"at": ago(days=30)})
        assert await chat.say("escalate", event_id="slack-event:Ev1")
        clock.advance(hours=1)
        assert await chat.say("no", event_id="slack-event:Ev2")
        dialog_before = await store.scan("dialogs")
        assert await sweep(store, clock.now()) == 1
        assert await chat.say("escalate", event_id="slack-event:Ev1") == []  # the retry: no second effect
        assert await chat.say("no", event_id="slack-event:Ev2") == []
        assert await store.scan("dialogs") == dialog_before
        assert sorted(await store.keys(EVENTS)) == ["slack-event:Ev1", "slack-event:Ev2"]
        # Eight days on, both have expired and go.
        assert await sweep(store, clock.now() + timedelta(days=8)) == 2


async def test_a_sweep_beside_new_events_never_removes_them(tmp_path, all_policies, clock):
    async with TinyDBStore(tmp_path) as store:
        engine = core_for(store, {"surrey": all_policies["surrey"]}, clock)
        for n in range(40):
            await store.put(EVENTS, f"slack-event:old{n}", {"at": ago(days=10)})
        chats = [Chat(engine, f"user{n}@example.org") for n in range(20)]
        results = await asyncio.gather(sweep(store, clock.now()),
                                       *(chat.say("help", event_id=f"slack-event:new{n}")
                                         for n, chat in enumerate(chats)))
        assert results[0] == 40
        assert sorted(await store.keys(EVENTS)) == sorted(f"slack-event:new{n}" for n in range(20))
        for n, chat in enumerate(chats):
            assert await chat.say("help", event_id=f"slack-event:new{n}") == []


async def test_the_servers_sweep_runs_at_most_once_per_london_day():
    async with CountingStore() as store:
        daily = DailySweep(store)
        # 1 June 2026 is in British Summer Time: 23:30 and 00:30 London are both on 1 June in UTC.
        evening = datetime(2026, 6, 1, 23, 30, tzinfo=LONDON)
        await store.put(EVENTS, "a", {"at": (evening - timedelta(days=8)).isoformat()})
        assert await daily.tick(evening.replace(hour=0, minute=5)) == 1
        await store.put(EVENTS, "b", {"at": (evening - timedelta(days=8)).isoformat()})
        assert await daily.tick(evening) is None  # the same London day: no second sweep
        assert store.event_scans == 1 and await store.keys(EVENTS) == ["b"]
        assert await daily.tick(evening + timedelta(hours=1)) == 1  # 00:30 on 2 June in London
        assert store.event_scans == 2 and await store.keys(EVENTS) == []
        assert await daily.tick(evening - timedelta(days=3)) is None  # a clock set back does not sweep again
        assert store.event_scans == 2


async def test_a_failing_sweep_logs_one_line_without_keys_and_waits_for_the_next_day(caplog):
    async with CountingStore() as store:
        store.fail = True
        daily = DailySweep(store)
        with caplog.at_level(logging.INFO, logger="bot.jobs.expiry"):
            assert await daily.tick(NOW) is None
            assert await daily.tick(NOW + timedelta(hours=2)) is None
        assert store.event_scans == 1  # not tried at every pass
        (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.jobs.expiry"]
        assert line == "expiry of dedupe records failed (StoreError); it runs again tomorrow"
        assert "\n" not in line and caplog.records[0].exc_info is None
        store.fail = False
        assert await daily.tick(NOW + timedelta(days=1)) == 0


async def test_an_abandoned_form_with_a_childs_name_goes_after_a_fortnight(all_policies, clock):
    from conftest import CHILD_NAME

    from bot.jobs.expiry import DIALOG_RETENTION, DIALOGS, sweep_dialogs

    async with MemoryStore() as store:
        engine = core_for(store, {"surrey": all_policies["surrey"]}, clock)
        chat = Chat(engine, "practitioner@example.org")
        await chat.say("escalate")
        for answer in ("no", "2026-11-23", "Northshire Police", "Chris Walker", "DC", "1", "Closed referral",
                       "Risk continues", "Strategy discussion", "yes", "yes", "none", CHILD_NAME):
            await chat.say(answer)
        ((key, dialog),) = await store.scan(DIALOGS)
        assert CHILD_NAME in str(dialog) and dialog["touched_at"] == clock.now().isoformat()
        assert await sweep_dialogs(store, clock.now() + DIALOG_RETENTION - timedelta(minutes=1)) == 0
        assert await sweep_dialogs(store, clock.now() + DIALOG_RETENTION, dry_run=True) == 0  # (not yet older)
        later = clock.now() + DIALOG_RETENTION + timedelta(minutes=1)
        assert await sweep_dialogs(store, later, dry_run=True) == 1 and await store.get(DIALOGS, key) is not None
        assert await sweep_dialogs(store, later) == 1
        assert await store.scan(DIALOGS) == []


async def test_a_form_answered_again_is_kept_and_one_with_no_time_is_stamped(clock):
    from bot.jobs.expiry import DIALOG_RETENTION, DIALOGS, sweep_dialogs

    async with MemoryStore() as store:
        old = (clock.now() - DIALOG_RETENTION * 2).isoformat()
        await store.put(DIALOGS, "answered", {"started_at": old, "touched_at": clock.now().isoformat()})
        await store.put(DIALOGS, "timeless", {"step": "arose_on"})
        assert await sweep_dialogs(store, clock.now()) == 0
        assert (await store.get(DIALOGS, "timeless"))["touched_at"] == clock.now().isoformat()
        assert await store.get(DIALOGS, "answered") is not None
        assert await sweep_dialogs(store, clock.now() + DIALOG_RETENTION + timedelta(hours=1)) == 2
