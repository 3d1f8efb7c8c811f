"""Hostile bytes: each attack on the parser is refused with its own code, and cheaply.

Every case in :data:`CASES` is a document an attacker (or a broken sender) could post to the
hub, with the exact :class:`MemoParseError` code ``memo.xmlsafe.parse_tree`` must answer.
Memory is measured in a separate Python process (``measure``), so the test run's own heap
does not blur it: the hostile bytes are built first, then the peak RSS is reset and the
parse runs, and the growth of the peak is what the parse cost. ``bench/bench_hostile.py``
prints the same measurements with timings; timing is not asserted here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from memo.errors import MemoParseError
from memo.schema import validate_schema
from memo.xmlsafe import MAX_ASSIGNMENTS, MAX_MARKUP, MEMO_NS, parse_tree

REPO_ROOT = Path(__file__).resolve().parents[2]
MEGABYTE = 1024 * 1024
#: The most a hostile document may add to the process's peak memory.
MEMORY_LIMIT_MB = 100
#: The "code" of a case parse_tree accepts.
ACCEPTED = "accepted"

OPEN = f'<memo:Message xmlns:memo="{MEMO_NS}" memoVersion="1.2">'.encode()
CLOSE = b"</memo:Message>"

#: A small, schema-valid MeMo 1.2 message; the truncation cases cut it everywhere.
MESSAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<!-- a letter from the municipality -->\n" + OPEN + b"<memo:MessageHeader>"
    b"<memo:messageType>DIGITALPOST</memo:messageType>"
    b"<memo:messageUUID>0f8fad5b-d9cb-469f-a165-70867728950e</memo:messageUUID>"
    b"<memo:label>Din ans\xc3\xb8gning &amp; svar</memo:label>"
    b"<memo:Sender><memo:senderID>29189846</memo:senderID><memo:idType>CVR</memo:idType>"
    b"<memo:label>Kommunen</memo:label></memo:Sender>"
    b"<memo:Recipient><memo:recipientID>0101701234</memo:recipientID>"
    b"<memo:idType>CPR</memo:idType></memo:Recipient>"
    b"</memo:MessageHeader>"
    b"<memo:MessageBody><memo:createdDateTime>2025-09-10T08:00:00Z</memo:createdDateTime>"
    b"<memo:MainDocument><memo:File><memo:encodingFormat>application/pdf</memo:encodingFormat>"
    b"<memo:filename>brev.pdf</memo:filename><memo:language>da</memo:language>"
    b"<memo:content><![CDATA[VGhpcyBpcyBhIHRlc3Q=]]></memo:content></memo:File></memo:MainDocument>"
    b"</memo:MessageBody>" + CLOSE + b"\n"
)


def _doctype(subset: str, body: bytes = b"&x;") -> bytes:
    return f"<!DOCTYPE memo:Message [{subset}]>".encode() + OPEN + body + CLOSE


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY x0 "ha">'] + [f'<!ENTITY x{i} "{f"&x{i - 1};" * 10}">' for i in range(1, 10)]
    return _doctype("".join(entities), b"&x9;")


def _quadratic_blowup() -> bytes:
    return _doctype(f'<!ENTITY x "{"a" * 100_000}">', b"&x;" * 100_000)


def _deep(levels: int, padding: int = 0) -> bytes:
    pad = b"<memo:pad>" + b"A" * padding + b"</memo:pad>" if padding else b""
    return OPEN + pad + b"<a>" * levels + b"</a>" * levels + CLOSE


def _large_body(size: int) -> bytes:
    return OPEN + b"<memo:content>" + b"QUFB" * (size // 4) + b"</memo:content>" + CLOSE


def _with_attachment(size: int, *, cdata: bool = False) -> bytes:
    content = b"QUFB" * (size // 4)
    if not cdata:
        return MESSAGE.replace(b"<![CDATA[VGhpcyBpcyBhIHRlc3Q=]]>", content)
    return MESSAGE.replace(b"VGhpcyBpcyBhIHRlc3Q=", content)


def _truncated_large() -> bytes:
    # A 60 MB upload cut off halfway through its attachment, as a broken connection leaves it.
    whole = _with_attachment(60 * MEGABYTE)
    return whole[: len(whole) // 2]


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    build: Callable[[], bytes]
    #: Too big to build inside the test process; only the measuring subprocess runs it.
    big: bool = False


CASES: dict[str, Hostile] = {
    case.name: case
    for case in [
        Hostile(
            "xxe-file",
            "xml.doctype-forbidden",
            lambda: _doctype('<!ENTITY x SYSTEM "file:///etc/passwd">'),
        ),
        Hostile(
            "xxe-http",
            "xml.doctype-forbidden",
            lambda: _doctype('<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">'),
        ),
        Hostile(
            "xxe-parameter-entity",
            "xml.doctype-forbidden",
            lambda: _doctype('<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;', b""),
        ),
        Hostile(
            "xxe-external-dtd",
            "xml.doctype-forbidden",
            lambda: b'<!DOCTYPE memo:Message SYSTEM "file:///etc/passwd">' + OPEN + CLOSE,
        ),
        Hostile("billion-laughs", "xml.doctype-forbidden", _billion_laughs),
        Hostile("quadratic-blowup", "xml.doctype-forbidden", _quadratic_blowup),
        Hostile(
            "doctype-after-comment",
            "xml.doctype-forbidden",
            lambda: b"<!-- harmless -->\n" + _doctype('<!ENTITY x "y">'),
        ),
        Hostile(
            "doctype-after-bom-declaration-and-pi",
            "xml.doctype-forbidden",
            lambda: (
                b'\xef\xbb\xbf<?xml version="1.0"?>\n<?style x?>\n<!-- c -->' + _doctype('<!ENTITY x "y">')
            ),
        ),
        Hostile(
            "entity-reference-without-doctype",
            "xml.entity-forbidden",
            lambda: OPEN + b"&xxe;" + CLOSE,
        ),
        Hostile("nesting-10000-deep", "xml.too-deep", lambda: _deep(10_000)),
        Hostile(
            "nesting-10000-deep-in-a-10-mb-document",
            "xml.too-deep",
            lambda: _deep(10_000, padding=10 * MEGABYTE),
        ),
        Hostile("body-200-mb", "xml.too-large", lambda: _large_body(200 * MEGABYTE), big=True),
        Hostile(
            "elements-8-mb-of-empty-tags",
            "xml.too-many-nodes",
            lambda: OPEN + b"<a/>" * (2 * MEGABYTE) + CLOSE,
        ),
        Hostile(
            "attributes-8-mb-on-one-element",
            "xml.too-many-nodes",
            lambda: OPEN[:-1] + b"".join(b' a%d=""' % i for i in range(800_000)) + b"/>",
        ),
        Hostile(
            "comments-8-mb",
            "xml.too-many-nodes",
            lambda: OPEN + b"<!---->" * (8 * MEGABYTE // 7) + CLOSE,
        ),
        Hostile(
            "namespace-declarations-8-mb",
            "xml.too-many-nodes",
            lambda: OPEN + b"".join(b'<a xmlns:p%d="u"/>' % i for i in range(400_000)) + CLOSE,
        ),
        Hostile("truncated-message", "xml.truncated", lambda: MESSAGE[: len(MESSAGE) // 2]),
        Hostile("truncated-60-mb-upload", "xml.truncated", _truncated_large, big=True),
        # Honest messages for scale: what accepting a large attachment costs. (In a CDATA
        # section libxml2 needs about three times the text, against once for plain text.)
        Hostile(
            "honest-40-mb-attachment",
            ACCEPTED,
            lambda: _with_attachment(40 * MEGABYTE),
            big=True,
        ),
        Hostile(
            "honest-20-mb-attachment-in-cdata",
            ACCEPTED,
            lambda: _with_attachment(20 * MEGABYTE, cdata=True),
            big=True,
        ),
        Hostile(
            "utf-16-with-bom",
            "xml.encoding-unsupported",
            lambda: MESSAGE.decode().replace("UTF-8", "UTF-16").encode("utf-16"),
        ),
        Hostile(
            "utf-16-big-endian-without-bom",
            "xml.encoding-unsupported",
            lambda: MESSAGE.decode().replace("UTF-8", "UTF-16").encode("utf-16-be"),
        ),
        Hostile(
            "utf-16-without-declaration-or-bom",
            "xml.encoding-unsupported",
            lambda: (OPEN + CLOSE).decode().encode("utf-16-le"),
        ),
        Hostile(
            "utf-32",
            "xml.encoding-unsupported",
            lambda: MESSAGE.decode().replace("UTF-8", "UTF-32").encode("utf-32"),
        ),
        Hostile(
            "latin-1-declared",
            "xml.encoding-unsupported",
            lambda: MESSAGE.replace(b"UTF-8", b"ISO-8859-1").replace(b"\xc3\xb8", b"\xf8"),
        ),
        Hostile(
            "latin-1-bytes-undeclared",
            "xml.encoding-invalid",
            lambda: MESSAGE.replace(b"\xc3\xb8", b"\xf8"),
        ),
        Hostile(
            "invalid-utf-8-in-attribute",
            "xml.encoding-invalid",
            lambda: OPEN[:-1] + b' x="\xff\xfe"/>',
        ),
        Hostile(
            "overlong-utf-8",
            "xml.encoding-invalid",
            lambda: MESSAGE.replace(b"&amp;", b"\xc0\xa6"),
        ),
        Hostile(
            "utf-8-encoded-surrogate",
            "xml.encoding-invalid",
            lambda: MESSAGE.replace(b"&amp;", b"\xed\xa0\x80"),
        ),
        Hostile("empty", "xml.empty", lambda: b""),
        Hostile("white-space-only", "xml.empty", lambda: b" \r\n\t "),
        Hostile("byte-order-mark-only", "xml.empty", lambda: b"\xef\xbb\xbf"),
        Hostile("not-memo-root", "xml.not-memo", lambda: b"<html><body>hello</body></html>"),
        Hostile(
            "memo-namespace-wrong-root",
            "xml.not-memo",
            lambda: f'<memo:MessageHeader xmlns:memo="{MEMO_NS}"/>'.encode(),
        ),
        Hostile(
            "message-in-wrong-namespace",
            "xml.not-memo",
            lambda: b'<Message xmlns="https://DigitalPost.dk/MeMo-2" memoVersion="1.2"/>',
        ),
        Hostile(
            "mismatched-tags",
            "xml.malformed",
            lambda: MESSAGE.replace(b"</memo:MessageBody>", b"</memo:MessageHeader>"),
        ),
        Hostile(
            "nul-character",
            "xml.malformed",
            lambda: MESSAGE.replace(b"&amp;", b"&#0;"),
        ),
    ]
}


# ---------------------------------------------------------------------------------------------
# Measuring in a clean process

_CHILD = """
import gc, json, sys, time
from tests.memo.test_hostile import CASES
from memo.errors import MemoParseError
from memo.xmlsafe import parse_tree

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return None

