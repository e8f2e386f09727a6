"""What encryption at rest costs a case write: the same update of a real case (opened through the core), through the
store as deployed (sealed: AES-256-GCM per field, the case's data key in hand) and through the bare backend, on the
embedded store and on PostgreSQL where one answers. Writes alternate between the two, so drift hits both alike.
Target: sealed at most 1.2x the bare write. Opening a new case also makes its data key (one more write to the key
store): reported, not targeted.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import postgres

CASES = 300
WRITES = 300
TARGET = 1.2


def _case(template: dict[str, Any], i: int) -> dict[str, Any]:
    case = json.loads(json.dumps(template))
    case["ref"] = f"ESC-2026-{i:06d}"
    return case


async def _pair(bare: Any, sealed: Any, template: dict[str, Any]) -> dict[str, float]:
    """Median update and create times (ms) through each store, interleaved."""
    times: dict[str, list[float]] = {"bare": [], "sealed": [], "bare_new": [], "sealed_new": []}
    for i in range(CASES):
        for name, store in (("bare", bare), ("sealed", sealed)):
            start = time.perf_counter()
            await store.create("cases", f"ESC-2026-{i:06d}", _case(template, i))
            times[f"{name}_new"].append((time.perf_counter() - start) * 1000)
    for j in range(WRITES + 20):
        ref = f"ESC-2026-{j % CASES:06d}"
        for name, store in (("bare", bare), ("sealed", sealed)) if j % 2 else (("sealed", sealed), ("bare", bare)):
            start = time.perf_counter()
            await store.update("cases", ref, lambda c, j=j: {**c, "stage_started_on": f"2026-12-{1 + j % 28:02d}",
                                                               "details": {**c["details"], "impact": f"note {j}"}})
            if j >= 20:
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


async def _embedded(template: dict[str, Any]) -> dict[str, float]:
    from storage import TinyDBStore
    from storage.keys import Keyring, new_key
    from storage.sealed import SealedStore

    with tempfile.TemporaryDirectory(prefix="bench-sealed-") as folder:
        root = Path(folder)
        async with TinyDBStore(root / "bare") as bare, SealedStore(
                TinyDBStore(root / "data"), TinyDBStore(root / "data-keys"),
                Keyring.from_text(new_key(), "bench")) as sealed:
            return await _pair(bare, sealed, template)


async def _database(template: dict[str, Any], url: str) -> dict[str, float]:
    from storage.keys import Keyring, new_key
    from storage.postgres_store import PostgresStore
    from storage.sealed import SealedStore

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    bare = PostgresStore(url, schema=f"{schema}_bare")
    sealed = SealedStore(PostgresStore(url, schema=schema), PostgresStore(url, schema=f"{schema}_keys"),
                         Keyring.from_text(new_key(), "bench"))
    async with bare, sealed:
        try:
            return await _pair(bare, sealed, template)
        finally:
            await bare.drop()
            await sealed.drop()


def run(url: str = postgres.URL) -> dict[str, Any]:
    template = asyncio.run(postgres._template())
    result: dict[str, Any] = {"embedded": asyncio.run(_embedded(template))}
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            pass
        result["postgres"] = asyncio.run(_database(template, url))
    except Exception as exc:
        result["postgres_skipped"] = f"no PostgreSQL at {url} ({type(exc).__name__})"
    result["ok"] = all(r["sealed"] / r["bare"] <= TARGET for k, r in result.items() if k in ("embedded", "postgres"))
    return result


def report(result: dict[str, Any]) -> str:
    lines = [f"Encryption at rest: a real case's update, sealed vs bare (median of {WRITES}, interleaved)"]
    for name in ("embedded", "postgres"):
        if name not in result:
            lines.append(f"  {name}: skipped ({result.get('postgres_skipped', '')})")
            continue
        r = result[name]
        ratio = r["sealed"] / r["bare"]
        lines.append(f"  {name:<9} update {r['bare']:6.2f} ms bare, {r['sealed']:6.2f} ms sealed: x{ratio:.2f} "
                     f"(target <= {TARGET:g}): {'OK' if ratio <= TARGET else 'MISSED'};  a new case {r['bare_new']:.2f}"
                     f" ms bare, {r['sealed_new']:.2f} ms sealed (its data key made and stored too)")
    return "\n".join(lines)
