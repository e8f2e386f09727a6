"""The directory as CSV: parse and validate a whole file (every problem by line number), and export it back."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from bot.people.directory import CONTACT_KINDS, DIRECTORY_TIERS, Directory, Person

COLUMNS: tuple[str, ...] = (
    "email",
    "name",
    "agency",
    "role",
    "tier",
    "line_manager",
    "slack_id",
    "teams_id",
    "contact_for",
    "partnerships",
)
REQUIRED: tuple[str, ...] = ("email", "name", "agency", "tier")
EMAIL = re.compile(r"^[^@\s,;<>\"=+\-][^@\s,;<>\"]*@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
FORMULA_START = ("=", "+", "-", "@")  # a spreadsheet would run these as formulas when the export is opened


class DirectoryCsvError(Exception):
    """A directory file that cannot be imported; `problems` lists every one as 'line N: column: problem'."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def _split(value: str) -> tuple[str, ...]:
    """'a; b;;a' -> ('a', 'b'): a ;-separated list, trimmed, without blanks or repeats, in order."""
    return tuple(dict.fromkeys(v.strip() for v in value.split(";") if v.strip()))


def _check_header(line: int, header: list[str]) -> list[str]:
    problems = []
    for column in dict.fromkeys(header):
        if column not in COLUMNS:
            problems.append(
                f"line {line}: {column or '(blank)'}: unknown column (the columns are {', '.join(COLUMNS)})"
            )
        elif header.count(column) > 1:
            problems.append(f"line {line}: {column}: column given twice")
    problems += [f"line {line}: {c}: missing column" for c in COLUMNS if c not in header]
    return problems


def _check_row(line: int, row: dict[str, str], policy_ids: frozenset[str]) -> list[str]:
    problems = [f"line {line}: {c}: must not be empty" for c in REQUIRED if not row[c]]
    if row["email"] and not EMAIL.match(row["email"]):
        problems.append(f"line {line}: email: not an email address ({row['email']!r})")
    if row["line_manager"] and not EMAIL.match(row["line_manager"]):
        problems.append(f"line {line}: line_manager: not an email address ({row['line_manager']!r})")
    if row["tier"] and row["tier"] not in DIRECTORY_TIERS:
        problems.append(f"line {line}: tier: unknown tier {row['tier']!r} (use one of {', '.join(DIRECTORY_TIERS)})")
    for column in ("name", "agency", "role", "slack_id", "teams_id"):
        if row[column].startswith(FORMULA_START):
            problems.append(f"line {line}: {column}: must not start with {row[column][0]!r} (a spreadsheet formula)")
    for kind in _split(row["contact_for"]):
        if kind not in CONTACT_KINDS:
            problems.append(f"line {line}: contact_for: unknown value {kind!r} (use {', '.join(CONTACT_KINDS)})")
    for policy_id in _split(row["partnerships"]):
        if policy_id not in policy_ids:
            known = ", ".join(sorted(policy_ids))
            problems.append(f"line {line}: partnerships: unknown policy id {policy_id!r} (known: {known})")
    return problems


def _check_people(rows: list[tuple[int, dict[str, str]]]) -> list[tuple[int, str]]:
    """Problems between rows: duplicate emails and chat ids, managers not found, managers in a circle."""
    problems: list[tuple[int, str]] = []
    lines: dict[str, int] = {}
    for column in ("email", "slack_id", "teams_id"):
        seen: dict[str, int] = {}
        for line, row in rows:
            if row[column] and row[column] in seen:
                problems.append((line, f"line {line}: {column}: {row[column]} is also on line {seen[row[column]]}"))
            elif row[column]:
                seen[row[column]] = line
        if column == "email":
            lines = seen
    managers = {row["email"]: row["line_manager"] for _, row in rows if row["email"]}
    reported: set[str] = set()
    for line, row in rows:
        manager = row["line_manager"]
        if manager and EMAIL.match(manager) and manager not in lines:
            problems.append((line, f"line {line}: line_manager: {manager} is not a person in this file"))
        elif manager == row["email"] and manager:
            problems.append((line, f"line {line}: line_manager: a person cannot be their own line manager"))
        elif manager and row["email"] not in reported:
            path, current = [row["email"]], manager
            while current in managers and current not in path:
                path.append(current)
                current = managers[current]
            if current == row["email"]:
                reported.update(path)
                circle = ", ".join(str(lines[e]) for e in [*path, row["email"]])
                problems.append(
                    (line, f"line {line}: line_manager: line managers go round in a circle (lines {circle})")
                )
    return problems


def parse_directory_csv(text: str, policy_ids: Iterable[str]) -> Directory:
    """The directory a CSV file describes, or DirectoryCsvError listing every problem; nothing is half read."""
    known = frozenset(policy_ids)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        records = []
        previous = 0
        for record in reader:
            records.append((previous + 1, record))
            previous = reader.line_num
    except csv.Error as exc:
        raise DirectoryCsvError([f"line {reader.line_num}: (file): not readable as CSV ({exc})"]) from None
    records = [(line, r) for line, r in records if any(cell.strip() for cell in r)]
    if not records:
        raise DirectoryCsvError(["line 1: (file): the file is empty; it needs a header line and one line per person"])
    header_line, header_cells = records[0]
    header = [cell.strip().lower() for cell in header_cells]
    problems = _check_header(header_line, header)
    if problems:
        raise DirectoryCsvError(problems)
    if len(records) == 1:
        raise DirectoryCsvError([f"line {header_line + 1}: (file): the file has a header but nobody in it"])
    numbered: list[tuple[int, str]] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for line, cells in records[1:]:
        fitted = (cells + [""] * len(header))[: len(header)]
        row = {column: cell.strip() for column, cell in zip(header, fitted, strict=True)}
        row["email"], row["line_manager"] = row["email"].lower(), row["line_manager"].lower()
        if len(cells) != len(header):  # still checked against the other rows, so no manager goes "missing"
            numbered.append((line, f"line {line}: (row): has {len(cells)} fields; the header has {len(header)}"))
        else:
            numbered += [(line, p) for p in _check_row(line, row, known)]
        rows.append((line, row))
    numbered += _check_people(rows)
    if numbered:
        raise DirectoryCsvError(p for _, p in sorted(numbered, key=lambda item: item[0]))
    return Directory(
        Person(
            email=row["email"],
            name=row["name"],
            agency=row["agency"],
            role=row["role"],
            tier=row["tier"],
            line_manager=row["line_manager"],
            slack_id=row["slack_id"],
            teams_id=row["teams_id"],
            contact_for=_split(row["contact_for"]),
            partnerships=_split(row["partnerships"]),
        )
        for _, row in rows
    )


def read_directory_csv(path: Path, policy_ids: Iterable[str]) -> Directory:
    """Parse a CSV file (UTF-8, with or without a byte-order mark; LF or CRLF line ends)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DirectoryCsvError([f"line 1: (file): not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return parse_directory_csv(text, policy_ids)


def export_directory_csv(directory: Directory) -> str:
    """The directory as CSV with every column, people in their imported order; importing it gives it back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in directory.people:
        lists = [";".join(p.contact_for), ";".join(p.partnerships)]
        writer.writerow([p.email, p.name, p.agency, p.role, p.tier, p.line_manager, p.slack_id, p.teams_id, *lists])
    return out.getvalue()


def demo_directory(policy_ids: Iterable[str]) -> Directory:
    """The small fictional directory shipped in bot/people/demo/directory.csv, used when none has been imported."""
    text = resources.files("bot.people.demo").joinpath("directory.csv").read_text(encoding="utf-8-sig")
    return parse_directory_csv(text, policy_ids)