def reset_peak():
    # Writing 5 resets VmHWM to the current RSS (Linux >= 4.0), so building the case's
    # bytes does not count towards the parse's peak.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

repeats = int(sys.argv[1])
results = {}
for name in sys.argv[2:]:
    data = CASES[name].build()
    gc.collect()
    resettable = reset_peak()
    base = status("VmRSS:")
    start = time.perf_counter()
    try:
        parse_tree(data)
        code = "accepted"
    except MemoParseError as exc:
        code = exc.code
    seconds = time.perf_counter() - start
    peak = status("VmHWM:")
    growth = peak - base if resettable and peak is not None and base is not None else None
    for _ in range(repeats - 1):  # more timings, for the benchmark; memory is from the first
        start = time.perf_counter()
        try:
            parse_tree(data)
        except MemoParseError:
            pass
        seconds = min(seconds, time.perf_counter() - start)
    results[name] = {"code": code, "seconds": seconds, "growth_mb": growth, "bytes": len(data)}
    del data
    gc.collect()
print(json.dumps(results))
"""


def measure(names: list[str], *, repeats: int = 1) -> dict[str, dict[str, object]]:
    """Parse each named case in one fresh interpreter: its code, seconds and peak RSS growth.

    The growth is that of the first parse; ``seconds`` is the best of ``repeats`` parses.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(repeats), *names],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"hostile-case subprocess failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, object]]:
    if not Path("/proc/self/status").exists():
        pytest.skip("memory is measured from /proc/self/status (Linux only)")
    return measure(list(CASES))


