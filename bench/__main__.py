"""Run every benchmark and print its table: `python -m bench [--check] [--only NAME]`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import once, postgres, replicas, sealed, slack, store

# name -> (run, report); later benchmarks (HTTP latency, ...) add an entry here.
BENCHMARKS: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
    "store": (store.run, store.report),
    "slack": (slack.run, slack.report),
    "once": (once.run, once.report),
    "postgres": (postgres.run, postgres.report),
    "replicas": (replicas.run, replicas.report),
    "sealed": (sealed.run, sealed.report),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="run only these")
    parser.add_argument("--check", action="store_true", help="exit 1 if a benchmark misses its target")
    args = parser.parse_args(argv)
    missed = []
    for name in args.only or list(BENCHMARKS):
        run, report = BENCHMARKS[name]
        start = time.perf_counter()
        result = run()
        print(f"== {name} ({time.perf_counter() - start:.0f} s)")
        print(report(result), flush=True)
        if not result.get("ok", True):
            missed.append(name)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
