"""Command line: ``python -m memo validate FILE...`` and ``python -m memo show FILE``.

``validate`` prints ``OK FILE`` for each valid file and one line per problem otherwise,
``FILE: PATH: CODE: MESSAGE``. The exit status is 0 when every file is valid, 1 when some
file is not, and 2 for usage errors or a file that cannot be read (named on stderr); the
other files are still checked, so one run reports everything.

``show`` prints a summary a person can read: who sends what to whom, when, the documents
with their files and sizes, and the actions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from memo.errors import MemoError, MemoParseError
from memo.model import Action, File, Message
from memo.reader import parse

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on bad usage and --help; callers get a code
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m memo", description="Check and inspect MeMo (Digital Post) messages."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "validate",
        help="check files against the MeMo schema and the Digital Post rules",
        description="Check MeMo files against the XSD and the rules the XSD cannot express.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument(
        "--schema-only", action="store_true", help="check against the XSD alone, not the rules"
    )
    check.set_defaults(run=_validate)

    show = commands.add_parser("show", help="print a readable summary of a message")
    show.add_argument("file", type=Path, metavar="FILE")
    show.set_defaults(run=_show)

    example = commands.add_parser(
        "example",
        help="write a new, valid example letter (fresh messageUUID) to standard output",
        description="Write a valid MeMo 1.2 letter with a fresh messageUUID, for trying a hub out.",
    )
    example.add_argument("--sender", required=True, metavar="CVR", help="the sending authority's CVR")
    example.add_argument("--recipient", required=True, metavar="ID", help="the recipient's CPR or CVR")
    example.add_argument("--recipient-type", choices=["CPR", "CVR"], default="CPR")
    example.add_argument("--contact-point", metavar="ID", help="contactPointID, when writing to an authority")
    example.add_argument("--value-date", type=_iso_date, metavar="YYYY-MM-DD", help="doNotDeliverUntilDate")
    example.add_argument("--label", default="Brev fra Digital Post", help="the title")
    example.add_argument("--text", default="Dette er et eksempel på et brev.", help="the letter's text")
    example.set_defaults(run=_example)
    return parser


def _iso_date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _example(args: argparse.Namespace) -> int:
    import uuid
    from datetime import UTC, datetime

    from memo import model as m
    from memo.writer import serialize

    contact_point = m.ContactPoint(contact_point_id=args.contact_point) if args.contact_point else None
    text = m.File.from_bytes(args.text.encode(), filename="brev.txt", encoding_format="text/plain")
    message = m.Message(
        memo_version=m.MEMO_1_2,
        header=m.MessageHeader(
            message_type=m.MessageType.DIGITALPOST,
            message_uuid=uuid.uuid4(),
            label=args.label,
            do_not_deliver_until_date=args.value_date,
            sender=m.Sender(sender_id=args.sender, id_type="CVR", label="Afsender"),
            recipient=m.Recipient(
                recipient_id=args.recipient,
                id_type=args.recipient_type,
                contact_point=contact_point,
            ),
        ),
        body=m.MessageBody(
            created_datetime=datetime.now(UTC).replace(microsecond=0),
            main_document=m.MainDocument(
                label=args.label,
                files=[text],
            ),
        ),
    )
    sys.stdout.buffer.write(serialize(message, pretty=True))
    return EXIT_OK


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"memo: cannot read {path}: {reason}", file=sys.stderr)
        return None


def _print_errors(path: Path, errors: Sequence[MemoError]) -> None:
    for error in errors:
        # One line per error is the contract scripts rely on, whatever a message quotes.
        print(f"{path}: {error}".replace("\r", " ").replace("\n", " "))


def _validate(args: argparse.Namespace) -> int:
    # Imported here so that `show` does not pay for loading the XSDs.
    from memo.validation import validate

    status = EXIT_OK
    for path in args.files:
        data = _read(path)
        if data is None:
            status = EXIT_USAGE
            continue
        report = validate(data, schema_only=args.schema_only)
        if report.ok:
            print(f"OK {path}")
        else:
            _print_errors(path, report.errors)
            status = max(status, EXIT_INVALID)
    return status


def _show(args: argparse.Namespace) -> int:
    data = _read(args.file)
    if data is None:
        return EXIT_USAGE
    try:
        message = parse(data)
    except MemoParseError as exc:
        _print_errors(args.file, [exc.error])
        return EXIT_INVALID
    for line in summarise(message):
        print(line)
    return EXIT_OK


def summarise(message: Message) -> list[str]:
    """The lines ``show`` prints for a message.

    The reader leaves None where a schema-invalid message lacks something, so every value
    may be absent; absent ones print as ``-``.
    """
    version = message.memo_version or "-"
    if message.memo_sch_version is not None:
        version += f" (memoSchVersion {_value(message.memo_sch_version)})"
    header = message.header
    if header is None:
        lines = [f"MeMo version:       {version}", "Header:             - (no MessageHeader)"]
    else:
        lines = [
            f"Message type:       {_value(header.message_type)}",
            f"UUID:               {_value(header.message_uuid)}",
            f"MeMo version:       {version}",
            f"Sender:             {_party(header.sender, 'sender_id')}",
            f"Recipient:          {_party(header.recipient, 'recipient_id')}",
            f"Label:              {_value(header.label)}",
        ]
        if header.notification is not None:
            lines.append(f"Notification:       {_value(header.notification)}")
        lines += [
            f"Value date:         {_value(header.do_not_deliver_until_date)}",
            f"Reply allowed:      {_flag(header.reply)}",
            f"Reply by:           {_value(header.reply_by_datetime)}",
            f"Mandatory:          {_flag(header.mandatory)}",
            f"Legal notification: {_flag(header.legal_notification)}",
        ]
    body = message.body
    if body is None:
        lines.append("Documents:          none (no MessageBody)")
        return lines
    lines.append("Documents:")
    kinds = [("Main document", body.main_document)] if body.main_document is not None else []
    kinds += [(f"Additional document {n}", d) for n, d in enumerate(body.additional_documents, 1)]
    kinds += [(f"Technical document {n}", d) for n, d in enumerate(body.technical_documents, 1)]
    for kind, document in kinds:
        title = f"  {kind}"
        if document.label:
            title += f": {_value(document.label)}"
        if document.document_id:
            title += f" (id {_value(document.document_id)})"
        lines.append(title)
        lines += [f"    File {_file(file)}" for file in document.files]
        lines += [f"    Action {_action(action)}" for action in getattr(document, "actions", [])]
    return lines


def _value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return _datetime(value)
    return _printable(str(value))


def _printable(text: str) -> str:
    # Values come from untrusted files: a line break would forge a summary line and an
    # escape character could drive the terminal, so anything unprintable is spelled out.
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _datetime(value: datetime) -> str:
    # MeMo date-times are UTC; show them the way MeMo writes them.
    if value.utcoffset() == timedelta(0):
        return value.replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def _flag(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _party(party: object, id_field: str) -> str:
    if party is None:
        return "-"
    text = f"{_value(getattr(party, id_field))} ({_value(party.id_type)})"
    if party.label:
        text += f" {_value(party.label)}"
    return text


def _file(file: File) -> str:
    try:
        size = f"{len(file.data):,} bytes"
    except MemoParseError:
        size = "content is not valid base64"
    except (AttributeError, TypeError):  # no content element at all
        size = "no content"
    details = f"{_value(file.encoding_format)}, {_value(file.language)}, {size}"
    return f"{_value(file.filename)} ({details})"


def _action(action: Action) -> str:
    text = f"{_value(action.label)} [{_value(action.action_code)}]"
    if action.start_datetime or action.end_datetime:
        text += f" {_value(action.start_datetime)} to {_value(action.end_datetime)}"
    if action.entry_point is not None:
        text += f" -> {_value(action.entry_point.url)}"
    elif action.reservation is not None:
        r = action.reservation
        text += (
            f" reservation: {_value(r.description)}, {_value(r.start_datetime)} to "
            f"{_value(r.end_datetime)} at {_value(r.location)}"
        )
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
