"""Demo letters for the embedded default, built with the MeMo library like any sender would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from adminaccess.models import System
from mailbox.models import Message
from mailbox.pdf import render_letter_pdf
from mailbox.sending import memo_send
from mailbox.services import message_deliver_to_mailbox, message_store
from memo import model as m
from memo.writer import serialize


def _letter(
    *,
    authority,
    recipient_id: str,
    recipient_type: str,
    label: str,
    files: list[m.File],
    actions: list[m.Action] = (),
    reply: bool = False,
    reply_by: datetime | None = None,
    legal: bool = False,
    mandatory: bool = False,
    value_date=None,
) -> m.Message:
    now = datetime.now(UTC).replace(microsecond=0)
    return m.Message(
        memo_version="1.2",
        header=m.MessageHeader(
            message_type=m.MessageType.DIGITALPOST,
            message_uuid=uuid.uuid4(),
            label=label,
            notification=f"Du har fået post fra {authority.name}.",
            reply=reply,
            reply_by_datetime=reply_by,
            do_not_deliver_until_date=value_date,
            mandatory=mandatory,
            legal_notification=legal,
            sender=m.Sender(sender_id=authority.cvr, id_type="CVR", label=authority.name),
            recipient=m.Recipient(recipient_id=recipient_id, id_type=recipient_type),
        ),
        body=m.MessageBody(
            created_datetime=now,
            main_document=m.MainDocument(label=label, files=files[:1], actions=list(actions)),
            additional_documents=[m.AdditionalDocument(label=f.filename, files=[f]) for f in files[1:]],
        ),
    )


def _pdf(authority, title: str, paragraphs: list[str], filename: str) -> m.File:
    data = render_letter_pdf(sender=authority.name, title=title, paragraphs=paragraphs)
    return m.File.from_bytes(data, filename=filename, encoding_format="application/pdf")


def seed_letters(*, authority, citizen, company, exempt) -> list[Message]:
    sender_system = System.objects.filter(organisation=authority, kind=System.Kind.SENDER).first()
    now = timezone.now().replace(microsecond=0)
    start = (now + timedelta(days=9)).replace(hour=9, minute=30, second=0).astimezone(UTC)
    letters = [
        (
            citizen,
            _letter(
                authority=authority,
                recipient_id=citizen.cpr,
                recipient_type="CPR",
                label="Tid til tandpleje",
                files=[
                    _pdf(
                        authority,
                        "Tid til tandpleje",
                        [
                            "Dit barn har fået en tid hos den kommunale tandpleje.",
                            "Tilføj tiden til din kalender, eller ring, hvis tiden ikke passer.",
                        ],
                        "indkaldelse.pdf",
                    )
                ],
                actions=[
                    m.Action(
                        label="Tilføj til kalender",
                        action_code="AFTALE",
                        reservation=m.Reservation(
                            description="Tandpleje",
                            reservation_uuid=uuid.uuid4(),
                            abstract="Tandeftersyn",
                            location="Tandklinikken, Skolevej 3, 8000 Aarhus C",
                            start_datetime=start,
                            end_datetime=start + timedelta(minutes=30),
                            organizer_mail="tandpleje@kommune.example.dk",
                            organizer_name=authority.name,
                        ),
                    )
                ],
            ),
        ),
        (
            citizen,
            _letter(
                authority=authority,
                recipient_id=citizen.cpr,
                recipient_type="CPR",
                label="Svar på ansøgning om børnehaveplads",
                reply=True,
                reply_by=(now + timedelta(days=14)).astimezone(UTC),
                files=[
                    _pdf(
                        authority,
                        "Tilbud om børnehaveplads",
                        [
                            "Vi kan tilbyde jeres barn en plads i Børnehaven Tusindfryd fra 1. marts.",
                            "Svar senest om 14 dage, om I tager imod pladsen.",
                        ],
                        "tilbud.pdf",
                    ),
                    m.File.from_bytes(
                        "Praktiske oplysninger om Børnehaven Tusindfryd.\n".encode(),
                        filename="praktisk-information.txt",
                        encoding_format="text/plain",
                    ),
                ],
                actions=[
                    m.Action(
                        label="Tag imod pladsen",
                        action_code="SELVBETJENING",
                        end_datetime=(now + timedelta(days=14)).astimezone(UTC),
                        entry_point=m.EntryPoint(url="https://pladsanvisning.example.dk/svar"),
                    )
                ],
            ),
        ),
        (
            citizen,
            _letter(
                authority=authority,
                recipient_id=citizen.cpr,
                recipient_type="CPR",
                label="Afgørelse om boligstøtte",
                legal=True,
                mandatory=True,
                files=[
                    _pdf(
                        authority,
                        "Afgørelse om boligstøtte",
                        [
                            "Du får boligstøtte fra næste måned.",
                            "Du kan klage inden fire uger.",
                        ],
                        "afgoerelse.pdf",
                    )
                ],
            ),
        ),
        (
            company,
            _letter(
                authority=authority,
                recipient_id=company.cvr,
                recipient_type="CVR",
                label="Byggetilladelse",
                files=[
                    _pdf(
                        authority,
                        "Byggetilladelse",
                        [
                            "Der er givet tilladelse til tilbygning på Industrivej 7.",
                        ],
                        "byggetilladelse.pdf",
                    )
                ],
                actions=[
                    m.Action(
                        label="Betal gebyr",
                        action_code="BETALING",
                        end_datetime=(now + timedelta(days=30)).astimezone(UTC),
                        entry_point=m.EntryPoint(url="https://betaling.example.dk/gebyr"),
                    )
                ],
            ),
        ),
    ]
    stored = []
    # Two more through the front door, as a sender system would send them: one held until
    # tomorrow (released by beat on the date), and one for an exempt citizen (remote print).
    tomorrow = timezone.localdate() + timedelta(days=1)
    for recipient, label, value_date in (
        (citizen, "Påmindelse om sundhedstjek", tomorrow),
        (exempt, "Besked om ændret afhentning af affald", None),
    ):
        memo = _letter(
            authority=authority,
            recipient_id=recipient.cpr,
            recipient_type="CPR",
            label=label,
            value_date=value_date,
            files=[_pdf(authority, label, ["Dette brev er et eksempel fra demo-data."], "brev.pdf")],
        )
        data = serialize(memo)
        memo_send(data=data, system=sender_system, expected_uuid=memo.header.message_uuid)
    for owner, memo in letters:
        data = serialize(memo)
        message = message_store(
            memo=memo,
            memo_bytes=data,
            channel=Message.Channel.MAILBOX,
            state=Message.State.ACCEPTED,
            sender_organisation=authority,
            sender_system=sender_system,
            recipient_mailbox=owner.mailbox,
        )
        message_deliver_to_mailbox(message=message)
        stored.append(message)
    return stored
