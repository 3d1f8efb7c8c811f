"""Our MeMo schemas must give the official XSDs' verdict on every document.

Starting from each official sample, we derive about 9,500 broken and not-so-broken
messages, deterministically: every element kind removed, duplicated, moved and swapped;
every text field emptied, padded and grown to each side of its length limit; UUIDs, dates,
times, booleans, numbers, languages, URIs, base64 and enumerations replaced by near misses;
namespaces changed or dropped; attributes removed, added and mangled; occurrence limits
probed; the version-specific parts of 1.1 and 1.2 swapped. For each, our schema
(``memo.schema.validate_schema``) and the official XSD (lxml on the reference copy in
``../shared/memo/xsd``) must agree on valid vs invalid.

Known, deliberate difference, not generated here (see test_schema): ``xsi:type`` naming one
of the official schema's simple types (``dt:memoTextType`` ...) is valid officially and
unknown to us, because our types have our own names. No sender has a reason to write it.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from memo.schema import validate_schema
from tests.memo.conftest import reference_dir, sample_paths

MEMO = "https://DigitalPost.dk/MeMo-1"
GRD = "https://data.gov.dk/model/core/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"

SEED = 20250910
#: Lengths probed on every text field: both sides of each maxLength MeMo uses.
LENGTHS = (0, 1, 2, 3, 6, 7, 8, 159, 160, 161, 255, 256, 257, 511, 512, 513)
#: The limits that differ from the usual 256, by element local name.
SPECIAL_LIMITS = {"notification": 160, "comment": 512, "language": 2, "licenseNumber": 7}

UUID_FIELDS = {"messageUUID", "replyUUID", "reservationUUID"}
TIMESTAMP_FIELDS = {
    "replyByDateTime",
    "createdDateTime",
    "startDateTime",
    "endDateTime",
    "originalMessageDateTime",
}
BOOLEAN_FIELDS = {"reply", "mandatory", "legalNotification"}
STRUCTURAL = frozenset({"schema.missing-element", "schema.unexpected-element"})

GOOD_UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
VALUE_PROBES: dict[str, tuple[str, ...]] = {
    "uuid": (
        GOOD_UUID,
        GOOD_UUID.upper(),
        "00000000-0000-4000-8000-000000000000",
        "0f8fad5b-d9cb-469f-b165-70867728950e",
        "0f8fad5b-d9cb-469f-A165-70867728950e",
        "0f8fad5b-d9cb-169f-a165-70867728950e",
        "0f8fad5b-d9cb-569f-a165-70867728950e",
        "0f8fad5b-d9cb-469f-c165-70867728950e",
        "0f8fad5b-d9cb-469f-7165-70867728950e",
        "0f8fad5bd9cb469fa16570867728950e",
        "{0f8fad5b-d9cb-469f-a165-70867728950e}",
        "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
        " 0f8fad5b-d9cb-469f-a165-70867728950e",
        "0f8fad5b-d9cb-469f-a165-70867728950",
        "0f8fad5b-d9cb-469f-a165-70867728950e0",
        "0f8fad5g-d9cb-469f-a165-70867728950e",
        "",
    ),
    "timestamp": (
        "2018-05-03T12:00:00Z",
        "2018-05-03T12:00:00.123Z",
        " 2018-05-03T12:00:00Z ",
        "2018-05-03T24:00:00Z",
        "2024-02-29T23:59:59Z",
        "-0001-01-01T00:00:00Z",
        "12018-05-03T12:00:00Z",
        "2018-05-03T12:00:00",
        "2018-05-03T12:00:00+00:00",
        "2018-05-03T12:00:00+01:00",
        "2018-05-03T12:00:00z",
        "2018-05-03t12:00:00Z",
        "2018-05-03 12:00:00Z",
        "2018-05-03T12:00Z",
        "2018-05-03Z",
        "2018-02-30T12:00:00Z",
        "2018-13-03T12:00:00Z",
        "2018-05-03T12:60:00Z",
        "0000-05-03T12:00:00Z",
        "Z",
        "",
    ),
    "date": (
        "2025-09-15",
        "2024-02-29",
        "2025-09-15Z",
        "2025-09-15+02:00",
        " 2025-09-15 ",
        "2025-02-29",
        "2025-9-15",
        "15-09-2025",
        "2025-09-15T00:00:00Z",
        "20250915",
        "",
    ),
    "boolean": ("true", "false", "1", "0", " true ", "TRUE", "True", "yes", "2", "-1", " ", ""),
    "messageType": (
        "DIGITALPOST",
        "NEMSMS",
        "nemsms",
        "DIGITALPOST ",
        " NEMSMS",
        "DIGITAL POST",
        "EBOKS",
        "",
    ),
    "language": ("da", "en", "d", "DA", " da ", "dan", "d1", "da-", "-d", "1a", "", "æø"),
    "content": (
        "",
        "YQ==",
        "YWI=",
        "YWJj",
        "YQ",
        "YQ=",
        "Y Q = =",
        "YQ==\nYQ==",
        "!!!",
        "====",
        "YQ==YQ==",
        "VGhpcyBpcyBhIHRlc3Q",
    ),
    "url": (
        "https://www.example.dk",
        "relative/path?x=1",
        "https://example.dk/" + "a" * 237,
        "https://example.dk/" + "a" * 238,
        "http://a b",
        "https://example.dk/%zz",
        "http://[::1",
        " https://example.dk ",
        "",
        "ftp://example.dk",
    ),
    "globalLocationNumber": (
        "5798000012345",
        "9999999999999",
        "10000000000000",
        "0",
        "-1",
        "+5",
        " 12 ",
        "1.0",
        "1e3",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "",
    ),
    "productionUnitNumber": (
        "1234567890",
        "9999999999",
        "10000000000",
        "-9223372036854775808",
        "-9223372036854775809",
        "007",
        "x",
        "",
    ),
}

VERSION_VALUES = ("1.1", "1.2", "2", "0.1", "1.10", " 1.2 ", "+1.1", "abc", "", "1e1", "1,2")


@dataclass(frozen=True)
class Mutation:
    id: str
    version: str
    data: bytes
    #: If the official schema refuses the document, our report must include one of these codes.
    expect: frozenset[str] = field(default_factory=frozenset)


# ---------------------------------------------------------------------------------------------
# Generation


def _version_of(sample: Path) -> str:
    return "1.1" if "1.1" in sample.parent.name else "1.2"


def _kind(element: etree._Element) -> str:
    """An element's path without positions: the same 'kind' recurs in several places."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        steps.append(etree.QName(node).localname)
        node = node.getparent()
    return ".".join(reversed(steps[:-1])) or steps[-1]