SMALL = [case for case in CASES.values() if not case.big]


# ---------------------------------------------------------------------------------------------
# Verdicts


@pytest.mark.parametrize("case", SMALL, ids=lambda case: case.name)
def test_it_refuses_each_hostile_input_with_its_specific_code(case: Hostile) -> None:
    with pytest.raises(MemoParseError) as refused:
        parse_tree(case.build())
    assert refused.value.code == case.code
    assert refused.value.error.level == "xml"


@pytest.mark.parametrize("case", list(CASES.values()), ids=lambda case: case.name)
def test_a_hostile_input_costs_less_than_100_mb_of_memory(
    case: Hostile, measured: dict[str, dict[str, object]]
) -> None:
    result = measured[case.name]
    assert result["code"] == case.code
    if result["growth_mb"] is None:
        pytest.skip("this kernel does not let a process reset its peak RSS (/proc/self/clear_refs)")
    assert result["growth_mb"] < MEMORY_LIMIT_MB, result


def test_it_refuses_external_entities_without_reading_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    for data in (
        _doctype(f'<!ENTITY x SYSTEM "{secret.as_uri()}">'),
        b"<!-- first a comment -->" + _doctype(f'<!ENTITY x SYSTEM "{secret.as_uri()}">'),
    ):
        with pytest.raises(MemoParseError) as refused:
            parse_tree(data)
        assert refused.value.code == "xml.doctype-forbidden"
        assert "TOP-SECRET" not in str(refused.value)


