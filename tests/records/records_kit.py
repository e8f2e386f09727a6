"""Cases for the records tests, driven through the real engine over the demo directory, and a DOCX reader.

The people are the fictional ones in bot/people/demo/directory.csv: Jordan Ellis (a Northshire Children's Services
social worker) raises each case about a decision of Chris Walker (Northshire Police); Lena Okafor (Jordan's team
manager) and David Hughes (service manager) escalate and resolve.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from conftest import POLICY_IDS, Chat  # (POLICY_IDS: every procedure in the policy folder)
from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from bot.app import build_core
from bot.dates.clock import FixedClock
from bot.dates.workdays import LONDON
from bot.people.directory import Directory
from bot.people.directory_csv import demo_directory
from policies.model import Policy
from storage.base import Store

DIRECTORY = demo_directory(POLICY_IDS)
JORDAN = "practitioner@example.org"
LENA = "lena.okafor@northshire-council.example.org"
DAVID = "david.hughes@northshire-council.example.org"
EMMA = "emma.clarke@northshire-primary.example.net"  # a teacher with nothing to do with the cases
STRANGER = "someone@elsewhere.example.com"
OPENING = {"other_agency": "Northshire Police", "other_professional": "Chris Walker",
           "other_role": "Detective Constable"}
REASON = "Still unresolved: no strategy discussion."
OUTCOME = "Strategy discussion held; plan agreed."
FOLLOW_UP = "Both team managers review the plan in two weeks."


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """A London wall-clock time."""
    return datetime(year, month, day, hour, tzinfo=LONDON)


class Desk:
    """One core over some procedures and the demo directory; people talk to it through console chats."""

    def __init__(self, store: Store, policies: dict[str, Policy], when: datetime,
                 directory: Directory = DIRECTORY) -> None:
        self.store = store
        self.clock = FixedClock(when)
        self.core = build_core(store, policies, self.clock, directory=directory)
        self.chats: dict[str, Chat] = {}

    def chat(self, email: str) -> Chat:
        return self.chats.setdefault(email, Chat(self.core, email))

    async def open_case(self, when: datetime | None = None, policy_id: str | None = None, **answers: str) -> str:
        if when is not None:
            self.clock.set(when)
        reply = await self.chat(JORDAN).escalate(policy_id, **{**OPENING, **answers})
        assert reply.kind in ("case_opened", "emergency"), reply.text
        return reply.case_ref

    async def act(self, email: str, command: str, ref: str, *answers: str, when: datetime | None = None) -> Any:
        if when is not None:
            self.clock.set(when)
        chat = self.chat(email)
        replies = await chat.say(f"{command} {ref}")
        for answer in answers:
            assert replies and replies[-1].question is not None, replies[-1].text if replies else "no reply"
            replies = await chat.say(answer)
        assert replies and replies[-1].kind != "refused", replies[-1].text if replies else "no reply"
        return replies[-1]

    async def escalate(self, email: str, ref: str, when: datetime) -> None:
        await self.act(email, "escalate", ref, REASON, when=when)

    async def resolve(self, email: str, ref: str, when: datetime, outcome: str = OUTCOME) -> None:
        await self.act(email, "resolve", ref, outcome, FOLLOW_UP, when=when)

    async def case(self, ref: str) -> dict[str, Any]:
        case = await self.store.get("cases", ref)
        assert case is not None
        return case


async def walk(desk: Desk, ref: str, to_stage: int, start: datetime) -> None:
    """Escalate one stage a day from `start`'s next day: Lena first, then David."""
    case = await desk.case(ref)
    for step, _ in enumerate(range(case["stage"], to_stage), 1):
        await desk.escalate(LENA if step == 1 else DAVID, ref, start.replace(day=start.day + step))


def opened(content: bytes) -> Any:
    """The document python-docx reads back from bytes."""
    return Document(BytesIO(content))


def fields(content: bytes) -> dict[tuple[str, str], str]:
    """Every two-column table row as (section heading, label) -> value, in a form document: a heading names the
    table straight after it; a table with no heading of its own has the section ""."""
    doc = opened(content)
    section, found = "", {}
    for block in doc.iter_inner_content():
        if isinstance(block, Paragraph) and block.style is not None and block.style.name.startswith("Heading"):
            section = block.text
        elif isinstance(block, Table):
            if len(block.columns) == 2:
                for label, values in field_rows(block):
                    found[(section, label)] = "\n".join(values)
            section = ""
    return found


def field_rows(table: Table) -> list[tuple[str, list[str]]]:
    """A label | value table's fields in order, each with its values: one per row, several where the label's cell
    spans several rows (a history, one row per stage)."""
    out: list[tuple[str, list[str]]] = []
    previous = None
    for row in table.rows:
        cells = row.cells
        if previous is not None and cells[0]._tc is previous:
            out[-1][1].append(cells[-1].text)
        else:
            out.append((cells[0].text, [cells[-1].text]))
        previous = cells[0]._tc
    return out


def text_of(content: bytes) -> str:
    """All paragraph text of a document (not its tables)."""
    return "\n".join(p.text for p in opened(content).paragraphs)


def grid(content: bytes, header: Sequence[str]) -> list[list[str]]:
    """The rows of the first table whose first row is `header`."""
    for table in opened(content).tables:
        rows = [[c.text for c in row.cells] for row in table.rows]
        if rows and rows[0] == list(header):
            return rows[1:]
    raise AssertionError(f"no table headed {header}")


REPO = Path(__file__).resolve().parents[2]


def bot(cwd: Path, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as an operator runs it in `cwd`, with none of this process's BOT_ settings but `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    return subprocess.run([sys.executable, "-m", "bot", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**clean, "PYTHONPATH": str(REPO), **env}, timeout=60, check=False)


def fresh_copy(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of a sealed data folder and its data keys beside it; the data folder's path."""
    for name in ("data", "data-keys"):
        shutil.copytree(template / name, tmp_path / name)
    return tmp_path / "data"
