"""The outbox: each message queued once per key, delivered with back-off (at least what the platform asks), one
delivery at a time, given up after a day (audited, the person told), looked for after a timeout."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from conftest import core_for

from bot.jobs.outbox import GIVE_UP, ChannelInfo, Letter, SendError
from bot.types import Kind, Reply, ThreadRef

PLACE = ThreadRef("slack", "C1")
ME = ThreadRef("slack", "U1")


class Flaky:
    """A channel that refuses the next `failures` posts with `error` (then posts), and can look for its messages."""

    def __init__(self, failures: int = 0, error: SendError | None = None) -> None:
        self.failures = failures
        self.error = error or SendError("down")
        self.posted: list[tuple[ThreadRef, Reply, str]] = []
        self.arrived: dict[str, ThreadRef] = {}  # key -> where a timed-out post landed
        self.looked: list[str] = []

    async def post(self, thread, reply, via=None, key=""):
        if self.failures:
            self.failures -= 1
            if self.error.unknown:
                self.arrived[key] = thread  # it did arrive
            raise self.error
        self.posted.append((thread, reply, key))
        return thread

    async def find(self, thread, key, root, since=None):
        self.looked.append(key)
        return self.arrived.get(key)


@pytest.fixture
def core(store, all_policies, clock):
    return core_for(store, {"surrey": all_policies["surrey"]}, clock)


def connect(core, sender) -> None:
    core.outbox.register(ChannelInfo("slack", forms=True), sender)


async def test_a_key_is_queued_and_delivered_once_however_often_it_is_sent(core):
    flaky = Flaky()
    connect(core, flaky)
    for _ in range(3):
        sent = await core.threads.send("k1", Reply("Hello"), to=PLACE, wait=5)
        assert sent.status == "sent"
    await core.work.settle()
    assert [key for _, _, key in flaky.posted] == ["k1"]


async def test_a_refused_post_waits_at_least_what_the_platform_asks_then_is_delivered(core, clock):
    flaky = Flaky(1, SendError("slow down", retry_after=120))
    connect(core, flaky)
    sent = await core.threads.send("k2", Reply("Hello"), to=PLACE, wait=5)
    assert sent.status == "pending" and sent.error == "slow down"
    clock.advance(seconds=60)
    assert (await core.threads.deliver_due()).delivered == 0  # (15 s of back-off, but Slack asked for 120)
    clock.advance(seconds=61)
    assert (await core.threads.deliver_due()).delivered == 1
    assert len(flaky.posted) == 1


async def test_a_post_that_timed_out_is_looked_for_first_and_not_posted_again(core, clock):
    flaky = Flaky(1, SendError("no answer in time", unknown=True))
    connect(core, flaky)
    await core.threads.send("k3", Reply("Hello"), to=PLACE, wait=5)
    clock.advance(minutes=1)
    assert (await core.threads.deliver_due()).delivered == 1
    assert flaky.looked == ["k3"] and flaky.posted == []  # found where it landed: not posted a second time


async def test_a_message_not_delivered_for_a_day_is_given_up_audited_and_the_person_told(core, clock, store):
    flaky = Flaky(10_000)
    connect(core, flaky)
    await core.threads.send("k4", Reply("About the case", case_ref=""), to=PLACE, notify=ME, wait=5)
    for _ in range(200):
        clock.advance(minutes=30)
        await core.threads.deliver_due()
        if (await core.outbox.state("k4"))[0] == "failed":
            break
    assert (await core.outbox.state("k4"))[0] == "failed"
    letter = await store.get("outbox", "k4")
    tried_for = clock.now() - datetime.fromisoformat(letter["created_at"])
    assert GIVE_UP - timedelta(minutes=31) <= tried_for <= GIVE_UP + timedelta(minutes=31)
    logged = [doc for _, doc in await store.scan("audit_log")]
    assert [(d["action"], d["by"]) for d in logged] == [("delivery_failed", "bot")]
    notice = await store.get("outbox", "notice:k4")  # the person it concerns is told (in their private place)
    assert notice["to"] == ME.to_dict() and notice["reply"]["kind"] == str(Kind.NOT_POSTED)


async def test_a_letter_waiting_for_a_channel_this_process_does_not_reach_is_left_untried(core, clock, store):
    await core.threads.send("k5", Reply("For a console"), to=ThreadRef("console", "someone@example.org"))
    clock.advance(minutes=5)
    assert (await core.threads.deliver_due()).delivered == 0
    letter = await store.get("outbox", "k5")
    assert letter["status"] == "pending" and letter["attempts"] == 0  # another process (their console) delivers it


async def test_cancelled_letters_stay_cancelled_unless_revived(core, store):
    await core.outbox.queue(Letter("k6", Reply("x"), to=PLACE))
    await core.outbox.cancel("k6")
    assert not await core.outbox.queue(Letter("k6", Reply("x"), to=PLACE))
    assert (await core.outbox.state("k6"))[0] == "cancelled"
    assert await core.outbox.queue(Letter("k6", Reply("x"), to=PLACE), revive=True)
    assert (await core.outbox.state("k6"))[0] == "pending"


async def test_delivered_letters_are_forgotten_after_a_week_and_pending_ones_never(core, clock, store):
    flaky = Flaky()
    connect(core, flaky)
    await core.threads.send("old", Reply("x"), to=PLACE, wait=5)
    await core.outbox.queue(Letter("waiting", Reply("y"), to=ThreadRef("console", "away@example.org")))
    assert await core.outbox.expire(clock.now() + timedelta(days=6), timedelta(days=7)) == 0
    assert await core.outbox.expire(clock.now() + timedelta(days=8), timedelta(days=7)) == 1
    assert sorted(await store.keys("outbox")) == ["waiting"]


class Buggy(Flaky):
    """A channel whose posting has a fault of ours for one message (not a platform's refusal)."""

    async def post(self, thread, reply, via=None, key=""):
        if reply.text == "broken":
            raise AttributeError("a bug")
        return await super().post(thread, reply, via, key)


async def test_a_message_that_fails_unexpectedly_backs_off_without_holding_up_the_others(core, clock, store):
    buggy = Buggy()
    connect(core, buggy)
    await core.threads.send("bad", Reply("broken"), to=PLACE, now=False)
    for key in ("a", "b", "c"):
        await core.threads.send(key, Reply(f"message {key}"), to=PLACE, now=False)
    # (the broken one first, oldest first: the others still go)
    assert (await core.threads.deliver_due()).delivered == 3
    assert sorted(key for _, _, key in buggy.posted) == ["a", "b", "c"]
    letter = await store.get("outbox", "bad")
    assert letter["status"] == "pending" and letter["attempts"] == 1 and "AttributeError" in letter["error"]
    clock.advance(seconds=GIVE_UP.total_seconds() + 1)
    assert (await core.threads.deliver_due()).delivered == 0
    assert (await store.get("outbox", "bad"))["status"] == "failed"  # given up in time, and audited
    assert [doc["action"] for _, doc in await store.scan("audit_log")] == ["delivery_failed"]


async def test_a_slow_delivery_of_this_process_is_not_taken_over_however_long_it_takes(core, clock):
    """A platform that takes minutes to answer: the delivery in flight still holds its claim, so a scheduler pass
    does not post the message a second time."""
    gate = asyncio.Event()

    class Slow(Flaky):
        async def post(self, thread, reply, via=None, key=""):
            await gate.wait()
            return await super().post(thread, reply, via, key)

    slow = Slow()
    connect(core, slow)
    core.outbox.post_seconds = 3600
    sent = await core.threads.send("slow", Reply("Hello"), to=PLACE, wait=0.05)
    assert sent.status != "sent"
    clock.advance(minutes=30)  # (long past any lease)
    assert (await core.threads.deliver_due()).delivered == 0  # the pass leaves it to the delivery in flight
    gate.set()
    await core.work.settle()
    assert [key for _, _, key in slow.posted] == ["slow"]
