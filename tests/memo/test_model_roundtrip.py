"""The MeMo model, reader and writer: exact values, round trips and unreadable input.

The message builders at the top are also used by ``test_writer_official_xsd.py``.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import random
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest
from lxml import etree

from memo import model, reader, writer
from memo.errors import MemoParseError
from memo.model import (
    EID,
    Action,
    ActionCode,
    AdditionalContentData,
    AdditionalDocument,
    AdditionalReplyData,
    Address,
    AddressPoint,
    AttentionData,
    AttentionPerson,
    CaseID,
    ContactInfo,
    ContactPoint,
    ContentData,
    ContentResponsible,
    CPRData,
    CVRData,
    Education,
    EMail,
    EntryPoint,
    File,
    FORMData,
    ForwardData,
    GeneratingSystem,
    GlobalLocationNumber,
    KLEData,
    MainDocument,
    Message,
    MessageBody,
    MessageHeader,
    MessageType,
    MotorVehicle,
    ProductionUnit,
    PropertyNumber,
    Recipient,
    ReplyData,
    Representative,
    Reservation,
    Sender,
    SENumber,
    SORData,
    TechnicalDocument,
    Telephone,
    UnstructuredAddress,
)
from tests.memo.conftest import sample_paths

MEMO = model.NAMESPACES["memo"]
VERSIONS = (model.MEMO_1_1, model.MEMO_1_2)

MESSAGE_UUID = UUID("5b0f0d7e-3c1a-4f7e-9a55-0c6f3e2d9b11")
OTHER_UUID = UUID("d1c2b3a4-9f8e-4d7c-8b6a-5f4e3d2c1b0a")
RESERVATION_UUID = UUID("0e9d8c7b-6a59-4483-a726-15f4e3d2c1b0")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _envelope(version: str, header: MessageHeader, body: MessageBody | None) -> Message:
    """Wrap a header and body the way each version wants the attributes and flags."""
    if version == model.MEMO_1_1:
        # 1.1 requires memoSchVersion and both flags; 1.2 drops the attribute.
        header.mandatory = False if header.mandatory is None else header.mandatory
        if header.legal_notification is None:
            header.legal_notification = False
        return Message(
            memo_version=version,
            memo_sch_version=model.MEMO_SCH_VERSION_1_1,
            header=header,
            body=body,
        )
    return Message(memo_version=version, header=header, body=body)


def _pdf(name: str = "Brev.pdf") -> File:
    return File.from_bytes(b"%PDF-1.7 test", filename=name, encoding_format="application/pdf")


def minimal_letter(version: str) -> Message:
    """The least a Digital Post letter can be: header, parties, one document, one file."""
    header = MessageHeader(
        message_type=MessageType.DIGITALPOST,
        message_uuid=MESSAGE_UUID,
        label="Din ansøgning",
        sender=Sender(sender_id="12345678", id_type="CVR", label="Kommunen"),
        recipient=Recipient(recipient_id="0101901234", id_type="CPR"),
    )
    body = MessageBody(
        created_datetime=_utc(2025, 3, 1, 9, 30),
        main_document=MainDocument(files=[_pdf()]),
    )
    return _envelope(version, header, body)


def nemsms(version: str) -> Message:
    """A NemSMS: the notification is the message; there is no body."""
    header = MessageHeader(
        message_type=MessageType.NEMSMS,
        message_uuid=MESSAGE_UUID,
        label="Påmindelse",
        notification="Husk din tid hos tandlægen i morgen kl. 10.",
        sender=Sender(sender_id="12345678", id_type="CVR", label="Tandplejen"),
        recipient=Recipient(recipient_id="0101901234", id_type="CPR"),
    )
    return _envelope(version, header, None)


def letter_with_attachment_and_actions(version: str) -> Message:
    """A letter with an attachment, a self-service link and a calendar booking."""
    message = minimal_letter(version)
    message.body.main_document.actions = [
        Action(
            label="Book en tid",
            action_code=ActionCode.AFTALE,
            reservation=Reservation(
                description="Samtale om din ansøgning",
                reservation_uuid=RESERVATION_UUID,
                abstract="Samtale",
                location="Rådhuset, lokale 3",
                start_datetime=_utc(2025, 4, 2, 8, 0),
                end_datetime=_utc(2025, 4, 2, 9, 0),
                organizer_mail="booking@example.dk",
                organizer_name="Sagsbehandleren",
            ),
        ),
        Action(
            label="Svar på skemaet",
            action_code=ActionCode.SELVBETJENING,
            start_datetime=_utc(2025, 3, 1, 0, 0),
            end_datetime=_utc(2025, 3, 31, 22, 0),
            entry_point=EntryPoint(url="https://selvbetjening.example.dk/skema?id=42"),
        ),
    ]
    message.body.additional_documents = [
        AdditionalDocument(
            label="Bilag",
            files=[
                File.from_bytes(
                    b"Praktiske oplysninger",
                    filename="Bilag 1.txt",
                    encoding_format="text/plain",
                )
            ],
            actions=[
                Action(
                    label="Læs mere",
                    action_code=ActionCode.INFORMATION,
                    start_datetime=_utc(2025, 3, 1, 0, 0),
                    entry_point=EntryPoint(url="https://www.example.dk/info"),
                )
            ],
        )
    ]
    return message


def _address() -> Address:
    return Address(
        id="0a3f50a0-73bf-32b8-e044-0003ba298018",
        address_label="Rådhuspladsen",
        house_number="1",
        door="tv",
        floor="2",
        co="Borgerservice",
        zip_code="1550",
        city="København V",
        country="DK",
        address_point=AddressPoint(easting="724000.1", northing="6175000.2", height="12.0"),
    )


def _attention_data(*, unstructured: bool) -> AttentionData:
    # The official examples use a structured or an unstructured address, hence the switch.
    return AttentionData(
        attention_person=AttentionPerson(person_id="0101901234", label="Jens Jensen"),
        production_unit=ProductionUnit(
            production_unit_number=1012345678, production_unit_name="Hovedkontoret"
        ),
        global_location_number=GlobalLocationNumber(
            global_location_number=5790000123456, location="Varemodtagelsen"
        ),
        email=EMail(email_address="post@example.dk", related_agent="Jens Jensen"),
        se_number=SENumber(se_number="87654321", company_name="Firma A/S"),
        telephone=Telephone(telephone_number="+45 70 10 20 30", related_agent="Omstillingen"),
        eid=EID(eid="CVR:12345678-RID:98765", label="Medarbejder"),
        content_responsible=ContentResponsible(content_responsible_id="CR-7", label="Borgerservice"),
        generating_system=GeneratingSystem(generating_system_id="SYS-1", label="Sagssystem"),
        sor_data=SORData(sor_identifier="123456789012345", entry_name="Klinik"),
        address=None if unstructured else _address(),
        unstructured_address=(
            UnstructuredAddress(unstructured="Rådhuspladsen 1, 1550 København V") if unstructured else None
        ),
    )


def _contact_point() -> ContactPoint:
    return ContactPoint(
        contact_group="Familie",
        contact_point_id="9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
        label="Pladsanvisningen",
        contact_info=[
            ContactInfo(label="Barnets navn", value="Ida"),
            ContactInfo(label="Sagsnummer", value="S-1"),
        ],
    )


def everything(version: str) -> Message:
    """Every element MeMo has, once, and the repeatable ones twice; 1.2's additions in 1.2."""
    is_12 = version == model.MEMO_1_2
    header = MessageHeader(
        message_type=MessageType.DIGITALPOST,
        message_uuid=MESSAGE_UUID,
        message_id="MSG-1",
        message_code="Pladsanvisning",
        label="Tilbud om plads",
        notification="Du har fået post fra Kommunen.",
        additional_notification="Om pladsen til Ida",
        reply=True,
        reply_by_datetime=_utc(2025, 5, 1, 10, 0),
        do_not_deliver_until_date=date(2025, 4, 1),
        mandatory=True,
        legal_notification=False,
        post_type="MYNDIGHEDSPOST",
        sender=Sender(
            sender_id="12345678",
            id_type="CVR",
            id_type_label="CVR-nummer",
            label="Kommunen",
            attention_data=_attention_data(unstructured=False),
            contact_point=_contact_point(),
            representative=(
                Representative(
                    representative_id="87654321",
                    id_type="CVR",
                    id_type_label="CVR-nummer",
                    label="Advokaten",
                )
                if is_12
                else None
            ),
        ),
        recipient=Recipient(
            recipient_id="0101901234",
            id_type="CPR",
            id_type_label="CPR-nummer",
            label="Jens Jensen",
            attention_data=_attention_data(unstructured=True),
            contact_point=_contact_point(),
        ),
        content_data=ContentData(
            cpr_data=CPRData(cpr_number="0101151234", name="Ida Jensen"),
            cvr_data=CVRData(cvr_number="12345678", company_name="Firma A/S"),
            motor_vehicle=MotorVehicle(license_number="AB12345", chassis_number="VIN123"),
            property_number=PropertyNumber(property_number="BFE-1"),
            case_id=CaseID(case_id="SAG-1", case_system="ESDH"),
            kle_data=KLEData(subject_key="28.06.00", version="2025", activity_facet="G01", label="Dagtilbud"),
            form_data=FORMData(task_key="28.06.00.00", version="2.1", activity_facet="A", label="Pladser"),
            production_unit=ProductionUnit(production_unit_number=1000000001),
            education=Education(education_code="5166", education_name="Pædagog"),
            address=_address(),
            unstructured_address=UnstructuredAddress(unstructured="Et sted i byen"),
            additional_content_data=[
                AdditionalContentData(
                    content_data_type="Liste", content_data_name="A", content_data_value="1"
                ),
                AdditionalContentData(content_data_name="B", content_data_value="2"),
            ],
        ),
        forward_data=ForwardData(
            message_uuid=OTHER_UUID,
            original_message_datetime=_utc(2025, 1, 2, 3, 4, 5),
            original_sender="Styrelsen",
            original_content_responsible="Kontoret",
            original_representative="Advokaten" if is_12 else None,
            contact_point_id="CP-1",
            comment="Videresendt til rette myndighed",
        ),
        reply_data=[
            ReplyData(message_uuid=OTHER_UUID),
            ReplyData(
                message_id="MSG-0",
                message_uuid=OTHER_UUID,
                reply_uuid=MESSAGE_UUID,
                sender_id="0101901234",
                recipient_id="12345678",
                case_id="SAG-1",
                contact_point_id="CP-1",
                generating_system_id="SYS-1",
                comment="Svar på tilbud",
                additional_reply_data=[
                    AdditionalReplyData(label="Note", value="x"),
                    AdditionalReplyData(label="Ref", value="y"),
                ],
            ),
        ],
    )
    message = letter_with_attachment_and_actions(version)
    message.header = header
    message.body.main_document.document_id = "MAIN-1"
    message.body.main_document.label = "Tilbud"
    message.body.main_document.files.append(
        File.from_bytes(b"Tilbud", filename="Tilbud.txt", encoding_format="text/plain")
    )
    message.body.additional_documents.append(AdditionalDocument(files=[_pdf("Vejledning.pdf")]))
    message.body.additional_documents[0].document_id = "ADD-1"
    message.body.technical_documents = [
        TechnicalDocument(
            document_id="TECH-1",
            label="Data",
            files=[
                File.from_bytes(b"<data/>", filename="data.xml", encoding_format="text/xml"),
                File.from_bytes(b"{}", filename="data.json", encoding_format="application/json"),
            ],
        ),
        TechnicalDocument(files=[_pdf("Kvittering.pdf")]),
    ]
    return message


