"""MeMo parse + validate throughput, beside a plain lxml parse of the same bytes.

"parse + validate" is what the hub does with every incoming message: the safe parse, the XSD,
the NgDP rules and the typed model. Targets (issue 2): at least 1,000 v1.2 Full examples per
second on one core, and at most 5x the plain parse.
"""

from __future__ import annotations

import os
import sys

from _common import reference_dir, rate, table
from lxml import etree

from memo import model as m
from memo.reader import from_tree, parse
from memo.validation import validate
from memo.writer import serialize


def pipeline(data: bytes) -> m.Message:
    report = validate(data)
    if not report.ok:
        raise SystemExit(f"benchmark input is not valid: {report.errors[:3]}")
    return from_tree(report.root)


def five_megabyte_message(full: bytes) -> bytes:
    message = parse(full)
    payload = os.urandom(3_750_000)  # base64 makes this 5 MB of XML text
    message.body.additional_documents.append(
        m.AdditionalDocument(
            label="Bilag",
            files=[m.File.from_bytes(payload, filename="bilag.pdf", encoding_format="application/pdf")],
        )
    )
    return serialize(message)


def main() -> int:
    sample = reference_dir() / "samples" / "v1.2" / "MeMo_Full_Example.xml"
    if not sample.is_file():
        print(f"bench_memo: skipped, the official v1.2 Full example is not at {sample}")
        return 0
    full = sample.read_bytes()
    big = five_megabyte_message(full)
    plain_parser = etree.XMLParser(huge_tree=True)
    rows, verdicts = [], []
    for name, data, seconds in (("v1.2 Full example", full, 3.0), ("5 MB message", big, 3.0)):
        ours, _ = rate(lambda data=data: pipeline(data), min_seconds=seconds)
        plain, _ = rate(lambda data=data: etree.fromstring(data, plain_parser), min_seconds=seconds)
        ratio = plain / ours
        rows.append([name, f"{len(data) / 1e6:.3f} MB", f"{ours:,.0f}/s", f"{plain:,.0f}/s", f"{ratio:.2f}x"])
        verdicts.append((name, ours, ratio))
    print("MeMo parse + validate (safe parse, XSD, rules, typed model) vs plain lxml parse, one core")
    print(table(rows, ["message", "size", "parse+validate", "plain lxml", "ratio"]))
    full_rate, full_ratio = verdicts[0][1], verdicts[0][2]
    print(
        f"target: >= 1,000 Full/s -> {'met' if full_rate >= 1000 else 'NOT met'};"
        f" <= 5x plain parse -> Full {'met' if full_ratio <= 5 else 'NOT met'},"
        f" 5 MB {'met' if verdicts[1][2] <= 5 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
