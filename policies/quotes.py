"""What a policy file shows as the procedure's own words, and the check that each is in the procedure's text.

The bot may show a passage as the procedure's words only if it is there, verbatim: a reader acting on a quotation
must be able to find it in the published procedure. Two kinds of text are quotations: `extension.wording` (told as
'In its own words: "..."') and any passage inside double quotation marks in any text of the file. The procedure's
published text is kept beside the policy files as `sources/<id>.txt`; the comparison ignores only differences of
whitespace and of straight against curly quotation marks, and '...' (or '…') inside a quotation marks words left
out, the parts then found in order.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from policies.model import Policy

SOURCES = "sources"
QUOTED = re.compile(r"[\"\u201c]([^\"\u201c\u201d]+)[\"\u201d]")
OMITTED = re.compile(r"\s*(?:\.\.\.|\u2026)\s*")
_MARKS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def source_path(policy: Policy, directory: Path) -> Path:
    """Where the procedure's own text is kept: `sources/<id>.txt` beside the policy files in `directory`."""
    return directory / SOURCES / f"{policy.id}.txt"


def normalise(text: str) -> str:
    """The text with curly quotation marks made straight and every run of whitespace one space."""
    return " ".join(text.translate(_MARKS).split())


def _texts(value: Any, where: str) -> list[tuple[str, str]]:
    """Every string in a loaded policy (dataclasses, tuples, dicts), with where it is ('stages[2].action')."""
    if isinstance(value, str):
        return [(where, value)]
    if is_dataclass(value) and not isinstance(value, type):
        return [t for f in fields(value) if f.name != "path"
                for t in _texts(getattr(value, f.name), f"{where}.{f.name}" if where else f.name)]
    if isinstance(value, (tuple, list)):
        return [t for i, item in enumerate(value) for t in _texts(item, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [t for key, item in value.items() for t in _texts(item, f"{where}.{key}")]
    return []


def quotations(policy: Policy) -> list[tuple[str, str]]:
    """(where, passage) for everything the bot shows as the procedure's own words."""
    out = [("extension.wording", policy.extension.wording)]
    for where, text in _texts(policy, ""):
        out += [(where, passage) for passage in QUOTED.findall(text)]
    return out


def found_in(passage: str, source: str) -> bool:
    """Whether the passage is in the (normalised) source, its parts around '...' in order."""
    at = 0
    for part in OMITTED.split(normalise(passage)):
        if not part:
            continue
        at = source.find(part, at)
        if at < 0:
            return False
        at += len(part)
    return True


def misquoted(policy: Policy, source_text: str) -> list[str]:
    """One line per quotation not found in the procedure's text: where it is, and how it starts."""
    source = normalise(source_text)
    return [f"{where}: not in the procedure's text: {passage[:80]!r}"
            for where, passage in quotations(policy) if not found_in(passage, source)]
