"""Loaded by a bot process a test starts with this directory on PYTHONPATH: its system clock starts at
TEST_CLOCK_START (an ISO date and time) and runs on from there, so that a served bot can be tested on a working day
at a time of the test's choosing (nudges go out on working days from 09:00). Nothing else is changed."""

import os
import sys
import time
from datetime import datetime, timedelta

START = os.environ.get("TEST_CLOCK_START")
if START:
    sys.path.insert(0, os.getcwd())
    from bot.dates import clock

    began, base = time.monotonic(), datetime.fromisoformat(START)
    clock.SystemClock.now = lambda self: base + timedelta(seconds=time.monotonic() - began)  # type: ignore[method-assign]
