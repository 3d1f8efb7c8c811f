"""`python -m memo example`: a fresh, valid letter for trying a hub out."""

from datetime import date

from memo import parse, validate
from memo.cli import main


def _example(capsysbinary, *args):
    code = main(["example", *args])
    return code, capsysbinary.readouterr()


def test_it_writes_a_valid_letter_with_a_fresh_uuid_each_time(capsysbinary):
    code, first = _example(capsysbinary, "--sender", "12345678", "--recipient", "0101801234")
    _, second = _example(capsysbinary, "--sender", "12345678", "--recipient", "0101801234")
    assert code == 0
    assert validate(first.out).errors == []
    one, two = parse(first.out), parse(second.out)
    assert one.header.message_uuid != two.header.message_uuid
    assert one.header.message_uuid.version == 4
    assert (one.header.sender.sender_id, one.header.recipient.recipient_id) == ("12345678", "0101801234")


def test_it_sets_value_date_and_contact_point(capsysbinary):
    code, out = _example(
        capsysbinary,
        "--sender", "12345678", "--recipient", "23456789", "--recipient-type", "CVR",
        "--contact-point", "pladsanvisning", "--value-date", "2030-01-02", "--label", "Hej",
    )  # fmt: skip
    assert code == 0
    message = parse(out.out)
    assert message.header.do_not_deliver_until_date == date(2030, 1, 2)
    assert message.header.recipient.contact_point.contact_point_id == "pladsanvisning"
    assert message.header.label == "Hej"
    assert validate(out.out).errors == []


def test_it_refuses_a_bad_date_with_a_usage_error(capsysbinary):
    code, out = _example(capsysbinary, "--sender", "1", "--recipient", "2", "--value-date", "nope")
    assert code == 2
    assert out.out == b""
    assert b"'nope' is not a date" in out.err
