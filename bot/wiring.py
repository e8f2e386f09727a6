"""Builds the engine for a process (console, tick or server) without any platform SDK: directory, outbox, timing."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config import Settings
from bot.conversation.engine import Engine
from bot.dates.clock import Clock
from bot.jobs.outbox import Outbox
from bot.people.directory import Directory, load_directory
from bot.people.directory_csv import demo_directory
from bot.types import ThreadRef
from policies.loader import load_policies
from policies.model import Policy
from storage.base import Store


async def directory_for(store: Store, settings: Settings) -> tuple[Directory, bool]:
    """The imported directory, or the shipped fictional example when none has been imported (True if so)."""
    stored = await load_directory(store)
    if stored is not None:
        return stored, False
    return demo_directory(load_policies(settings.policy_dir)), True


async def make_engine(store: Store, policies: Mapping[str, Policy], settings: Settings, clock: Clock,
                      outbox: Outbox | None = None) -> Engine:
    """An engine over an open store, with the directory loaded."""
    directory, _ = await directory_for(store, settings)
    engine = Engine(store, policies, clock, directory=directory, outbox=outbox, send_time=settings.nudge_time,
                    review_days=settings.review_days)
    if settings.summary_target:
        channel, _, conversation = settings.summary_target.partition(":")
        engine.weekly.target = ThreadRef(channel, conversation)
        engine.weekly.weekday = settings.summary_weekday
        engine.weekly.at = settings.summary_time
    return engine
