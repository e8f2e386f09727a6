"""`make install PREFIX=...` as an operator runs it: a virtual environment holding the runtime only (requirements.txt's
pins and the wheel, none of the test or lint tools), whose `escalation-bot serve` starts on deploy/env.example's
settings (paths moved into a temporary folder), answers /healthz and stops cleanly on SIGTERM, writing nowhere but its
data folder, its data keys' folder and the chart's cache (what the systemd unit lets it write)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from installed import ROOT, clean_env, env_file, pins, run, source_copy  # noqa: F401  (a fixture)
from packaging.utils import canonicalize_name

MAKE_ENV_LEFT_OUT = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")


@pytest.fixture(scope="module")
def prefix(source_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make install` into a fresh PREFIX, from a copy of the source (its dependencies from the package index pip is
    set up with, as on a server)."""
    target = tmp_path_factory.mktemp("opt") / "escalation-bot"
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV_LEFT_OUT and not k.startswith("BOT_")}
    run(["make", "--no-print-directory", "install", f"PREFIX={target}", f"PYTHON={sys.executable}"],
        cwd=source_copy, env=env, timeout=540)
    return target


def installed_packages(prefix: Path) -> dict[str, str]:
    listed = run([str(prefix / "bin" / "python"), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                 cwd=prefix, env=clean_env(prefix)).stdout
    return {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed)}


def test_install_holds_the_runtime_and_nothing_else(prefix: Path) -> None:
    found = installed_packages(prefix)
    runtime = pins(ROOT / "requirements.txt")
    assert {name: found.get(name) for name in runtime} == runtime
    # The venv's own pip and setuptools, and the bot: no pytest, ruff, mypy, hypothesis or anything else.
    assert set(found) - set(runtime) == {"escalation-bot", "pip", "setuptools"}
    for tool in ("pytest", "ruff", "mypy", "hypothesis", "pytest-asyncio"):
        assert tool not in found
    assert (prefix / "bin" / "escalation-bot").is_file()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_installed_bot_serves_on_the_example_settings_and_stops_on_sigterm(prefix: Path, tmp_path: Path) -> None:
    """As the unit runs it: settings from deploy/env.example, a master key file made with `keys new --file` (mode
    600) outside the data folder, a working folder and a home it must not write to."""
    bot = str(prefix / "bin" / "escalation-bot")
    home, work, etc, state, cache = (tmp_path / n for n in ("home", "work", "etc", "state", "cache"))
    for folder in (home, work, state, cache):
        folder.mkdir()
    settings = env_file(ROOT / "deploy" / "env.example")
    moved = {name: value.replace("/var/lib/escalation-bot", str(state)).replace("/etc/escalation-bot", str(etc))
             for name, value in settings.items()}
    port = free_port()
    env = clean_env(home, **{**moved, "BOT_PORT": str(port), "MPLCONFIGDIR": str(cache)})

    key_file = Path(moved["BOT_MASTER_KEY_FILE"])
    run([bot, "keys", "new", "--file", str(key_file)], cwd=work, env=env)
    assert key_file.stat().st_mode & 0o777 == 0o600

    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([bot, "serve"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    log.close()
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "keys:" in line:  # (the last line `serve` prints once it is listening)
                break
        else:
            raise AssertionError(f"the bot did not start: {''.join(lines)}{(tmp_path / 'serve.log').read_text()}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            health = json.loads(answer.read())
        assert health["status"] == "ok"
        assert health["policies"] == sorted(p.stem for p in (ROOT / "policies").glob("*.toml"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=25) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    errors = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in errors and "stopped after" in errors
    assert f"data sealed under the key file {key_file}" in "".join(lines)
    # Written: the data folder and its keys' folder (ReadWritePaths= in the unit), the chart's cache
    # (CacheDirectory=); not the working folder, not the home folder, not beside the master key.
    assert sorted(p.name for p in state.iterdir()) == ["data", "data-keys"]
    assert (state / "data-keys" / "meta.json").exists()
    assert not list(work.iterdir()) and not list(home.iterdir())
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["master.key"]
