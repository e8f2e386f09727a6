"""`python -m bot summary`: the same figures on the command line, JSON for machines, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "summary", "--data", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, env={"PATH": "/usr/bin:/bin"})


def test_an_empty_week_is_a_valid_summary_in_json_and_text(tmp_path):
    result = run(tmp_path, "--week", "2026-W48", "--json", "--chart", str(tmp_path / "chart.png"))
    assert result.returncode == 0, result.stderr
    figs = json.loads(result.stdout)
    assert figs["week"] == "2026-W48" and figs["new_escalations"] == 0 and figs["open_by_stage"] == {}
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    text = run(tmp_path, "--week", "2026-W48", "--policy", "medway")
    assert text.returncode == 0 and "Medway Safeguarding Children Board" in text.stdout


def test_bad_week_and_policy_are_one_line_errors(tmp_path):
    for args, words in ((["--week", "2026-48"], "YYYY-Www"), (["--week", "2026-W99"], "no week"),
                        (["--policy", "kent"], "unknown policy")):
        result = run(tmp_path, *args)
        assert result.returncode == 2 and result.stdout == "" and words in result.stderr
        assert result.stderr.count("\n") == 1