def test_it_never_connects_to_the_network() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with pytest.raises(MemoParseError):
            parse_tree(_doctype(f'<!ENTITY x SYSTEM "{url}/entity">'))
        with pytest.raises(MemoParseError):
            parse_tree(_doctype(f'<!ENTITY % p SYSTEM "{url}/dtd"> %p;', b""))
        # Schema-location hints in the document are never followed either.
        root = parse_tree(
            MESSAGE.replace(
                b'memoVersion="1.2"',
                b'memoVersion="1.2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                + f'xsi:schemaLocation="{MEMO_NS} {url}/memo.xsd" '.encode()
                + f'xsi:noNamespaceSchemaLocation="{url}/x.xsd"'.encode(),
            )
        )
        assert validate_schema(root) == []
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_a_schema_location_hint_cannot_swap_in_a_permissive_schema(tmp_path: Path) -> None:
    permissive = tmp_path / "anything.xsd"
    permissive.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'targetNamespace="{MEMO_NS}"><xs:element name="Message"><xs:complexType>'
        '<xs:sequence><xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>'
        '</xs:sequence><xs:anyAttribute processContents="skip"/></xs:complexType></xs:element>'
        "</xs:schema>"
    )
    data = (
        f'<memo:Message xmlns:memo="{MEMO_NS}" memoVersion="1.2" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{MEMO_NS} {permissive.as_uri()}"><memo:junk/></memo:Message>'
    ).encode()
    errors = validate_schema(parse_tree(data))
    assert [(e.path, e.code) for e in errors] == [("/Message/junk", "schema.unexpected-element")]


def test_xinclude_is_left_as_an_element_and_refused_by_the_schema() -> None:
    data = MESSAGE.replace(
        b"<memo:MessageBody>",
        b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
        b'parse="text"/><memo:MessageBody>',
    )
    root = parse_tree(data)
    assert b"root:" not in etree.tostring(root)
    errors = validate_schema(root)
    assert [(e.path, e.code) for e in errors] == [("/Message/include", "schema.unexpected-element")]
    assert errors[0].message == (
        "include (in namespace http://www.w3.org/2001/XInclude) is not allowed here; expected MessageBody."
    )


def test_the_message_used_for_cutting_is_valid_when_whole() -> None:
    assert validate_schema(parse_tree(MESSAGE)) == []


def test_every_cut_of_a_message_is_reported_as_truncated() -> None:
    codes: dict[str, list[int]] = {}
    for end in range(1, len(MESSAGE.rstrip())):
        try:
            parse_tree(MESSAGE[:end])
            code = "accepted"
        except MemoParseError as exc:
            code = exc.code
        codes.setdefault(code, []).append(end)
    assert list(codes) == ["xml.truncated"], {c: ends[:5] for c, ends in codes.items()}


def test_markup_limits_leave_room_for_any_real_message() -> None:
    # The official full example has 260 elements and 4 attributes; a message with ten
    # attachments, each with actions, stays in the low thousands.
    assert 10 * MESSAGE.count(b"<") * 100 <= MAX_MARKUP
    assert MAX_ASSIGNMENTS >= 10_000
    many = OPEN + b"<a/>" * (MAX_MARKUP - 10) + CLOSE
    assert parse_tree(many).tag == f"{{{MEMO_NS}}}Message"
    with pytest.raises(MemoParseError) as refused:
        parse_tree(OPEN + b"<a/>" * MAX_MARKUP + CLOSE)
    assert refused.value.code == "xml.too-many-nodes"


def test_a_large_base64_attachment_is_still_accepted() -> None:
    # The hostile-size checks must not refuse a big but honest message (here 12 MB, beyond
    # libxml2's default 10 MB text-node limit).
    data = _with_attachment(12 * MEGABYTE)
    root = parse_tree(data)
    assert validate_schema(root) == []


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (MESSAGE.replace(b"&amp;", b"&amp"), "xml.entity-forbidden"),
        (MESSAGE.replace(b"&amp;", b"& "), "xml.entity-forbidden"),
        (MESSAGE.replace(b"<memo:label>", b"<x:label>", 1), "xml.malformed"),
        (MESSAGE.replace(b"</memo:Message>", b"</memo:Message><more/>"), "xml.malformed"),
        (MESSAGE.replace(b"</memo:Message>", b"</memo:Messag>"), "xml.malformed"),
        (MESSAGE.replace(b"<memo:label>", b"<memo:label a='1' a='2'>"), "xml.malformed"),
    ],
    ids=[
        "entity-without-semicolon",
        "bare-ampersand",
        "undeclared-prefix",
        "content-after-the-root",
        "misspelt-last-end-tag",
        "repeated-attribute",
    ],
)
def test_a_complete_but_broken_document_is_not_called_truncated(data: bytes, code: str) -> None:
    with pytest.raises(MemoParseError) as refused:
        parse_tree(data)
    assert refused.value.code == code
