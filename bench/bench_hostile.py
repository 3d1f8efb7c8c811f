"""What each hostile input costs memo.xmlsafe.parse_tree: verdict, time and memory.

The cases are those of tests/memo/test_hostile.py, parsed in one fresh interpreter: for each,
the bytes are built, the peak RSS is reset, and the parse runs. "peak MB" is how far the
parse raised the process's peak RSS; "seconds" is the best of five parses. The tests assert
the verdicts and that no case costs 100 MB; this prints the figures. For scale, the last
lines time an honest message: the official v1.2 Full example (about 17 KB).

    python bench/bench_hostile.py
"""

from __future__ import annotations

import sys
import time

from _common import reference_dir, table

from memo.schema import validate_schema
from memo.xmlsafe import parse_tree
from tests.memo.test_hostile import CASES, measure


def _best_of(func: object, runs: int = 2000) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    results = measure(list(CASES), repeats=5)
    rows = []
    failures = []
    for name, case in CASES.items():
        result = results[name]
        growth = result["growth_mb"]
        rows.append(
            [
                name,
                f"{result['bytes'] / 1e6:,.1f}",
                str(result["code"]),
                f"{result['seconds']:.6f}",
                "n/a" if growth is None else f"{growth:.1f}",
            ]
        )
        if result["code"] != case.code:
            failures.append(f"{name}: expected {case.code}, got {result['code']}")
    print(table(rows, ["case", "input MB", "verdict", "seconds", "peak MB"]))

    sample = reference_dir() / "samples" / "v1.2" / "MeMo_Full_Example.xml"
    if sample.is_file():
        data = sample.read_bytes()
        root = parse_tree(data)
        parse_seconds = _best_of(lambda: parse_tree(data))
        schema_seconds = _best_of(lambda: validate_schema(root))
        print(
            f"\nfor scale, the official v1.2 Full example ({len(data):,} bytes): "
            f"parse_tree {parse_seconds * 1e6:.0f} µs, validate_schema {schema_seconds * 1e6:.0f} µs"
        )
    else:
        print(f"\n(the official v1.2 Full example is not at {sample}; no scale line)")
    for failure in failures:
        print(f"UNEXPECTED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