def _probe_kind(local: str) -> str | None:
    """Which near-miss values suit a field, by what the standard types it as."""
    if local in UUID_FIELDS:
        return "uuid"
    if local in TIMESTAMP_FIELDS:
        return "timestamp"
    if local == "doNotDeliverUntilDate":
        return "date"
    if local in BOOLEAN_FIELDS:
        return "boolean"
    return local if local in VALUE_PROBES else None


class _Generator:
    def __init__(self, sample: Path) -> None:
        self.version = _version_of(sample)
        self.tag = f"{self.version}-{sample.stem.removeprefix('MeMo_').removesuffix('_Example')}"
        self.source = sample.read_bytes()
        self.root = etree.fromstring(self.source, etree.XMLParser(remove_comments=True))
        self.elements = list(self.root.iter(etree.Element))
        kinds: dict[str, etree._Element] = {}
        for element in self.elements[1:]:
            kinds.setdefault(_kind(element), element)
        self.kinds = kinds
        self.out: list[Mutation] = []

    # A mutation edits a fresh copy; the element it targets is found by document position.
    def mutate(
        self,
        name: str,
        target: etree._Element | None,
        edit: Callable[[etree._Element, etree._Element], etree._Element | None],
        expect: frozenset[str] = frozenset(),
        *,
        declare_xs: bool = False,
    ) -> None:
        root = copy.deepcopy(self.root)
        node = root
        if target is not None:
            node = list(root.iter(etree.Element))[self.elements.index(target)]
        replaced = edit(root, node)
        new_root = root if replaced is None else replaced
        data = etree.tostring(new_root)
        if declare_xs:
            # An xsi:type value is a QName: its prefix must be bound, which lxml cannot add
            # to an existing element, so the declaration goes into the serialised root tag.
            data = re.sub(rb"^(<[^\s/>]+)", rb'\1 xmlns:xs="' + XS.encode() + b'"', data, count=1)
        self.out.append(Mutation(f"{self.tag}:{name}", self.version, data, expect))

    def raw(self, name: str, data: bytes) -> None:
        self.out.append(Mutation(f"{self.tag}:{name}", self.version, data))

    def generate(self, rng: random.Random) -> list[Mutation]:
        for kind, element in self.kinds.items():
            self.structural(kind, element)
            if len(element) == 0:
                self.values(kind, element, rng)
        self.namespaces(rng)
        self.attributes(rng)
        self.occurrences()
        self.version_specific()
        self.roots()
        self.serialisations()
        return self.out

    def structural(self, kind: str, element: etree._Element) -> None:
        def remove(_: etree._Element, node: etree._Element) -> None:
            node.getparent().remove(node)

        def duplicate(_: etree._Element, node: etree._Element) -> None:
            node.addnext(copy.deepcopy(node))

        def to_front(_: etree._Element, node: etree._Element) -> None:
            node.getparent().insert(0, node)

        def swap_next(_: etree._Element, node: etree._Element) -> None:
            following = node.getnext()
            while following is not None and not isinstance(following.tag, str):
                following = following.getnext()
            if following is not None:
                following.addnext(node)

        def stray_child(_: etree._Element, node: etree._Element) -> None:
            node.append(etree.Element(f"{{{MEMO}}}unknownElement"))

        def stray_content(_: etree._Element, node: etree._Element) -> None:
            # Text where only elements belong, or an element where only text belongs.
            if len(node):
                node[-1].tail = "stray text"
            else:
                node.append(etree.Element(f"{{{MEMO}}}label"))

        def comments_and_white_space(_: etree._Element, node: etree._Element) -> None:
            node.insert(0, etree.Comment(" note "))
            node.append(etree.ProcessingInstruction("memo-test", "x"))
            if len(node):
                node[0].tail = "\n   \t"

        def empty(_: etree._Element, node: etree._Element) -> None:
            for child in list(node):
                node.remove(child)
            node.text = None

        self.mutate(f"remove:{kind}", element, remove, STRUCTURAL)
        self.mutate(f"emptied:{kind}", element, empty)
        self.mutate(f"duplicate:{kind}", element, duplicate, STRUCTURAL)
        if element.getprevious() is not None:
            self.mutate(f"to-front:{kind}", element, to_front, STRUCTURAL)
        if element.getnext() is not None:
            self.mutate(f"swap-next:{kind}", element, swap_next, STRUCTURAL)
        self.mutate(
            f"stray-child:{kind}",
            element,
            stray_child,
            STRUCTURAL | {"schema.unexpected-element"},
        )
        self.mutate(
            f"stray-content:{kind}",
            element,
            stray_content,
            frozenset({"schema.unexpected-text", "schema.unexpected-element"}),
        )
        self.mutate(f"comments-and-white-space:{kind}", element, comments_and_white_space)

    def values(self, kind: str, element: etree._Element, rng: random.Random) -> None:
        local = etree.QName(element).localname

        def set_text(text: str) -> Callable[[etree._Element, etree._Element], None]:
            def edit(_: etree._Element, node: etree._Element) -> None:
                node.text = text

            return edit

        probe_kind = _probe_kind(local)
        if probe_kind is not None:
            expect = {
                "uuid": frozenset({"schema.pattern-mismatch"}),
                "messageType": frozenset({"schema.not-in-enumeration"}),
            }.get(probe_kind, frozenset())
            for index, text in enumerate(VALUE_PROBES[probe_kind]):
                self.mutate(f"value:{kind}:{index}:{text[:24]!r}", element, set_text(text), expect)
            return
        # A text field: probe its length on both sides of the limit (and some others), with
        # one- and two-byte characters, since limits count characters, not bytes.
        limit = SPECIAL_LIMITS.get(local, 256)
        lengths = {limit - 1, limit, limit + 1, *rng.sample(LENGTHS, 3)}
        for length in sorted(lengths):
            letter = rng.choice("xø")
            expect = frozenset({"schema.too-long"}) if length > limit else frozenset()
            self.mutate(f"length:{kind}:{length}{letter}", element, set_text(letter * length), expect)
        self.mutate(f"padded:{kind}", element, set_text(f"  {element.text or ''}\n"))
        self.mutate(f"markup-in-text:{kind}", element, set_text('<b>&amp;</b> "quoted"'))

    def namespaces(self, rng: random.Random) -> None:
        kinds = list(self.kinds.items())
        for kind, element in rng.sample(kinds, min(len(kinds), 40)):
            local = etree.QName(element).localname
            home = etree.QName(element).namespace
            for label, ns in (("none", None), ("memo", MEMO), ("grd", GRD), ("other", "urn:x")):
                if ns == home:
                    continue

                def move(
                    _: etree._Element, node: etree._Element, ns: str | None = ns, local: str = local
                ) -> None:
                    node.tag = f"{{{ns}}}{local}" if ns else local

                self.mutate(f"namespace-{label}:{kind}", element, move, STRUCTURAL)

        def root_namespace(ns: str | None) -> Callable[[etree._Element, etree._Element], None]:
            def edit(root: etree._Element, _: etree._Element) -> None:
                root.tag = f"{{{ns}}}Message" if ns else "Message"

            return edit

        for ns in (None, "https://DigitalPost.dk/MeMo-2", "https://digitalpost.dk/MeMo-1", GRD):
            self.mutate(
                f"root-namespace:{ns}",
                None,
                root_namespace(ns),
                frozenset({"schema.unknown-root"}),
            )

    def attributes(self, rng: random.Random) -> None:
        def set_attr(name: str, value: str | None) -> Callable[[etree._Element, etree._Element], None]:
            def edit(root: etree._Element, _: etree._Element) -> None:
                if value is None:
                    root.attrib.pop(name, None)
                else:
                    root.set(name, value)

            return edit

        for value in VERSION_VALUES:
            self.mutate(f"memoVersion={value!r}", None, set_attr("memoVersion", value))
        self.mutate(
            "memoVersion-removed",
            None,
            set_attr("memoVersion", None),
            frozenset({"schema.missing-attribute"}),
        )
        for value in ("1.1.0", "1.2.0", "", "x" * 256, "x" * 257):
            self.mutate(f"memoSchVersion={value[:10]!r}{len(value)}", None, set_attr("memoSchVersion", value))
        self.mutate("memoSchVersion-removed", None, set_attr("memoSchVersion", None))
        foreign = (
            ("foo", "x"),
            ("{urn:x}foo", "x"),
            ("{http://www.w3.org/XML/1998/namespace}lang", "da"),
            (f"{{{XSI}}}nil", "true"),
            (f"{{{XSI}}}nil", "false"),
            (f"{{{XSI}}}schemaLocation", f"{MEMO} file:///nonexistent.xsd"),
            (f"{{{XSI}}}noNamespaceSchemaLocation", "http://invalid.example/x.xsd"),
            (f"{{{XSI}}}bogus", "1"),
            (f"{{{XSI}}}type", "xs:boolean"),
            (f"{{{XSI}}}type", "xs:string"),
            (f"{{{XSI}}}type", "xs:anyType"),
            (f"{{{XSI}}}type", "nope:nothing"),
        )
        targets: list[tuple[str, etree._Element | None]] = [("root", None)]
        targets += rng.sample(list(self.kinds.items()), 12)
        targets += [(k, e) for k, e in self.kinds.items() if k.endswith(("reply", "label"))][:3]
        for kind, element in targets:
            for name, value in foreign:
                expect = (
                    frozenset({"schema.unexpected-attribute"})
                    if name in ("foo", "{urn:x}foo")
                    else frozenset()
                )

                def edit(_: etree._Element, node: etree._Element, name=name, value=value) -> None:
                    node.set(name, value)

                self.mutate(
                    f"attribute:{kind}:{name.rsplit('}', 1)[-1]}={value[:16]!r}",
                    element,
                    edit,
                    expect,
                    declare_xs=value.startswith("xs:"),
                )

    def occurrences(self) -> None:
        """Repeat elements up to and past the bounds the standard sets."""
        for kind, element in self.kinds.items():
            local = etree.QName(element).localname
            counts = {
                "ContactInfo": (2, 3),
                "AdditionalContentData": (10, 11),
                "AdditionalReplyData": (4, 5),
                "File": (1, 5),
                "Action": (0, 4),
                "AdditionalDocument": (0, 6),
                "TechnicalDocument": (0, 3),
                "ReplyData": (0, 7),
                "MainDocument": (2,),
            }.get(local, (3,) if len(element) else ())
            for count in counts:

                def repeat(_: etree._Element, node: etree._Element, count: int = count) -> None:
                    parent = node.getparent()
                    same = [c for c in parent if c.tag == node.tag]
                    for extra in same[1:]:
                        parent.remove(extra)
                    for _ in range(count - 1):
                        node.addnext(copy.deepcopy(node))
                    if count == 0:
                        parent.remove(node)

                self.mutate(f"count:{kind}={count}", element, repeat, STRUCTURAL)

        actions = [e for k, e in self.kinds.items() if k.endswith("Action")]
        for action in actions[:1]:

            def both_targets(_: etree._Element, node: etree._Element) -> None:
                node.append(
                    etree.fromstring(
                        f"<m:EntryPoint xmlns:m='{MEMO}'><m:url>https://a.dk</m:url></m:EntryPoint>"
                    )
                )
                node.append(
                    etree.fromstring(
                        f"<m:Reservation xmlns:m='{MEMO}'><m:description>d</m:description>"
                        f"<m:reservationUUID>{GOOD_UUID}</m:reservationUUID><m:abstract>a</m:abstract>"
                        "<m:location>l</m:location><m:startDateTime>2020-01-01T10:00:00Z</m:startDateTime>"
                        "<m:endDateTime>2020-01-01T11:00:00Z</m:endDateTime></m:Reservation>"
                    )
                )

            def bare(_: etree._Element, node: etree._Element) -> None:
                for child in list(node)[2:]:
                    node.remove(child)

            def end_only(_: etree._Element, node: etree._Element) -> None:
                for child in list(node)[2:]:
                    node.remove(child)
                end = etree.SubElement(node, f"{{{MEMO}}}endDateTime")
                end.text = "2020-01-01T11:00:00Z"
                etree.SubElement(node, f"{{{MEMO}}}EntryPoint").append(etree.Element(f"{{{MEMO}}}url"))

            self.mutate("action:entry-point-and-reservation", action, both_targets, STRUCTURAL)
            self.mutate("action:label-and-code-only", action, bare)
            self.mutate("action:end-without-start", action, end_only)

    def version_specific(self) -> None:
        sender = self.kinds.get("MessageHeader.Sender")
        if sender is not None:

            def representative(_: etree._Element, node: etree._Element) -> None:
                node.append(
                    etree.fromstring(
                        f"<m:Representative xmlns:m='{MEMO}'><m:label>Agent</m:label></m:Representative>"
                    )
                )

            def empty_representative(_: etree._Element, node: etree._Element) -> None:
                node.append(etree.Element(f"{{{MEMO}}}Representative"))

            def representative_first(_: etree._Element, node: etree._Element) -> None:
                node.insert(0, etree.Element(f"{{{MEMO}}}Representative"))

            self.mutate("add-representative", sender, representative, STRUCTURAL)
            self.mutate("add-empty-representative", sender, empty_representative, STRUCTURAL)
            self.mutate("representative-first", sender, representative_first, STRUCTURAL)
        header = self.kinds.get("MessageHeader")
        if header is not None:

            def forward(_: etree._Element, node: etree._Element) -> None:
                for old in node.findall(f"{{{MEMO}}}ForwardData"):
                    node.remove(old)
                data = etree.fromstring(
                    f"<m:ForwardData xmlns:m='{MEMO}'><m:messageUUID>{GOOD_UUID}</m:messageUUID>"
                    "<m:originalMessageDateTime>2021-03-15T12:00:00Z</m:originalMessageDateTime>"
                    "<m:originalSender>K</m:originalSender>"
                    "<m:originalRepresentative>R</m:originalRepresentative></m:ForwardData>"
                )
                anchor = node.find(f"{{{MEMO}}}ContentData")
                if anchor is None:
                    anchor = node.find(f"{{{MEMO}}}Recipient")
                anchor.addnext(data)

            def drop_flags(_: etree._Element, node: etree._Element) -> None:
                for name in ("mandatory", "legalNotification"):
                    for old in node.findall(f"{{{MEMO}}}{name}"):
                        node.remove(old)

            def empty_flags(_: etree._Element, node: etree._Element) -> None:
                drop_flags(_, node)
                anchor = node.find(f"{{{MEMO}}}Sender").getprevious()
                while anchor is not None and etree.QName(anchor).localname == "postType":
                    anchor = anchor.getprevious()
                flags = [etree.Element(f"{{{MEMO}}}{n}") for n in ("mandatory", "legalNotification")]
                anchor.addnext(flags[0])
                flags[0].addnext(flags[1])

            self.mutate("add-original-representative", header, forward, STRUCTURAL)
            self.mutate("drop-mandatory-and-legal", header, drop_flags, STRUCTURAL)
            self.mutate("empty-mandatory-and-legal", header, empty_flags, STRUCTURAL)

    def roots(self) -> None:
        """A lone fragment as the whole document: the standard accepts its global elements."""
        seen: set[str] = set()
        for element in self.elements[1:]:
            if element.tag in seen:
                continue
            seen.add(element.tag)

            def promote(_: etree._Element, node: etree._Element) -> etree._Element:
                return copy.deepcopy(node)

            self.mutate(f"as-root:{etree.QName(element).localname}", element, promote)

    def serialisations(self) -> None:
        """The same message written differently: prefixes, default namespace, entities."""
        body = re.sub(rb"^\xef\xbb\xbf|<\?xml[^>]*\?>|<!--.*?-->", b"", self.source, flags=re.S)
        self.raw("default-namespace", body.replace(b"xmlns:memo=", b"xmlns=").replace(b"memo:", b""))
        self.raw("other-prefix", body.replace(b"xmlns:memo=", b"xmlns:m=").replace(b"memo:", b"m:"))
        self.raw(
            "cdata-text",
            body.replace(b"<memo:label>", b"<memo:label><![CDATA[", 1).replace(
                b"</memo:label>", b"]]></memo:label>", 1
            ),
        )
        self.raw(
            "character-references",
            body.replace(b">DIGITALPOST<", b">&#68;IGITALPOST<").replace(b">NEMSMS<", b">&#x4E;EMSMS<"),
        )
        self.raw(
            "undeclared-prefix-stripped",
            body.replace(b"<memo:MessageHeader>", b"<MessageHeader>", 1).replace(
                b"</memo:MessageHeader>", b"</MessageHeader>", 1
            ),
        )


