"""`serve` refuses the unauthenticated local trial mode (Agents Playground, Emulator) on anything but a loopback
address, and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import channel_lines, serve
from bot.config import ConfigError, read_settings
from policies.loader import load_policies

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "bot.example.org"])
def test_no_app_id_and_a_public_bind_is_refused(host, tmp_path):
    with pytest.raises(ConfigError, match="MICROSOFT_APP_ID is not") as refused:
        serve(read_settings({"BOT_TEAMS_EMULATOR": "1"}), load_policies(ids=("surrey",)), host=host, data_dir=tmp_path)
    assert "loopback" in str(refused.value) and host in str(refused.value)
    assert not any(tmp_path.iterdir())  # refused before the store was touched


def test_the_command_line_exits_2_with_one_line(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "BOT_TEAMS_EMULATOR": "1"}
    done = subprocess.run([sys.executable, "-m", "bot", "serve", "--host", "0.0.0.0", "--data", str(tmp_path / "d")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: refusing to listen on 0.0.0.0") and "Emulator" in line


def test_channel_lines_say_how_teams_is_served(tmp_path):
    emulator = channel_lines("127.0.0.1", 3978, tmp_path, read_settings({"BOT_TEAMS_EMULATOR": "1"}))
    (teams,) = [line for line in emulator if "Teams:" in line]
    assert "POST http://127.0.0.1:3978/api/messages" in teams and "loopback only" in teams
    live = read_settings({"MICROSOFT_APP_ID": "8f1c2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
                          "MICROSOFT_APP_TENANT_ID": "50612dbb-0237-4969-b378-8d42590f9c00",
                          "MICROSOFT_APP_PASSWORD": "secret", "TEAMS_CASES_CHANNEL": "19:abc@thread.tacv2"})
    (teams,) = [line for line in channel_lines("0.0.0.0", 3978, tmp_path, live) if "Teams:" in line]
    assert "live at POST" in teams and "19:abc@thread.tacv2" in teams and "secret" not in teams
    assert "SingleTenant bot" in teams


async def test_without_an_app_id_teams_is_off_unless_the_emulator_is_asked_for(aiohttp_client, tmp_path):
    """An unauthenticated /api/messages is opt-in, so a proxy in front of the bot can never expose one by default."""
    from bot.app import build_app
    from storage.memory_store import MemoryStore

    policies = load_policies(ids=("surrey",))
    off = await aiohttp_client(build_app(MemoryStore(), policies, read_settings({}), run_scheduler=False))
    assert (await off.post("/api/messages", json={"type": "message", "text": "escalate"})).status == 404
    assert (await off.get("/healthz")).status == 200
    (line,) = [x for x in channel_lines("127.0.0.1", 3978, tmp_path, read_settings({})) if "Teams:" in x]
    assert "off" in line and "BOT_TEAMS_EMULATOR=1" in line
    on = await aiohttp_client(build_app(MemoryStore(), policies, read_settings({"BOT_TEAMS_EMULATOR": "1"}),
                                        run_scheduler=False))
    assert (await on.post("/api/messages", data=b"{not json")).status == 400  # mounted: its own checks answer


def test_the_emulator_switch_is_checked_and_an_app_id_wins():
    with pytest.raises(ConfigError, match="BOT_TEAMS_EMULATOR must be 1 or 0"):
        read_settings({"BOT_TEAMS_EMULATOR": "maybe"})
    both = read_settings({"BOT_TEAMS_EMULATOR": "1", "MICROSOFT_APP_ID": "8f1c2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
                          "MICROSOFT_APP_PASSWORD": "x",
                          "MICROSOFT_APP_TENANT_ID": "50612dbb-0237-4969-b378-8d42590f9c00"})
    assert both.teams_emulator is False and both.teams_app_id
