"""Case-write latency of the TinyDB store as the number of stored cases grows (must stay flat)."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from storage import TinyDBStore
from storage.bulk import bulk_load_unsynced
from storage.common import dumps

SIZES = (1_000, 10_000, 100_000)
WRITES = 200
WARMUP = 10
TARGET_RATIO = 2.0
COLLECTION = "cases"


def case_key(i: int) -> str:
    return f"ESC-2026-{i:06d}"


def case_doc(i: int) -> dict[str, Any]:
    """A realistic case document of about 2 KB (fictitious people)."""
    return {
        "ref": case_key(i),
        "created": "2026-03-02T09:15:00+00:00",
        "updated": "2026-03-04T16:40:12+00:00",
        "tenant": "example-lscp",
        "channel": "teams",
        "stage": 2,
        "status": "open",
        "raised_by": {"id": f"console:user{i % 97}@example.org", "agency": "health", "role": "school nurse"},
        "other_party": {"agency": "childrens-social-care", "role": "team manager", "name": "A. Practitioner"},
        "child": {"initials": "J.Q.", "age_band": "5-10", "subject_ref": f"CH-{i:07d}", "lac": False},
        "concern": (
            "Disagreement about the threshold decision following the referral of 14 February; the school "
            "nurse believes the child meets the threshold for a strategy discussion. " * 3
        ),
        "history": [
            {"at": f"2026-03-0{d}T1{d}:00:00+00:00", "stage": d, "by": "user", "action": "escalated",
             "note": "Discussed with the designated safeguarding lead; no resolution reached at this stage."}
            for d in range(1, 5)
        ],
        "deadlines": {"stage_2_due": "2026-03-09", "stage_3_due": "2026-03-16"},
        "contacts": [{"agency": a, "email": f"safeguarding@{a}.example.org"} for a in ("police", "health")],
        "flags": {"urgent": i % 10 == 0, "reminder_sent": False},
        "version": 1,
    }


def _touch(doc: dict[str, Any] | None) -> dict[str, Any]:
    assert doc is not None
    doc["version"] = doc.get("version", 0) + 1
    doc["updated"] = "2026-03-05T10:00:00+00:00"
    return doc


async def _measure(data: Path, stored: int, writes: int, rng: random.Random) -> dict[str, list[float]]:
    """Time `writes` case writes: half `update`s of random existing cases, half `put`s of new ones."""
    times: dict[str, list[float]] = {"update": [], "put": []}
    async with TinyDBStore(data) as store:
        for j in range(WARMUP + writes):
            start = time.perf_counter()
            if j % 2:
                await store.put(COLLECTION, f"NEW-{stored}-{j}", case_doc(stored + j))
                kind = "put"
            else:
                await store.update(COLLECTION, case_key(rng.randrange(stored)), _touch)
                kind = "update"
            elapsed = (time.perf_counter() - start) * 1000
            if j >= WARMUP:
                times[kind].append(elapsed)
    return times


def run(sizes: Sequence[int] = SIZES, writes: int = WRITES, directory: str | None = None) -> dict[str, Any]:
    """Fill a temporary store to each size in turn (bulk, without fsync) and time real writes at each."""
    rng = random.Random(1)
    result: dict[str, Any] = {"doc_bytes": len(dumps(case_doc(0)).encode()), "writes": writes, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="bench-store-", dir=directory) as tmp:
        data = Path(tmp) / "data"
        result["directory"] = tmp
        loaded = 0
        for size in sorted(sizes):
            start = time.perf_counter()
            bulk_load_unsynced(data, COLLECTION, _cases(loaded, size))
            os.sync()  # so the measured fsyncs do not pay for writing back the bulk load
            loaded = size
            fill_s = time.perf_counter() - start
            times = asyncio.run(_measure(data, size, writes, rng))
            every = times["update"] + times["put"]
            result["sizes"][size] = {
                "median_ms": statistics.median(every),
                "update_median_ms": statistics.median(times["update"]),
                "put_median_ms": statistics.median(times["put"]),
                "p95_ms": statistics.quantiles(every, n=20)[-1],
                "fill_s": fill_s,
            }
    small, large = result["sizes"][min(sizes)], result["sizes"][max(sizes)]
    result["ratio"] = large["median_ms"] / small["median_ms"]
    result["target_ratio"] = TARGET_RATIO
    result["ok"] = result["ratio"] <= TARGET_RATIO
    return result


def _cases(first: int, end: int) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((case_key(i), case_doc(i)) for i in range(first, end))


def report(result: dict[str, Any]) -> str:
    """The result as a table."""
    lines = [
        f"Case writes through TinyDBStore (atomic, fsync), {result['writes']} writes per size "
        f"(half update of a random case, half put of a new one), {result['doc_bytes']} B documents",
        f"{'stored cases':>12}  {'median ms':>9}  {'update ms':>9}  {'put ms':>7}  {'p95 ms':>7}"
        f"  {'fill s':>6}",
    ]
    for size, row in sorted(result["sizes"].items()):
        lines.append(
            f"{size:>12,}  {row['median_ms']:>9.2f}  {row['update_median_ms']:>9.2f}  "
            f"{row['put_median_ms']:>7.2f}  {row['p95_ms']:>7.2f}  {row['fill_s']:>6.1f}"
        )
    sizes = sorted(result["sizes"])
    verdict = "OK" if result["ok"] else "MISSED"
    lines.append(
        f"median ratio {sizes[-1]:,} / {sizes[0]:,} cases: {result['ratio']:.2f} "
        f"(target <= {result['target_ratio']:g}): {verdict}"
    )
    return "\n".join(lines)
