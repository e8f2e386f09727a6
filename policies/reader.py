"""A strict reader over parsed TOML that names the file and field in every error."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


class PolicyError(Exception):
    """A policy file is malformed or inconsistent; the message names the file, the field and the problem."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        where = f"{file}: {field}: " if field else f"{file}: "
        super().__init__(where + problem)


class Reader:
    """Reads one TOML table, tracking the dotted path and refusing unknown keys."""

    def __init__(self, file: str, data: dict[str, Any], path: str = "") -> None:
        self.file = file
        self.data = data
        self.path = path
        self._seen: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str) -> PolicyError:
        return PolicyError(self.file, self.at(key) if key else self.path, problem)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, required: bool) -> Any:
        self._seen.add(key)
        if key not in self.data:
            if required:
                raise self.fail(key, "is missing")
            return None
        return self.data[key]

    def text(self, key: str, *, required: bool = True, default: str = "", choices: tuple[str, ...] = ()) -> str:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty text string")
        if choices and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)} (found {value!r})")
        return value.strip()

    def integer(self, key: str, *, required: bool = True, low: int = 0, high: int = 10_000) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "must be a whole number")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high} (found {value})")
        return value

    def flag(self, key: str, *, required: bool = True, default: bool = False) -> bool:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def texts(self, key: str, *, required: bool = True, choices: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._get(key, required)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be a list of text strings")
        for v in value:
            if choices and v not in choices:
                raise self.fail(key, f"{v!r} is not one of {', '.join(choices)}")
        return tuple(value)

    def integers(self, key: str, *, required: bool = True) -> tuple[int, ...]:
        value = self._get(key, required)
        if value is None:
            return ()
        if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(key, "must be a non-empty list of whole numbers")
        return tuple(value)

    def dates(self, key: str, *, required: bool = True) -> tuple[date, ...]:
        """A list of calendar dates: TOML dates (2027-01-04) or ISO text ("2027-01-04")."""
        value = self._get(key, required)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of dates, e.g. [2027-01-04, 2027-04-19]")
        out: list[date] = []
        for item in value:
            if isinstance(item, str):
                try:
                    item = date.fromisoformat(item)
                except ValueError:
                    raise self.fail(key, f"{item!r} is not a date (YYYY-MM-DD)") from None
            if isinstance(item, datetime) or not isinstance(item, date):
                raise self.fail(key, f"{item!r} is not a date (YYYY-MM-DD, no time)")
            out.append(item)
        return tuple(sorted(set(out)))

    def table(self, key: str, *, required: bool = True) -> Reader | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return Reader(self.file, value, self.at(key))

    def tables(self, key: str, *, required: bool = True) -> list[Reader]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "must be a non-empty array of tables ([[...]])")
        return [Reader(self.file, v, f"{self.at(key)}[{i}]") for i, v in enumerate(value)]

    def mapping(self, key: str, *, required: bool = True) -> dict[str, Reader]:
        value = self._get(key, required)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise self.fail(key, "must be a table of tables")
        return {k: Reader(self.file, v, f"{self.at(key)}.{k}") for k, v in value.items()}

    def done(self) -> None:
        """Refuse keys the format does not know (a typo must not be silently ignored)."""
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise self.fail(unknown[0], "is not a field this format knows (see policies/README.md)")
