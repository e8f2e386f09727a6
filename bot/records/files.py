"""A case's written record as a named file: the case record, its chronology or one of the procedure's forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.people.directory import Directory
from bot.records.chronology import chronology_markdown
from bot.records.docx_record import chronology_docx, form_docx, record_docx
from policies.model import Policy

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MARKDOWN_MIME = "text/markdown; charset=utf-8"
FORMATS = ("docx", "md")
KINDS = ("record", "chronology")  # besides the ids of the procedure's forms
PRIVATE_FOLDER = "records"  # in the data folder: where the console saves a person's copy (adapters/console.py)


class RecordError(ValueError):
    """The record asked for does not exist (an unknown form, or a format it is not made in); says why."""


@dataclass(frozen=True)
class RecordFile:
    """A written record ready to send or save. Its name and title carry the case reference, never the child's."""

    filename: str
    content: bytes
    mime: str
    title: str


def kinds(policy: Policy) -> tuple[str, ...]:
    """What can be asked for on a case under this procedure: the record, the chronology, each form's id."""
    return (*KINDS, *policy.forms)


def saved_copies(data_dir: Path, refs: Iterable[str]) -> list[Path]:
    """The copies the console saved of these cases' written records (`<data>/records/REF-KIND.ext`): a purge
    removes them with their case, so no copy outlives the retention period beside the store."""
    folder = data_dir / PRIVATE_FOLDER
    if not folder.is_dir():
        return []
    prefixes = tuple(f"{ref.upper()}-" for ref in refs)
    return sorted(p for p in folder.iterdir() if prefixes and p.is_file() and p.name.upper().startswith(prefixes))


def render(case: Mapping[str, Any], policy: Policy, kind: str = "record", fmt: str = "docx",
           directory: Directory | None = None, now: datetime | None = None) -> RecordFile:
    """Build the file; RecordError names the problem (an unknown form, or a form asked for as Markdown)."""
    ref = str(case.get("ref", "case"))
    if fmt not in FORMATS:
        raise RecordError(f"unknown format {fmt!r}; use docx or md")
    if kind not in kinds(policy):
        raise RecordError(f"{policy.id} has no form {kind!r}; choose {', '.join(kinds(policy))}")
    if fmt == "md":
        if kind != "chronology":
            raise RecordError("Markdown is made for the chronology only; the case record and forms are docx")
        text = chronology_markdown(case, policy, directory)
        return RecordFile(f"{ref}-chronology.md", text.encode("utf-8"), MARKDOWN_MIME, f"{ref} chronology")
    if kind == "record":
        content, title = record_docx(case, policy, directory, now), f"{ref} case record"
    elif kind == "chronology":
        content, title = chronology_docx(case, policy, directory, now), f"{ref} chronology"
    else:
        form = policy.forms[kind]
        content, title = form_docx(case, policy, form, directory, now), f"{ref} {form.name}"
    return RecordFile(f"{ref}-{kind}.docx", content, DOCX_MIME, title)
