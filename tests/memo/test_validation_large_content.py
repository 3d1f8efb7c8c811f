"""Large attachments take a faster path through the schema check; the verdict must not change."""

from __future__ import annotations

import base64
import os

import pytest

from memo import model as m
from memo import validation as v
from memo.reader import from_tree
from memo.schema import validate_schema
from memo.writer import serialize
from memo.xmlsafe import parse_tree

PAYLOAD = os.urandom(200_000)  # well over LARGE_CONTENT_CHARS once in base64


def _message(*, label: str = "Brev", payload: bytes = PAYLOAD) -> bytes:
    import uuid
    from datetime import UTC, datetime

    return serialize(
        m.Message(
            memo_version="1.2",
            header=m.MessageHeader(
                message_type=m.MessageType.DIGITALPOST,
                message_uuid=uuid.UUID("a3c1e9f0-5d2b-4c8e-9f10-2b3c4d5e6f70"),
                label=label,
                sender=m.Sender(sender_id="12345678", id_type="CVR", label="Kommunen"),
                recipient=m.Recipient(recipient_id="0101801234", id_type="CPR"),
            ),
            body=m.MessageBody(
                created_datetime=datetime(2026, 1, 1, tzinfo=UTC),
                main_document=m.MainDocument(
                    files=[
                        m.File.from_bytes(b"%PDF-1.4", filename="a.pdf", encoding_format="application/pdf")
                    ]
                ),
                additional_documents=[
                    m.AdditionalDocument(
                        files=[
                            m.File.from_bytes(payload, filename="b.pdf", encoding_format="application/pdf")
                        ]
                    )
                ],
            ),
        )
    )


def test_a_large_valid_message_passes_and_its_content_is_intact():
    data = _message()
    report = v.validate(data)
    assert report.errors == []
    message = from_tree(report.root)
    assert message.body.additional_documents[0].files[0].data == PAYLOAD
    assert serialize(message) == data


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda d: d.replace(b"<memo:label>Brev", b"<memo:label>" + b"x" * 300, 1), id="long-label"
        ),
        pytest.param(
            lambda d: d.replace(b"<memo:filename>b.pdf</memo:filename>", b"", 1), id="missing-filename"
        ),
        pytest.param(
            lambda d: d.replace(
                b"<memo:language>da</memo:language>", b"<memo:language>dansk</memo:language>"
            ),
            id="bad-language",
        ),
    ],
)
def test_the_fast_path_reports_exactly_what_the_plain_schema_check_reports(damage):
    data = damage(_message())
    root = parse_tree(data)
    plain = validate_schema(root)
    verified = v._verified_large_contents(root)
    fast = v._validate_schema_eliding(root, verified)
    assert plain != []
    assert fast == plain
    # and the tree is as it was: the content is back in its place
    assert from_tree(root).body.additional_documents[0].files[0].content == base64.b64encode(PAYLOAD).decode()


def test_large_content_that_is_not_base64_is_left_to_the_schema_and_refused_by_the_rules():
    good = base64.b64encode(PAYLOAD)
    data = _message().replace(good, good[:1000] + b"!!!!" + good[1004:])
    root = parse_tree(data)
    assert v._verified_large_contents(root) == {}
    report = v.validate(data)
    assert [e.code for e in report.rule_errors] == ["rules.content-not-base64"]


def test_only_large_contents_take_the_fast_path():
    root = parse_tree(_message(payload=b"small"))
    assert v._verified_large_contents(root) == {}
    [(content, size)] = v._verified_large_contents(parse_tree(_message())).items()
    assert size == len(PAYLOAD)
    assert content.tag.endswith("}content")
