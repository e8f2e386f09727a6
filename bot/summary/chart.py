"""The weekly summary's chart (PNG): open cases by stage, and new versus resolved per week over eight weeks."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any


def summary_png(figs: Mapping[str, Any]) -> bytes:
    """Render the chart; numbers only, like the summary text."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    try:
        stages = list(figs["open_by_stage"]) or ["1"]
        counts = [figs["open_by_stage"].get(s, 0) for s in stages]
        left.bar([f"Stage {s}" for s in stages], counts, color="#1d4f91")
        left.set_title(f"Open cases by stage, end of {figs['week']}")
        left.set_ylabel("cases")
        left.yaxis.get_major_locator().set_params(integer=True)
        weeks = [w["week"][5:] for w in figs["history"]]
        positions = range(len(weeks))
        right.bar([p - 0.2 for p in positions], [w["new"] for w in figs["history"]], width=0.4, label="new",
                  color="#1d4f91")
        right.bar([p + 0.2 for p in positions], [w["resolved"] for w in figs["history"]], width=0.4,
                  label="resolved", color="#6aa84f")
        right.set_xticks(list(positions), weeks)
        tallest = max([w["new"] for w in figs["history"]] + [w["resolved"] for w in figs["history"]] + [1])
        right.set_ylim(0, tallest * 1.3)
        right.set_title("New and resolved escalations per week")
        right.yaxis.get_major_locator().set_params(integer=True)
        right.legend()
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)
