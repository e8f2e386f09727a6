"""What a summary reads: open cases, cases closed within its window, and cases still owing a duty — never every case
ever closed (at scale a database answers this from its indexes)."""

from __future__ import annotations

from datetime import date

from bot.cases.book import CaseBook
from bot.summary.figures import summary_window
from storage import MemoryStore
from storage.collections import CASES


def case(ref: str, closed_at: str | None, duties: list[str]) -> dict:
    return {"ref": ref, "status": "resolved" if closed_at else "open", "closed_at": closed_at,
            "duties": [{"duty": f"d{i}", "status": s} for i, s in enumerate(duties)]}


async def test_a_summary_reads_what_it_counts_and_not_what_closed_long_ago() -> None:
    monday = date(2026, 11, 30)
    async with MemoryStore() as store:
        book = CaseBook(store)
        for doc in (case("ESC-2026-0001", None, ["open"]), case("ESC-2026-0002", "2026-11-03T10:00:00", []),
                    case("ESC-2025-0003", "2025-06-01T10:00:00", ["done"]),
                    case("ESC-2025-0004", "2025-06-01T10:00:00", ["done", "open"])):
            await book.create(doc)  # type: ignore[arg-type]
        found = sorted(c["ref"] for c in await book.for_summary(summary_window(monday)))
        assert found == ["ESC-2025-0004", "ESC-2026-0001", "ESC-2026-0002"]
        await book.update("ESC-2025-0004", lambda c: {**c, "duties": [{**d, "status": "done"} for d in c["duties"]]})
        assert "ESC-2025-0004" not in [c["ref"] for c in await book.for_summary(summary_window(monday))]


async def test_cases_stored_before_duties_were_counted_are_counted_once() -> None:
    async with MemoryStore() as store:
        await store.put(CASES, "ESC-2024-0001", case("ESC-2024-0001", "2024-02-01T10:00:00", ["open"]))
        book = CaseBook(store)
        assert await book.for_summary(date(2026, 10, 5)) == []  # (no count stored yet)
        assert await book.indexed_once() == 1
        assert [c["ref"] for c in await book.for_summary(date(2026, 10, 5))] == ["ESC-2024-0001"]
        assert await book.indexed_once() == 0  # (the first time only)