BUILDERS = {
    "minimal-letter": minimal_letter,
    "nemsms": nemsms,
    "letter-with-attachment-and-actions": letter_with_attachment_and_actions,
    "everything": everything,
}


def _sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _sample(memo_reference: Path, name: str) -> Message:
    return reader.parse((memo_reference / "samples" / name).read_bytes())


# --- Round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sample_paths(), ids=_sample_id)
def test_it_round_trips_every_official_sample(memo_reference: Path, path: Path) -> None:
    message = reader.parse(path.read_bytes())

    again = reader.parse(writer.serialize(message))

    assert again == message
    # Writing the re-read message gives the very same bytes: nothing drifts on a second pass.
    assert writer.serialize(again) == writer.serialize(message)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_a_model_built_in_code_serializes_and_parses_back_equal(build, version: str) -> None:
    message = build(version)

    assert reader.parse(writer.serialize(message)) == message
    assert reader.parse(writer.serialize(message, pretty=True)) == message


def test_the_everything_builder_really_sets_every_field_of_every_class() -> None:
    # Guards the round-trip test above: a field left at None there would be untested.
    seen: set[tuple[str, str]] = set()

    def visit(obj: object) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            items = value if isinstance(value, list) else [value]
            for item in items:
                if item is not None:
                    seen.add((type(obj).__name__, f.name))
                if dataclasses.is_dataclass(item):
                    visit(item)

    # 1.1 is needed too: memoSchVersion exists only there.
    visit(everything(model.MEMO_1_1))
    visit(everything(model.MEMO_1_2))
    every = {(cls.__name__, f.name) for cls in model.LAYOUT for f in dataclasses.fields(cls)}
    assert every - seen == set()


