"""Builds the Teams app package: build/escalation-bot-teams.zip with manifest.json and both icons at its root.

The standard library only (so `make teams-package` needs no virtual environment). If MICROSOFT_APP_ID is set, it
becomes the manifest's botId (the committed manifest carries a placeholder).
"""

from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "build" / "escalation-bot-teams.zip"
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def build(out: Path = OUT, app_id: str = "") -> Path:
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    if app_id:
        if not GUID.match(app_id):
            raise ValueError(f"MICROSOFT_APP_ID must be a GUID (found {app_id!r})")
        manifest["bots"][0]["botId"] = app_id
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for icon in (manifest["icons"]["color"], manifest["icons"]["outline"]):
            package.write(HERE / icon, arcname=icon)
    return out


def main() -> int:
    app_id = os.environ.get("MICROSOFT_APP_ID", "").strip()
    try:
        out = build(app_id=app_id)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"built {out}")
    if not app_id:
        print(f"note: botId is the placeholder {PLACEHOLDER}; run with MICROSOFT_APP_ID=<your bot's app id> "
              "to put the real one in the package", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
