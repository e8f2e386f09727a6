"""`serve` refuses the Emulator's unauthenticated mode on anything but a loopback address, and says why."""

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
    with pytest.raises(ConfigError, match="MICROSOFT_APP_ID is not set") as refused:
        serve(read_settings({}), load_policies(ids=("surrey",)), host=host, data_dir=tmp_path)
    assert "loopback" in str(refused.value) and host in str(refused.value)
    assert not any(tmp_path.iterdir())  # refused before the store was touched


def test_the_command_line_exits_2_with_one_line(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot", "serve", "--host", "0.0.0.0", "--data", str(tmp_path / "d")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: refusing to listen on 0.0.0.0") and "Emulator" in line


def test_channel_lines_say_how_teams_is_served(tmp_path):
    emulator = channel_lines("127.0.0.1", 3978, tmp_path, read_settings({}))
    (teams,) = [line for line in emulator if "Teams:" in line]
    assert "POST http://127.0.0.1:3978/api/messages" in teams and "loopback only" in teams
    live = read_settings({"MICROSOFT_APP_ID": "8f1c2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
                          "MICROSOFT_APP_PASSWORD": "secret", "TEAMS_CASES_CHANNEL": "19:abc@thread.tacv2"})
    (teams,) = [line for line in channel_lines("0.0.0.0", 3978, tmp_path, live) if "Teams:" in line]
    assert "live at POST" in teams and "19:abc@thread.tacv2" in teams and "secret" not in teams