def test_the_layout_binds_every_field_except_the_message_attributes_exactly_once() -> None:
    for cls, bindings in model.LAYOUT.items():
        bound = [b.field for b in bindings]
        expected = [f.name for f in dataclasses.fields(cls)]
        if cls is Message:
            expected = [name for name in expected if not name.startswith("memo_")]
        assert sorted(bound) == sorted(expected), cls.__name__
        for b in bindings:
            if not isinstance(b.kind, model.XsdType):
                assert b.kind in model.LAYOUT, (cls.__name__, b.field)


# --- Exact values from the official samples -------------------------------------------------


def test_it_reads_the_header_of_the_1_2_full_example(memo_reference: Path) -> None:
    message = _sample(memo_reference, "v1.2/MeMo_Full_Example.xml")
    header = message.header

    assert message.memo_version == "1.2"
    assert message.memo_sch_version is None
    assert header.message_type is MessageType.DIGITALPOST
    assert header.message_uuid == UUID("8c2ea15d-61fb-4ba9-9366-42f8b194c114")
    assert header.message_id == "MSG-12345"
    assert header.message_code == "Pladsanvisning"
    assert header.label == "Besked fra Børneforvaltningen"
    assert header.notification == (
        "Du har fået digitalpost fra Kommunen vedr. din ansøgning om børnehaveplads."
    )
    assert header.reply is True
    assert header.reply_by_datetime == _utc(2025, 9, 30, 12, 0)
    assert header.reply_by_datetime.tzinfo is UTC
    assert header.do_not_deliver_until_date == date(2025, 9, 15)
    assert header.mandatory is True
    assert header.legal_notification is False
    assert header.post_type == "MYNDIGHEDSPOST"


def test_it_reads_sender_recipient_and_the_1_2_representative(memo_reference: Path) -> None:
    header = _sample(memo_reference, "v1.2/MeMo_Full_Example.xml").header
    sender, recipient = header.sender, header.recipient

    assert (sender.sender_id, sender.id_type, sender.label) == ("12345678", "CVR", "Kommunen")
    assert sender.id_type_label is None
    assert sender.representative == Representative(
        representative_id="87654321", id_type="CVR", label="Repræsentant Kommune"
    )
    attention = sender.attention_data
    assert attention.attention_person == AttentionPerson(person_id="9000001234", label="Hans Hansen")
    assert attention.production_unit == ProductionUnit(
        production_unit_number=1234567890, production_unit_name="Produktionsenhed A"
    )
    assert attention.global_location_number == GlobalLocationNumber(
        global_location_number=5798000012345, location="Kommune A"
    )
    assert attention.eid == EID(eid="CVR:12345678-RID:1234567890123", label="Kommune A")
    assert attention.generating_system == GeneratingSystem(
        generating_system_id="Sys-1234", label="KommunaltPostSystem"
    )
    assert attention.sor_data == SORData(sor_identifier="468031000016004", entry_name="tekst")
    assert attention.address.address_point == AddressPoint(
        easting="557501.23", northing="6336248.89", height="0.0"
    )
    assert attention.unstructured_address == UnstructuredAddress(unstructured="Bakketoppen 6, 9000 Aalborg")
    assert sender.contact_point == ContactPoint(
        contact_group="22.33.44.55",
        contact_point_id="241d39f6-998e-4929-b198-ccacbbf4b330",
        label="Kommunen, Pladsanvisningen",
        contact_info=[
            ContactInfo(label="Barnets CPR nummer", value="2512169996"),
            ContactInfo(label="Barnets navn", value="Emilie Hansen"),
        ],
    )
    assert (recipient.recipient_id, recipient.id_type, recipient.label) == (
        "2211771212",
        "CPR",
        "Mette Hansen",
    )
    assert recipient.attention_data.generating_system is None
    assert recipient.attention_data.email == EMail(
        email_address="m.hansen@gmail.com", related_agent="Mette Hansen"
    )