def _generate() -> list[Mutation]:
    rng = random.Random(SEED)
    mutations: dict[bytes, Mutation] = {}
    ids: set[str] = set()
    for sample in sample_paths():
        for mutation in _Generator(sample).generate(rng):
            if mutation.data in mutations:
                continue
            unique = mutation.id
            n = 2
            while unique in ids:
                unique, n = f"{mutation.id}#{n}", n + 1
            ids.add(unique)
            mutations[mutation.data] = Mutation(unique, mutation.version, mutation.data, mutation.expect)
    return list(mutations.values())


MUTATIONS = _generate()


def _params() -> Iterator[object]:
    if not MUTATIONS:
        yield pytest.param(
            None,
            marks=pytest.mark.skip(reason=f"official MeMo reference material not found at {reference_dir()}"),
            id="no-reference",
        )
        return
    for mutation in MUTATIONS:
        yield pytest.param(mutation, id=mutation.id)


# ---------------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="module")
def official(memo_reference: Path) -> dict[str, etree.XMLSchema]:
    xsd = memo_reference / "xsd"
    return {
        "1.1": etree.XMLSchema(etree.parse(str(xsd / "MeMo_core.xsd"))),
        "1.2": etree.XMLSchema(etree.parse(str(xsd / "Version1.2" / "MeMo_core.xsd"))),
    }


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.mark.parametrize("mutation", list(_params()))
def test_our_schema_gives_the_official_verdict(
    mutation: Mutation, official: dict[str, etree.XMLSchema]
) -> None:
    root = etree.fromstring(mutation.data, _PARSER)
    official_valid = official[mutation.version].validate(root)
    errors = validate_schema(root, version=mutation.version)
    official_log = [e.message for e in official[mutation.version].error_log]
    assert (not errors) == official_valid, (
        f"official says {'valid' if official_valid else 'invalid'} ({official_log}); "
        f"ours says {[str(e) for e in errors] or 'valid'}"
    )
    for error in errors:
        assert error.level == "schema"
        assert error.path.startswith("/")
        assert ":" not in error.path, error.path
        assert error.message.endswith("."), error.message
    if not official_valid and mutation.expect:
        assert mutation.expect & {e.code for e in errors}, [str(e) for e in errors]


def test_mutations_cover_both_verdicts(official: dict[str, etree.XMLSchema]) -> None:
    verdicts = [official[m.version].validate(etree.fromstring(m.data, _PARSER)) for m in MUTATIONS]
    valid, invalid = verdicts.count(True), verdicts.count(False)
    print(f"\n{len(MUTATIONS)} mutations: {valid} valid, {invalid} invalid under the official XSD")
    assert len(MUTATIONS) >= 200
    assert valid >= 30
    assert invalid >= 30
    assert {m.version for m in MUTATIONS} == {"1.1", "1.2"}
