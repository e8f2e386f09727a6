"""deploy/: the systemd unit, the settings file and the TLS proxy agree with the bot and with each other. The unit runs
the command the wheel installs, sandboxed, and gives the bot longer to stop than the bot takes; the settings file names
every setting the bot reads, with secrets left empty, and is read by the bot as it stands; the proxy passes on the
bot's three routes only, to where the settings file makes it listen, and refuses a body the bot would refuse."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from installed import PACKAGES, ROOT, env_file, unit_file

from bot.config import read_settings

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "escalation-bot.service"
SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MICROSOFT_APP_PASSWORD", "BOT_MASTER_KEY",
           "BOT_DATABASE_URL")
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "PrivateDevices": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes",
    "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes", "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes",
    "SystemCallArchitectures": "native", "UMask": "0077",
}


def service() -> dict[str, list[str]]:
    return unit_file(UNIT)["Service"]


def one(options: dict[str, list[str]], name: str) -> str:
    (value,) = options[name]
    return value


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", text)
    assert match, text
    return int(match[1]) * (60 if match[2] == "min" else 1)


def test_the_unit_runs_the_installed_command_as_a_user_of_its_own() -> None:
    options = service()
    prefix = re.search(r"^PREFIX \?= (\S+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert prefix, "the Makefile sets no default PREFIX"
    command, *arguments = one(options, "ExecStart").split()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert Path(command).parent == Path(prefix[1]) / "bin" and Path(command).name in scripts
    assert arguments == ["serve"]
    from bot.cli.main import build_parser

    assert build_parser().parse_args(arguments).command == "serve"
    assert one(options, "User") == one(options, "Group") == "escalation-bot"
    assert one(options, "EnvironmentFile") == "/etc/escalation-bot/env"
    assert one(options, "Restart") == "on-failure"
    assert one(options, "RestartPreventExitStatus") == "2"  # a wrong setting: no restart loop


def test_the_unit_waits_longer_than_the_bot_takes_to_stop() -> None:
    from bot.app import STOP_SECONDS

    options = service()
    assert one(options, "KillSignal") == "SIGTERM"
    assert seconds(one(options, "TimeoutStopSec")) >= STOP_SECONDS + 5


def test_the_unit_is_sandboxed() -> None:
    options = service()
    for name, value in HARDENING.items():
        assert options.get(name) == [value], name
    filters = options["SystemCallFilter"]
    assert filters[0] == "@system-service" and all(f.startswith("~") for f in filters[1:])


def test_the_unit_writes_only_to_the_data_and_key_folders_the_settings_name() -> None:
    options, settings = service(), env_file(DEPLOY / "env.example")
    writable = one(options, "ReadWritePaths").split()
    backups = one(unit_file(BACKUP)["Service"], "ExecStart").split()[-1]
    # (and, optionally, where a backup the running bot is asked for goes: escalation-bot-backup.service)
    assert writable == [settings["BOT_DATA_DIR"], settings["BOT_KEY_DIR"], f"-{backups}"]
    writable = [folder.lstrip("-") for folder in writable]
    # The master key: outside both (never beside the data nor in its backups), only read by the service.
    key_file = Path(settings["BOT_MASTER_KEY_FILE"])
    assert not any(key_file.is_relative_to(folder) for folder in writable)
    assert key_file.is_relative_to("/etc/escalation-bot")
    # The chart's font cache: the unit's own cache folder, where matplotlib is told to keep it.
    cache = one(options, "CacheDirectory")
    assert one(options, "Environment") == f"MPLCONFIGDIR=/var/cache/{cache}"
    assert not Path(one(options, "WorkingDirectory")).is_relative_to(settings["BOT_DATA_DIR"])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify`, the command put where the unit expects it (it checks the file is executable)."""
    command = one(service(), "ExecStart").split()[0]
    stand_in = tmp_path / "bin" / "escalation-bot"
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(command, str(stand_in)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def read_names() -> set[str]:
    """Every setting the bot reads from its environment: each string in its code that is a setting's whole name
    (they are read by name: `env.get("BOT_PORT", ...)`, `_time(env, "BOT_NUDGE_TIME")`)."""
    setting = re.compile(r"(BOT|SLACK|MICROSOFT|TEAMS)_[A-Z0-9_]+")
    return {node.value for package in PACKAGES for path in (ROOT / package).rglob("*.py")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and setting.fullmatch(node.value)}


def test_the_settings_file_names_every_setting_the_bot_reads() -> None:
    names = read_names()
    assert {"BOT_RETENTION_YEARS", "BOT_MASTER_KEY_FILE", "BOT_KEY_DIR", "BOT_NUDGE_TIME", "SLACK_BOT_TOKEN",
            "TEAMS_CASES_CHANNEL", "MICROSOFT_APP_TENANT_ID"} <= names  # (the search finds them where they are read)
    text = (DEPLOY / "env.example").read_text(encoding="utf-8")
    given = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert names - given == set()


def test_the_settings_file_leaves_secrets_empty_and_is_read_as_it_stands() -> None:
    settings = env_file(DEPLOY / "env.example")
    for name in SECRETS:
        assert settings.get(name) == "", name
    assert settings["BOT_TEAMS_EMULATOR"] == "0"
    read = read_settings(settings)  # (an empty value where one is needed would stop start-up here)
    assert str(read.data_dir) == settings["BOT_DATA_DIR"] and str(read.key_dir) == settings["BOT_KEY_DIR"]
    assert read.master_key_file == settings["BOT_MASTER_KEY_FILE"] and not read.master_key
    assert not read.slack_enabled and not read.teams_app_id and not read.teams_emulator and not read.database_url
    assert not Path(settings["BOT_MASTER_KEY_FILE"]).is_relative_to(settings["BOT_DATA_DIR"])


def nginx() -> str:
    return (DEPLOY / "nginx.conf.example").read_text(encoding="utf-8")


def test_the_proxy_passes_on_the_bots_routes_only() -> None:
    from adapters.slack.mount import ROUTE as SLACK
    from adapters.teams.mount import ROUTE as TEAMS

    text = nginx()
    routes = re.findall(r"^\s*location\s+(=?)\s*(\S+)\s*\{", text, re.MULTILINE)
    assert sorted(routes) == sorted([("=", SLACK), ("=", TEAMS), ("=", "/healthz"), ("", "/")])
    assert re.search(r"location / \{\s*return 404;\s*\}", text)
    assert text.count("proxy_pass http://escalation_bot;") == 3
    assert re.search(r"listen 443 ssl;", text) and "ssl_certificate_key" in text


def test_the_proxy_reaches_the_bot_where_the_settings_make_it_listen() -> None:
    settings = env_file(DEPLOY / "env.example")
    upstream = re.search(r"upstream escalation_bot \{\s*server (\S+);", nginx())
    assert upstream and upstream[1] == f"{settings['BOT_HOST']}:{settings['BOT_PORT']}"


def test_the_proxy_refuses_what_the_bot_would_refuse_and_bounds_its_waits() -> None:
    from adapters.http import MAX_BODY, READ_SECONDS

    text = nginx()
    size = re.search(r"client_max_body_size (\d+)k;", text)
    assert size and int(size[1]) * 1024 == MAX_BODY
    body = re.search(r"client_body_timeout (\d+)s;", text)
    assert body and int(body[1]) == READ_SECONDS
    for timeout in ("proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout"):
        assert re.search(rf"^\s*{timeout} \d+s;", text, re.MULTILINE), timeout


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_example(tmp_path: Path) -> None:
    """`nginx -t` on the example, its certificate, logs and ports moved into a temporary folder."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=bot.example.org", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   capture_output=True, check=True, timeout=60)
    site = (nginx().replace("/etc/letsencrypt/live/bot.example.org/fullchain.pem", str(tmp_path / "cert.pem"))
            .replace("/etc/letsencrypt/live/bot.example.org/privkey.pem", str(tmp_path / "key.pem"))
            .replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log {tmp_path}/access.log;\n"
        + "".join(f"    {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
        + f"    include {tmp_path}/site.conf;\n}}\n")
    done = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


BACKUP = DEPLOY / "escalation-bot-backup.service"
TIMER = DEPLOY / "escalation-bot-backup.timer"


def test_the_backup_unit_runs_the_installed_backup_as_the_bot_with_its_settings() -> None:
    backup, bot = unit_file(BACKUP)["Service"], service()
    for name in ("User", "Group", "EnvironmentFile", "WorkingDirectory", "UMask"):
        assert backup[name] == bot[name], name
    command, *arguments = one(backup, "ExecStart").split()
    assert command == one(bot, "ExecStart").split()[0]
    from bot.cli.main import build_parser

    parsed = build_parser().parse_args(arguments)
    assert parsed.command == "backup" and parsed.data is None  # (the data folder the settings name)
    assert one(backup, "Type") == "oneshot"
    # The running bot makes it (through its socket): the service is never stopped nor started for it.
    assert "ExecStartPre" not in backup and "ExecStopPost" not in backup
    assert not any("systemctl" in line for lines in backup.values() for line in lines)


def test_the_backup_unit_is_sandboxed_as_the_bot_and_writes_only_its_folders_and_the_backups() -> None:
    backup, bot, settings = unit_file(BACKUP)["Service"], service(), env_file(DEPLOY / "env.example")
    for name, value in HARDENING.items():
        assert backup.get(name) == [value], name
    assert backup["SystemCallFilter"] == bot["SystemCallFilter"]
    writable = one(backup, "ReadWritePaths").split()
    out = one(backup, "ExecStart").split()[-1]
    assert writable == [*one(bot, "ReadWritePaths").split()[:2], out]
    key_file = Path(settings["BOT_MASTER_KEY_FILE"])  # (never beside the archives)
    assert not any(key_file.is_relative_to(folder) for folder in writable)
    assert not any(Path(out).is_relative_to(settings[name]) for name in ("BOT_DATA_DIR", "BOT_KEY_DIR"))
    (prune,) = backup["ExecStartPost"]
    assert prune.startswith(f"/usr/bin/find {out} -maxdepth 1 -type f -name escalation-bot-backup-") and \
        prune.endswith("-delete")


def test_the_timer_starts_the_backup_nightly() -> None:
    timer = unit_file(TIMER)
    assert TIMER.stem == BACKUP.stem and "Unit" not in timer["Timer"]  # (it starts the service of its own name)
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:00", one(timer["Timer"], "OnCalendar"))
    assert one(timer["Timer"], "Persistent") == "yes" and one(timer["Install"], "WantedBy") == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_backup_unit_and_timer(tmp_path: Path) -> None:
    command = one(unit_file(BACKUP)["Service"], "ExecStart").split()[0]
    stand_in = tmp_path / "bin" / "escalation-bot"
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    (tmp_path / BACKUP.name).write_text(BACKUP.read_text(encoding="utf-8").replace(command, str(stand_in)),
                                        encoding="utf-8")
    (tmp_path / TIMER.name).write_text(TIMER.read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / BACKUP.name),
                           str(tmp_path / TIMER.name)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