def test_it_reads_every_content_data_part_of_the_full_examples(memo_reference: Path) -> None:
    expected = ContentData(
        cpr_data=CPRData(cpr_number="2512169996", name="Emilie Hansen"),
        cvr_data=CVRData(cvr_number="12345678", company_name="[Virksomhed]"),
        motor_vehicle=MotorVehicle(license_number="AB12345", chassis_number="WFR18ZZ67W094959"),
        property_number=PropertyNumber(property_number="ABC1234"),
        case_id=CaseID(case_id="SAG-12345", case_system="Sagssystem 1234"),
        kle_data=KLEData(
            subject_key="00.00.00", version="Maj 2018", activity_facet="[Tekst]", label="[KLE tekst]"
        ),
        form_data=FORMData(
            task_key="00.00.00.00",
            version="Opgavenøglen v2.12",
            activity_facet="Tekst]",
            label="[FORM tekst]",
        ),
        production_unit=ProductionUnit(
            production_unit_number=1234567890, production_unit_name="[Produktionsenhed]"
        ),
        education=Education(education_code="123ABC", education_name="[Uddannelse navn]"),
        additional_content_data=[
            AdditionalContentData(
                content_data_type="Liste A", content_data_name="Navn 1", content_data_value="Værdi 1"
            ),
            AdditionalContentData(
                content_data_type="Liste A", content_data_name="Navn 2", content_data_value="Værdi 2"
            ),
        ],
    )
    for name in ("v1.1-official/MeMo_Full_Example.xml", "v1.2/MeMo_Full_Example.xml"):
        assert _sample(memo_reference, name).header.content_data == expected, name


def test_it_reads_forward_and_reply_data(memo_reference: Path) -> None:
    header = _sample(memo_reference, "v1.2/MeMo_Full_Example.xml").header

    assert header.forward_data == ForwardData(
        message_uuid=UUID("8c2ea15d-61fb-4ba9-9366-42f8b194c114"),
        original_message_datetime=_utc(2021, 3, 15, 12, 0),
        original_sender="Kommunen",
        original_content_responsible="Børnehaven, Tusindfryd",
        original_representative="Repræsentant Kommune",
        contact_point_id="241d39f6-998e-4929-b198-ccacbbf4b330",
        comment="kommentar til modtageren",
    )
    assert [r.message_id for r in header.reply_data] == ["MSG-12344", "MSG-12345"]
    assert header.reply_data[0].reply_uuid is None
    assert header.reply_data[1].reply_uuid == UUID("8c2ea15d-61fb-4ba9-9366-42f8b194c114")
    assert header.reply_data[1].message_uuid == UUID("8c2ea15d-61fb-4ba9-9366-42f8b194c657")
    assert [a.label for a in header.reply_data[1].additional_reply_data] == [
        "Intern note",
        "Intern reference",
        "Vedr",
        "Att",
    ]


def test_it_reads_the_documents_files_and_actions_of_the_1_2_full_example(
    memo_reference: Path,
) -> None:
    body = _sample(memo_reference, "v1.2/MeMo_Full_Example.xml").body

    assert body.created_datetime == _utc(2018, 5, 3, 12, 0)
    main = body.main_document
    assert (main.document_id, main.label) == ("456", "Tilbud om børnehaveplads")
    assert [f.filename for f in main.files] == ["Pladsanvisning.pdf", "Pladsanvisning.txt"]
    assert [f.encoding_format for f in main.files] == ["application/pdf", "text/plain"]
    assert main.files[0].language == "da"
    assert main.files[0].content == "VGhpcyBpcyBhIHRlc3Q="
    assert main.files[0].data == b"This is a test"
    assert [a.action_code for a in main.actions] == ["SELVBETJENING", "AFTALE"]
    assert main.actions[0].entry_point == EntryPoint(url="https://www.tusindfryd.dk/spørgeskema.html")
    assert main.actions[0].reservation is None
    assert main.actions[1].reservation == Reservation(
        description="Opstart Tusindfryd",
        reservation_uuid=UUID("8c2ea15d-61fb-4ba9-9366-42f8b194d241"),
        abstract="Opstart",
        location="Gl. Landevej 61, 9000 aalborg, Rød stue",
        start_datetime=_utc(2018, 11, 10, 9, 0),
        end_datetime=_utc(2018, 11, 10, 12, 0),
        organizer_mail="info@tusindfryd.dk",
        organizer_name="Jette Hansen",
    )
    assert [d.document_id for d in body.additional_documents] == ["789", "678"]
    assert [f.filename for f in body.additional_documents[0].files] == [
        "Pladsanvisning.pdf",
        "Praktiske oplysninger.doc",
    ]
    assert body.additional_documents[1].actions[0].entry_point.url == (
        "https://registration.nemhandel.dk/NemHandelRegisterWeb/public/participant/"
        "info?key=5798009811578&keytype=GLN"
    )
    assert [(d.document_id, d.label) for d in body.technical_documents] == [("222555", "Teknisk dokument")]
    assert [d.document_id for d in body.documents()] == ["456", "789", "678", "222555"]


