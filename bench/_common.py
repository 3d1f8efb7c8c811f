"""Shared helpers for the benchmark scripts: where the reference samples are, and timing."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def reference_dir() -> Path:
    configured = os.environ.get("MEMO_REFERENCE_DIR")
    return Path(configured) if configured else ROOT.parent / "shared" / "memo"


def rate(func: Callable[[], object], *, min_seconds: float = 2.0, min_runs: int = 5) -> tuple[float, int]:
    """Calls per second of ``func`` over at least ``min_seconds`` (after one warm-up call)."""
    func()
    runs, start = 0, time.perf_counter()
    while True:
        func()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and runs >= min_runs:
            return runs / elapsed, runs


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])
