"""No code path changes or removes an audit entry: the audit log is only ever added to, by bot/cases/trail.py, and a
case's events only ever grow (each write keeps the events it read: checked over a case's whole life in
tests/scenarios/test_audit_verify.py, where any change would break the chain)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITES = {"put", "update", "update_if_free", "delete", "delete_if", "create", "append"}


def _writes_to_audit_log() -> list[tuple[str, int, str]]:
    found = []
    for folder in ("bot", "adapters", "dialogs", "storage", "policies"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in WRITES and node.args):
                    continue
                first = node.args[0]
                if (isinstance(first, ast.Name) and first.id == "AUDIT_LOG") or (
                        isinstance(first, ast.Constant) and first.value == "audit_log"):
                    found.append((str(path.relative_to(ROOT)), node.lineno, node.func.attr))
    return found


def test_only_the_trail_module_writes_the_audit_log_and_only_by_adding() -> None:
    writes = _writes_to_audit_log()
    assert writes, "the audit log is written somewhere (else this test looks in the wrong place)"
    # (create: an entry kept outside the chain, where none has begun and no key can be made)
    assert {(path, how) for path, _, how in writes} == {("bot/cases/trail.py", "append"),
                                                        ("bot/cases/trail.py", "create")}, writes
