"""The command line's errors (exit 2, one line on stderr) and its import path (no platform SDK)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import (  # noqa: F401  (fixtures)
    PLATFORM_SDKS,
    POLICY_NAMES,
    REPO_ROOT,
    _replace_in_stage,
    _surrey_copy,
    clean_env,
    one_error_line,
    repo,
    run_cli,
    run_many,
)

# --- errors -----------------------------------------------------------------------------------------------------

SURREY_DUE = ["due", "--policy", "surrey", "--stage", "1"]

# (args, words the one error line must contain)
ERROR_CASES = [
    (["due", "--policy", "nowhere", "--stage", "1", "--start", "2026-11-23"], ["nowhere"]),
    (["timeline", "--policy", "nowhere", "--raised", "2026-11-23", "--json"], ["nowhere"]),
    ([*SURREY_DUE, "--start", "2026-02-30"], ["--start", "2026-02-30"]),
    ([*SURREY_DUE, "--start", "23/11/2026"], ["--start", "23/11/2026"]),
    ([*SURREY_DUE, "--start", "garbage"], ["--start", "garbage"]),
    ([*SURREY_DUE, "--start", "2026-11-5"], ["--start", "2026-11-5"]),
    ([*SURREY_DUE, "--start", ""], ["--start"]),
    (["timeline", "--policy", "surrey", "--raised", "2026-02-30", "--json"], ["--raised", "2026-02-30"]),
    (["timeline", "--policy", "surrey", "--raised", "23/11/2026", "--json"], ["--raised", "23/11/2026"]),
    (["timeline", "--policy", "surrey", "--raised", "garbage", "--json"], ["--raised", "garbage"]),
    (["due", "--policy", "surrey", "--stage", "6", "--start", "2026-11-23"], ["stage", "6"]),
    (["due", "--policy", "surrey", "--stage", "0", "--start", "2026-11-23"], ["stage", "0"]),
    (["due", "--policy", "medway", "--stage", "5", "--start", "2026-11-23"], ["stage", "5"]),
    (["due", "--policy", "surrey", "--stage", "two", "--start", "2026-11-23"], ["--stage", "two"]),
    (["due", "--policy", "surrey", "--stage", "1.5", "--start", "2026-11-23"], ["--stage", "1.5"]),
    (["due", "--policy", "surrey"], ["--stage", "--start"]),
    (["due"], ["--policy"]),
    (["timeline", "--policy", "surrey", "--json"], ["--raised"]),
    ([], ["COMMAND"]),
    (["frobnicate"], ["frobnicate"]),
    ([*SURREY_DUE, "--start", "2026-11-23", "--bogus"], ["--bogus"]),
    # A real date whose due date would lie past the end of the calendar (year 9999) is still a usage error.
    ([*SURREY_DUE, "--start", "9999-12-31"], []),
    (["timeline", "--policy", "bcssp", "--raised", "9999-12-30", "--json"], []),
]


@pytest.fixture(scope="module")
def error_results(repo: Path, clean_env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    return run_many(repo, clean_env, [args for args, _ in ERROR_CASES])


@pytest.mark.parametrize(
    ("index", "args", "words"),
    [(i, args, words) for i, (args, words) in enumerate(ERROR_CASES)],
    ids=[" ".join(args) or "no-command" for args, _ in ERROR_CASES],
)
def test_usage_error(
    error_results: list[subprocess.CompletedProcess[str]], index: int, args: list[str], words: list[str]
) -> None:
    line = one_error_line(error_results[index])
    for word in words:
        assert word in line, (word, line)


@pytest.mark.parametrize(
    ("index", "pattern", "replacement", "field"),
    [
        (1, r"^working_days = \d+$", "working_days = 0", "stages[1].working_days"),
        (2, r"^counts_from = .*$", 'counts_from = "sometime"', "stages[2].counts_from"),
        (0, r"^(cite = .*)$", '\\1\ncolour = "red"', "stages[0].colour"),  # a field the format does not know
        (3, r"^raiser_tier = .*$", 'raiser_tier = "boss"', "stages[3].raiser_tier"),
    ],
)
def test_malformed_policy_file_stops_policies_with_one_line(
    repo: Path, clean_env: dict[str, str], tmp_path: Path, index: int, pattern: str, replacement: str, field: str
) -> None:
    target, parts = _surrey_copy(repo, tmp_path / "policies")
    target.write_text(_replace_in_stage(parts, index, (pattern, replacement)), encoding="utf-8")
    line = one_error_line(run_cli(repo, clean_env, ["policies"], BOT_POLICY_DIR=str(target.parent)))
    assert "surrey.toml" in line
    assert field in line


def test_policy_file_that_is_not_toml_stops_policies_with_one_line(
    repo: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    target, _ = _surrey_copy(repo, tmp_path / "policies")
    target.write_text(target.read_text(encoding="utf-8") + "\n[[stages]\nnumber = = 6\n", encoding="utf-8")
    line = one_error_line(run_cli(repo, clean_env, ["policies"], BOT_POLICY_DIR=str(target.parent)))
    assert "surrey.toml" in line


def test_empty_policy_dir_stops_policies_with_one_line(repo: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    line = one_error_line(run_cli(repo, clean_env, ["policies"], BOT_POLICY_DIR=str(tmp_path)))
    assert tmp_path.name in line


# --- no platform SDK on the command-line path -------------------------------------------------------------------

_PROBE = """
import json, runpy, sys
sys.argv = ["bot", *json.loads(sys.argv[1])]
code = 0
try:
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
print("\\n" + json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["due", "--policy", "surrey", "--stage", "1", "--start", "2026-11-23"],
        ["timeline", "--policy", "bcssp", "--raised", "2026-12-21", "--json"],
        ["policies"],
    ],
    ids=["due", "timeline", "policies"],
)
def test_cli_path_imports_no_platform_sdk(repo: Path, clean_env: dict[str, str], args: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        cwd=repo,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.splitlines()[-1])
    assert report["code"] == 0, r.stderr
    assert "bot" in report["modules"]
    loaded = sorted(set(PLATFORM_SDKS) & set(report["modules"]))
    assert not loaded, f"`python -m bot {args[0]}` imported {loaded}"


def test_serve_on_a_port_in_use_stops_with_one_line(repo: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli(repo, clean_env, ["serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(tmp_path)])
    line = one_error_line(r)
    assert f"127.0.0.1:{port}" in line and "in use" in line and "--port" in line
    assert not list(tmp_path.glob("*.json"))  # the store was never opened
