"""The running bot's administration socket (bot.admin.socket) in process: only the service account (or root) is
answered, whatever it claims; a request it cannot read gets one line and changes nothing; a socket left by a bot that
died is replaced; a data folder whose path is too long for a socket turns live administration off, saying so."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from bot.admin import socket as admin
from bot.admin.ops import Answer
from bot.app import build_core
from bot.config import read_settings
from policies.loader import load_policies
from storage.memory_store import MemoryStore


@pytest.fixture
async def listening(tmp_path: Path):
    core = build_core(MemoryStore(), load_policies(ids=("surrey",)))
    await core.store.open()
    (tmp_path / admin.SOCKET_NAME).write_text("left by a bot that died")
    live = admin.AdminSocket(tmp_path, core, read_settings({}))
    assert await live.start()
    yield tmp_path
    await live.stop()
    assert not (tmp_path / admin.SOCKET_NAME).exists()


async def raw(folder: Path, line: bytes) -> Answer:
    reader, writer = await asyncio.open_unix_connection(str(folder / admin.SOCKET_NAME))
    writer.write(line)
    await writer.drain()
    answer = Answer.from_dict(json.loads(await reader.readline()))
    writer.close()
    return answer


async def test_the_service_account_is_answered_through_a_socket_only_it_can_reach(listening: Path) -> None:
    mode = (listening / admin.SOCKET_NAME).stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    answer = await admin.ask(listening, "release", {"ref": "ESC-2026-0042"})
    assert answer == Answer(2, "", "error: no case ESC-2026-0042\n")


async def test_another_user_is_refused_whatever_it_sends(listening: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stranger = os.geteuid() + 4242
    monkeypatch.setattr(admin, "peer_uid", lambda _: stranger)
    answer = await admin.ask(listening, "release", {"ref": "ESC-2026-0042"})
    assert answer == Answer(1, "", "error: only the bot's service account (or root) may administer it\n")


@pytest.mark.parametrize("line", [b"not json\n", b'{"op": "format-disk", "params": {}}\n', b'{"op": "tick"}\n',
                                  b'{"op": "release", "params": ["ESC-2026-0001"]}\n'])
async def test_a_request_the_bot_cannot_read_gets_one_line(listening: Path, line: bytes) -> None:
    answer = await raw(listening, line)
    assert answer.code == 2 and answer.out == ""
    assert answer.err == "error: the bot did not understand the request (is the command the bot's own version?)\n"


async def test_no_bot_listening_is_no_answer(tmp_path: Path) -> None:
    assert await admin.ask(tmp_path, "release", {"ref": "ESC-2026-0001"}) is None
    (tmp_path / admin.SOCKET_NAME).write_text("")  # (a stale file, nobody listening)
    assert await admin.ask(tmp_path, "release", {"ref": "ESC-2026-0001"}) is None


async def test_a_path_too_long_for_a_socket_turns_live_administration_off(tmp_path: Path, caplog) -> None:
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    live = admin.AdminSocket(deep, build_core(MemoryStore(), load_policies(ids=("surrey",))), read_settings({}))
    assert not await live.start()
    assert "live administration is off: the data folder's path is too long for a local socket" in caplog.text
    assert await admin.ask(deep, "release", {"ref": "ESC-2026-0001"}) is None