def test_it_reads_the_1_1_full_example_with_its_schema_version_and_without_1_2_fields(
    memo_reference: Path,
) -> None:
    message = _sample(memo_reference, "v1.1-official/MeMo_Full_Example.xml")
    header = message.header

    assert (message.memo_version, message.memo_sch_version) == ("1.1", "1.1.0")
    assert header.message_uuid == UUID("8c2ea15d-61fb-4ba9-9366-42f8b194c114")
    assert header.mandatory is False
    assert header.legal_notification is False
    assert header.reply_by_datetime == _utc(2018, 9, 30, 12, 0)
    assert header.do_not_deliver_until_date == date(2018, 9, 15)
    assert header.sender.representative is None
    assert header.forward_data.original_representative is None
    assert header.recipient.id_type_label is None
    assert header.recipient.attention_data.address is None
    assert header.recipient.attention_data.unstructured_address == UnstructuredAddress(
        unstructured="Bakketoppen 6, 9000 Aalborg"
    )
    assert message.body.main_document.actions[0].entry_point.url == (
        "http://www.tusindfryd.dk/spørgeskema.html"
    )
    assert len(list(message.body.documents())) == 4


def test_it_reads_the_minimum_examples_with_everything_optional_absent(
    memo_reference: Path,
) -> None:
    old = _sample(memo_reference, "v1.1-official/MeMo_Minimum_Example.xml")
    new = _sample(memo_reference, "v1.2/MeMo_Minimum_Example.xml")

    assert (old.header.mandatory, old.header.legal_notification) == (False, False)
    assert (new.header.mandatory, new.header.legal_notification) == (None, None)
    assert new.memo_sch_version is None
    for message in (old, new):
        header = message.header
        assert header.label == "Pladsanvisning"
        assert header.recipient == Recipient(recipient_id="2211771212", id_type="CPR")
        assert header.sender == Sender(sender_id="12345678", id_type="CVR", label="Kommunen")
        assert header.content_data is header.forward_data is header.reply is None
        assert header.reply_data == []
        assert message.body.main_document == MainDocument(
            files=[
                File(
                    encoding_format="application/pdf",
                    filename="Pladsanvisning.pdf",
                    language="da",
                    content="VGhpcyBpcyBhIHRlc3Q=",
                )
            ]
        )
        assert message.body.additional_documents == message.body.technical_documents == []


def test_it_reads_a_nemsms_without_a_body(memo_reference: Path) -> None:
    message = _sample(memo_reference, "v1.2/MeMo_NemSMS.xml")

    assert message.header.message_type is MessageType.NEMSMS
    assert message.header.message_uuid == UUID("fcdcf318-59b6-427c-9879-4f0af833d593")
    assert message.header.notification == "Message Text"
    assert message.header.recipient.label == "Recipient Label"
    assert message.body is None


def test_it_reads_a_main_document_with_two_files(memo_reference: Path) -> None:
    message = _sample(memo_reference, "v1.2/MeMo_with_attachment.xml")

    files = message.body.main_document.files
    assert [(f.filename, f.data) for f in files] == [
        ("File1.txt", b"File content 1"),
        ("File2.txt", b"File content 2"),
    ]
    assert message.body.created_datetime == _utc(2000, 1, 1, 0, 0)


# --- Lenient about structure ---------------------------------------------------------------


def _tree(message: Message) -> etree._Element:
    return etree.fromstring(writer.serialize(message))


def _one(root: etree._Element, path: str) -> etree._Element:
    (element,) = root.xpath(path, namespaces=model.NAMESPACES)
    return element


def _reparse(root: etree._Element) -> Message:
    return reader.parse(etree.tostring(root))


def test_a_missing_required_element_reads_as_none() -> None:
    root = _tree(minimal_letter(model.MEMO_1_2))
    header = _one(root, "/memo:Message/memo:MessageHeader")
    header.remove(_one(header, "memo:Sender"))
    header.remove(_one(header, "memo:label"))
    main = _one(root, "//memo:MainDocument")
    main.remove(_one(main, "memo:File"))
    del root.attrib["memoVersion"]

    message = _reparse(root)

    assert message.memo_version is None
    assert message.header.sender is None
    assert message.header.label is None
    assert message.body.main_document.files == []


def test_unknown_elements_and_comments_are_skipped_and_empty_elements_read_as_empty_text() -> None:
    root = _tree(minimal_letter(model.MEMO_1_2))
    header = _one(root, "/memo:Message/memo:MessageHeader")
    etree.SubElement(header, "{urn:example}Extra").text = "ignored"
    header.insert(0, etree.Comment("a comment"))
    label = _one(header, "memo:label")
    label.text = "Din "
    label.append(etree.Comment("split"))
    label[0].tail = "ansøgning"
    _one(root, "//memo:Recipient").append(etree.Element(f"{{{MEMO}}}label"))

    message = _reparse(root)

    assert message.header.label == "Din ansøgning"
    assert message.header.recipient.label == ""
    assert message == dataclasses.replace(
        minimal_letter(model.MEMO_1_2),
        header=dataclasses.replace(
            minimal_letter(model.MEMO_1_2).header,
            recipient=Recipient(recipient_id="0101901234", id_type="CPR", label=""),
        ),
    )


def test_typed_values_accept_every_schema_spelling() -> None:
    root = _tree(everything(model.MEMO_1_2))
    root.set("memoVersion", " 01.20 ")
    header = _one(root, "/memo:Message/memo:MessageHeader")
    _one(header, "memo:reply").text = " 1 "
    _one(header, "memo:mandatory").text = "0"
    _one(header, "memo:messageUUID").text = "5B0F0D7E-3C1A-4F7E-9A55-0C6F3E2D9B11"
    _one(header, "memo:doNotDeliverUntilDate").text = "2025-04-01+02:00"
    _one(header, "memo:replyByDateTime").text = "2025-05-01T12:00:00.1234567+02:00"
    _one(root, "//memo:Sender//grd:productionUnitNumber").text = "+0001012345678"

    message = _reparse(root)

    assert message.memo_version == "1.2"
    assert message.header.reply is True
    assert message.header.mandatory is False
    assert message.header.message_uuid == MESSAGE_UUID
    # The zone of an xs:date has no place in the model; it is dropped.
    assert message.header.do_not_deliver_until_date == date(2025, 4, 1)
    # Offsets are converted to UTC; digits beyond microseconds are cut off.
    assert message.header.reply_by_datetime == datetime(2025, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert message.header.reply_by_datetime.tzinfo is UTC
    production_unit = message.header.sender.attention_data.production_unit
    assert production_unit.production_unit_number == 1012345678


# --- Strict about values -------------------------------------------------------------------

UNREADABLE = [
    ("//memo:MessageHeader/memo:reply", "yes", "/Message/MessageHeader/reply"),
    ("//memo:MessageHeader/memo:mandatory", "", "/Message/MessageHeader/mandatory"),
    ("//memo:MessageHeader/memo:messageType", "LETTER", "/Message/MessageHeader/messageType"),
    ("//memo:MessageHeader/memo:messageUUID", "not-a-uuid", "/Message/MessageHeader/messageUUID"),
    (
        "//memo:MessageHeader/memo:messageUUID",
        "{5b0f0d7e-3c1a-4f7e-9a55-0c6f3e2d9b11}",
        "/Message/MessageHeader/messageUUID",
    ),
    (
        "//memo:MessageHeader/memo:doNotDeliverUntilDate",
        "01-04-2025",
        "/Message/MessageHeader/doNotDeliverUntilDate",
    ),
    (
        "//memo:MessageHeader/memo:doNotDeliverUntilDate",
        "2025-02-30",
        "/Message/MessageHeader/doNotDeliverUntilDate",
    ),
    (
        "//memo:MessageHeader/memo:replyByDateTime",
        "2025-05-01T10:00:00",
        "/Message/MessageHeader/replyByDateTime",
    ),
    (
        "//memo:MessageHeader/memo:replyByDateTime",
        "2025-05-01T24:00:00Z",
        "/Message/MessageHeader/replyByDateTime",
    ),
    (
        "//memo:MessageHeader/memo:replyByDateTime",
        "0001-01-01T00:00:00+01:00",
        "/Message/MessageHeader/replyByDateTime",
    ),
    (
        "//memo:Sender//grd:productionUnitNumber",
        "12a",
        "/Message/MessageHeader/Sender/AttentionData/ProductionUnit/productionUnitNumber",
    ),
    (
        "//memo:Recipient//gln:globalLocationNumber",
        "١٢٣",
        "/Message/MessageHeader/Recipient/AttentionData/GlobalLocationNumber/globalLocationNumber",
    ),
    (
        "//memo:ReplyData[2]/memo:replyUUID",
        "x",
        "/Message/MessageHeader/ReplyData[2]/replyUUID",
    ),
    (
        "//memo:MainDocument/memo:Action[2]/memo:startDateTime",
        "tomorrow",
        "/Message/MessageBody/MainDocument/Action[2]/startDateTime",
    ),
    (
        "//memo:MainDocument/memo:Action[1]/memo:Reservation/memo:reservationUUID",
        "",
        "/Message/MessageBody/MainDocument/Action[1]/Reservation/reservationUUID",
    ),
    ("//memo:MessageBody/memo:createdDateTime", "x" * 500, "/Message/MessageBody/createdDateTime"),
]


@pytest.mark.parametrize(("xpath", "text", "path"), UNREADABLE)
def test_an_unreadable_value_raises_memo_parse_error_with_its_path(xpath: str, text: str, path: str) -> None:
    root = _tree(everything(model.MEMO_1_2))
    _one(root, xpath).text = text

    with pytest.raises(MemoParseError) as caught:
        _reparse(root)

    assert caught.value.code == "memo.unreadable-value"
    assert caught.value.error.path == path
    assert caught.value.error.level == "xml"
    # The offending text is quoted, but never at unbounded length.
    assert len(caught.value.error.message) < 200


#: Everything a partial read can leave out but the message itself.
ALL_BUT_THE_MESSAGE = frozenset(model.LAYOUT) - {Message}


@pytest.mark.parametrize(("xpath", "text", "path"), UNREADABLE)
@pytest.mark.parametrize("skip", [{model.MessageBody}, ALL_BUT_THE_MESSAGE], ids=["body", "everything"])
def test_a_partial_read_refuses_the_same_values_as_a_full_read(
    xpath: str, text: str, path: str, skip
) -> None:
    # Skipped parts are not built, but their typed values are read all the same.
    root = _tree(everything(model.MEMO_1_2))
    _one(root, xpath).text = text

    with pytest.raises(MemoParseError) as caught:
        reader.from_tree(etree.fromstring(etree.tostring(root)), skip=skip)

    assert (caught.value.code, caught.value.error.path) == ("memo.unreadable-value", path)


@pytest.mark.parametrize("path", sample_paths(), ids=_sample_id)
def test_a_read_without_the_body_has_the_header_of_a_full_read(path: Path) -> None:
    root = etree.fromstring(path.read_bytes())
    full, partial = reader.from_tree(root), reader.from_tree(root, skip={model.MessageBody})

    assert partial.header == full.header
    assert partial.body is (reader.NOT_READ if full.body is not None else None)


def test_a_skipped_part_raises_on_use_and_an_absent_one_reads_as_absent() -> None:
    message = everything(model.MEMO_1_2)
    message.header.forward_data = None
    skip = {model.AttentionData, model.ReplyData, model.ForwardData, model.MessageBody}
    partial = reader.from_tree(_tree(message), skip=skip)

    header = partial.header
    assert header.sender.attention_data is reader.NOT_READ
    assert header.reply_data is reader.NOT_READ  # a list field, read as a whole
    assert header.forward_data is None  # not in this message: nothing to skip
    assert header.recipient.recipient_id == message.header.recipient.recipient_id
    assert header.content_data == message.header.content_data
    for use in (
        lambda: header.sender.attention_data.attention_person,
        lambda: bool(header.reply_data),
        lambda: list(header.reply_data),
        lambda: len(header.reply_data),
        lambda: partial.body.main_document,
    ):
        with pytest.raises(reader.NotReadError):
            use()
    # Copying or pickling a partial message still works; only using the skipped part raises.
    assert copy.deepcopy(partial).header.sender.attention_data is reader.NOT_READ
    assert pickle.loads(pickle.dumps(partial)).body is reader.NOT_READ  # noqa: S301 - our own bytes


def test_only_parts_of_a_message_can_be_skipped() -> None:
    root = _tree(minimal_letter(model.MEMO_1_2))
    with pytest.raises(ValueError, match="Message"):
        reader.from_tree(root, skip={Message})
    with pytest.raises(ValueError, match="str"):
        reader.from_tree(root, skip={str})


def test_a_tag_with_two_types_under_a_skipped_part_is_checked_by_walking_the_layout() -> None:
    # No MeMo layout has one (the check then finds the typed tags by name); should one come,
    # the check walks the layout and converts each value by its place.
    ns = "{urn:test}"
    inner, outer = reader._Plan(model.EntryPoint), reader._Plan(model.EntryPoint)
    inner.by_tag = {f"{ns}x": ("url", reader._uuid, None, False)}
    outer.by_tag = {f"{ns}x": ("url", None, None, False), f"{ns}inner": ("url", None, inner, False)}
    inner.typed = outer.typed = True
    inner.leaves, outer.leaves = reader._typed_leaves(inner), reader._typed_leaves(outer)
    assert inner.leaves == {f"{ns}x": reader._uuid} and outer.leaves is None

    fine = etree.fromstring(b'<r xmlns="urn:test"><x>a string here</x><inner><x>X</x></inner></r>')
    fine.find(f"{ns}inner/{ns}x").text = "8c2ea15d-61fb-4ba9-9366-42f8b194c114"
    reader._check(fine, outer)
    fine.find(f"{ns}inner/{ns}x").text = "not a uuid"
    with pytest.raises(MemoParseError) as caught:
        reader._check(fine, outer)
    assert caught.value.error.path == "/r/inner/x"


def test_a_partial_read_visits_only_what_holds_typed_values() -> None:
    # A File is strings only (its content is not decoded here): a skipped body never visits it.
    plans = reader._PLANS
    assert not plans[model.File].typed and not plans[model.TechnicalDocument].typed
    assert plans[model.Action].typed and plans[model.MessageBody].typed


def test_a_single_repeatable_element_still_carries_its_position_in_the_path() -> None:
    root = _tree(letter_with_attachment_and_actions(model.MEMO_1_2))
    _one(root, "//memo:AdditionalDocument/memo:Action/memo:startDateTime").text = "x"

    with pytest.raises(MemoParseError) as caught:
        _reparse(root)

    assert caught.value.error.path == ("/Message/MessageBody/AdditionalDocument[1]/Action[1]/startDateTime")


def test_an_unreadable_memo_version_attribute_is_reported_on_the_attribute() -> None:
    root = _tree(minimal_letter(model.MEMO_1_2))
    root.set("memoVersion", "one point two")

    with pytest.raises(MemoParseError) as caught:
        _reparse(root)

    assert (caught.value.code, caught.value.error.path) == (
        "memo.unreadable-value",
        "/Message/@memoVersion",
    )


def test_bytes_that_are_not_memo_fail_with_the_xmlsafe_codes() -> None:
    with pytest.raises(MemoParseError) as not_memo:
        reader.parse(b"<Message/>")
    with pytest.raises(MemoParseError) as truncated:
        data = writer.serialize(minimal_letter(model.MEMO_1_2))
        reader.parse(data[: data.rindex(b"</memo:Message>")])
    with pytest.raises(MemoParseError) as other_root:
        reader.from_tree(etree.fromstring(b"<x/>"))

    assert not_memo.value.code == "xml.not-memo"
    assert truncated.value.code == "xml.truncated"
    assert other_root.value.code == "xml.not-memo"


def test_it_raises_nothing_but_memo_parse_error_on_mangled_messages() -> None:
    rng = random.Random(20250910)
    texts = ["", " ", "true", "abc", "9" * 30, "-1", "2025-13-01", "2025-01-01T00:00:00"]
    original = _tree(everything(model.MEMO_1_2))
    outcomes = {"read": 0, "refused": 0}
    for _ in range(300):
        root = copy.deepcopy(original)
        for _ in range(rng.randint(1, 4)):
            element = rng.choice([e for e in root.iter() if isinstance(e.tag, str)])
            parent = element.getparent()
            choice = rng.random()
            if parent is not None and choice < 0.3:
                parent.remove(element)
            elif parent is not None and choice < 0.5:
                parent.append(copy.deepcopy(element))
            else:
                element.text = rng.choice(texts)
        try:
            reader.parse(etree.tostring(root))
        except MemoParseError:
            outcomes["refused"] += 1
        else:
            outcomes["read"] += 1
    # Both branches must have been exercised for this test to mean anything.
    assert outcomes["read"] > 0
    assert outcomes["refused"] > 0


# --- Files ------------------------------------------------------------------------------------


def test_file_content_stays_base64_and_decodes_on_demand() -> None:
    file = File.from_bytes(b"\x00\xffhej", filename="a.bin", encoding_format="application/pdf")

    assert file.content == "AP9oZWo="
    assert file.data == b"\x00\xffhej"
    assert file.language == "da"
    assert "AP9oZWo" not in repr(file)


def test_file_content_wrapped_over_lines_decodes_and_round_trips_unchanged() -> None:
    message = minimal_letter(model.MEMO_1_2)
    wrapped = "VGhpcyBp\r\n  cyBhIHRl\nc3Q="
    message.body.main_document.files[0].content = wrapped

    again = reader.parse(writer.serialize(message))

    # lxml writes the carriage return as a character reference, so even it survives.
    assert again.body.main_document.files[0].content == wrapped
    assert again.body.main_document.files[0].data == b"This is a test"


def test_file_content_that_is_not_base64_raises_memo_parse_error_when_decoded() -> None:
    file = File(encoding_format="text/plain", filename="x.txt", language="da", content="@@@")

    with pytest.raises(MemoParseError) as caught:
        _ = file.data

    assert caught.value.code == "memo.unreadable-value"


# --- Writer details -------------------------------------------------------------------------


def test_the_writer_uses_the_memo_prefix_and_declares_only_namespaces_in_use() -> None:
    sms = writer.serialize(nemsms(model.MEMO_1_2))
    full = writer.serialize(everything(model.MEMO_1_2))

    assert sms.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<memo:Message ')
    assert etree.fromstring(sms).nsmap == {"memo": MEMO}
    assert etree.fromstring(full).nsmap == model.NAMESPACES
    assert b"<grd:CPRdata><grd:cprNumber>0101151234</grd:cprNumber>" in full
    assert "Påmindelse".encode() in sms


def test_the_writer_writes_memo_sch_version_only_when_the_model_has_one() -> None:
    old = etree.fromstring(writer.serialize(minimal_letter(model.MEMO_1_1)))
    new = etree.fromstring(writer.serialize(minimal_letter(model.MEMO_1_2)))

    assert dict(old.attrib) == {"memoVersion": "1.1", "memoSchVersion": "1.1.0"}
    assert dict(new.attrib) == {"memoVersion": "1.2"}


def test_the_writer_writes_date_times_in_utc_with_z() -> None:
    message = minimal_letter(model.MEMO_1_2)
    copenhagen_summer = timezone(timedelta(hours=2))
    message.body.created_datetime = datetime(2025, 6, 1, 14, 30, tzinfo=copenhagen_summer)
    message.header.reply_by_datetime = datetime(2025, 6, 2, 8, 0, 0, 500000, tzinfo=UTC)

    root = etree.fromstring(writer.serialize(message))

    assert _one(root, "//memo:createdDateTime").text == "2025-06-01T12:30:00Z"
    assert _one(root, "//memo:replyByDateTime").text == "2025-06-02T08:00:00.500000Z"


def test_the_writer_refuses_a_naive_date_time() -> None:
    message = minimal_letter(model.MEMO_1_2)
    message.body.created_datetime = datetime(2025, 6, 1, 14, 30)

    with pytest.raises(ValueError, match=r"MessageBody\.created_datetime .*naive"):
        writer.serialize(message)


@pytest.mark.parametrize(
    ("change", "message_match"),
    [
        (lambda m: setattr(m.header, "message_uuid", str(MESSAGE_UUID)), r"message_uuid.*UUID"),
        (lambda m: setattr(m.header, "mandatory", "false"), r"MessageHeader\.mandatory.*bool"),
        (lambda m: setattr(m.header, "label", 42), r"MessageHeader\.label must be str"),
        (lambda m: setattr(m.header, "sender", m.header.recipient), r"sender must hold Sender"),
        (
            lambda m: setattr(m.header, "do_not_deliver_until_date", _utc(2025, 1, 1)),
            r"do_not_deliver_until_date.*date",
        ),
        (lambda m: setattr(m.body.main_document, "files", _pdf()), r"files must be a list"),
    ],
)
def test_the_writer_names_the_field_holding_a_value_of_the_wrong_type(change, message_match: str) -> None:
    message = minimal_letter(model.MEMO_1_2)
    change(message)

    with pytest.raises(TypeError, match=message_match):
        writer.serialize(message)


def test_the_writer_refuses_text_xml_cannot_carry() -> None:
    message = minimal_letter(model.MEMO_1_2)
    message.header.label = "bell\x07"

    with pytest.raises(ValueError, match=r"MessageHeader\.label cannot be written as XML"):
        writer.serialize(message)


def test_to_tree_gives_the_memo_message_element() -> None:
    root = writer.to_tree(minimal_letter(model.MEMO_1_2))

    assert root.tag == f"{{{MEMO}}}Message"
    assert reader.from_tree(root) == minimal_letter(model.MEMO_1_2)
