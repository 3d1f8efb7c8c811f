"""A typed Python model of a MeMo message (versions 1.1 and 1.2).

Every class stands for one MeMo element and every attribute for one of its children, in
the order the schema wants them. Values use Python types: ``uuid.UUID`` for MeMo UUIDs,
timezone-aware ``datetime`` for MeMo date-times (always UTC on the wire), ``date`` for
dates, ``bool`` for booleans, ``int`` for the two numeric identifiers (P-number and GLN)
and ``str`` for everything else, including open code lists such as ``idType``,
``postType`` and ``actionCode``. Repeated elements are lists.

Conventions:

* Fields the schema requires have no default, so building a message in code forces you to
  supply them. The reader is lenient, though: for schema-invalid input it leaves ``None``
  (or an empty list) where a required element is missing. Run the validator before you
  trust a parsed message.
* ``None`` means "element absent"; ``""`` means "element present but empty".
* The classes are plain mutable dataclasses with ``__slots__``; two messages compare equal
  when all their values do.

The bottom of the module declares :data:`LAYOUT`, the binding between XML elements and
fields that both :mod:`memo.reader` and :mod:`memo.writer` are driven by, so reading and
writing can never disagree about names or order.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple
from uuid import UUID

from memo.errors import MemoParseError
from memo.xmlsafe import MEMO_NS

# --- Namespaces ---------------------------------------------------------------------------

#: Conventional prefix -> namespace URI for every namespace a MeMo message uses.
NAMESPACES: dict[str, str] = {
    "memo": MEMO_NS,
    "grd": "https://data.gov.dk/model/core/",
    "gln": "https://www.gs1.dk/gs1-standarder/identifikation/gln-global-location-number/",
    "sor": "https://services.nsi.dk/en/Services/SOR",
    "kle": "http://kle-online.dk/",
    "form": "http://www.form-online.dk/",
    "dmv": "https://motorregister.skat.dk/",
    "udd": (
        "https://www.dst.dk/da/TilSalg/Forskningsservice/Dokumentation/"
        "hoejkvalitetsvariable/elevregister-2/udd#"
    ),
}

#: The value of ``memoVersion`` for the two supported versions.
MEMO_1_1 = "1.1"
MEMO_1_2 = "1.2"
#: ``memoSchVersion`` belonging to MeMo 1.1 (1.2 has no such attribute).
MEMO_SCH_VERSION_1_1 = "1.1.0"


class MessageType(enum.StrEnum):
    """``messageType``: the only closed code list in MeMo."""

    #: An ordinary Digital Post message with a body of documents.
    DIGITALPOST = "DIGITALPOST"
    #: A short text message (NemSMS); it has no body, the text is the notification.
    NEMSMS = "NEMSMS"


class ActionCode(enum.StrEnum):
    """Action codes in use. ``Action.action_code`` is an open ``str``; these are constants
    for convenience and compare equal to the plain strings."""

    AFTALE = "AFTALE"
    BEKRAEFT = "BEKRAEFT"
    BETALING = "BETALING"
    FORBEREDELSE = "FORBEREDELSE"
    INFORMATION = "INFORMATION"
    SELVBETJENING = "SELVBETJENING"
    TILMELDING = "TILMELDING"
    UNDERSKRIV = "UNDERSKRIV"


_record = dataclass(slots=True, kw_only=True)


# --- Shared building blocks (grd, gln, sor, ...) --------------------------------------------


@_record
class AddressPoint:
    """``grd:AddressPoint``: geographic coordinates of an address, as text."""

    easting: str | None = None
    northing: str | None = None
    height: str | None = None


@_record
class Address:
    """``grd:Address``: a structured Danish address (all parts optional)."""

    id: str | None = None
    address_label: str | None = None
    house_number: str | None = None
    door: str | None = None
    floor: str | None = None
    co: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country: str | None = None
    address_point: AddressPoint | None = None


@_record
class UnstructuredAddress:
    """``grd:UnstructuredAddress``: an address as one free-text line."""

    unstructured: str


@_record
class ProductionUnit:
    """``grd:ProductionUnit``: a company's production unit (P-number, up to 10 digits)."""

    production_unit_number: int
    production_unit_name: str | None = None


@_record
class GlobalLocationNumber:
    """``gln:GlobalLocationNumber``: a GS1 location number (up to 13 digits)."""

    global_location_number: int
    location: str | None = None


@_record
class SENumber:
    """``grd:SEnumber``: a company's SE number (tax registration)."""

    se_number: str
    company_name: str | None = None


@_record
class EID:
    """``grd:EID``: an electronic identity (e.g. a CVR/RID pair)."""

    eid: str
    label: str | None = None


@_record
class SORData:
    """``sor:SORdata``: an entry in the health sector's organisation register (SOR)."""

    sor_identifier: str
    entry_name: str | None = None


# --- Sender, recipient and who to address --------------------------------------------------


@_record
class AttentionPerson:
    """``AttentionPerson``: the person a message is for the attention of."""

    person_id: str | None = None
    label: str | None = None


@_record
class EMail:
    """``EMail``: an e-mail address and, optionally, whom it belongs to."""

    email_address: str
    related_agent: str | None = None


@_record
class Telephone:
    """``Telephone``: a phone number and, optionally, whom it belongs to."""

    telephone_number: str
    related_agent: str | None = None


@_record
class ContentResponsible:
    """``ContentResponsible``: the unit responsible for the message's content."""

    content_responsible_id: str | None = None
    label: str | None = None


@_record
class GeneratingSystem:
    """``GeneratingSystem``: the IT system that produced the message."""

    generating_system_id: str
    label: str | None = None


@_record
class AttentionData:
    """``AttentionData``: optional details that route a message within the sender or
    recipient organisation (person, unit, addresses, ...). At most one of each."""

    attention_person: AttentionPerson | None = None
    production_unit: ProductionUnit | None = None
    global_location_number: GlobalLocationNumber | None = None
    email: EMail | None = None
    se_number: SENumber | None = None
    telephone: Telephone | None = None
    eid: EID | None = None
    content_responsible: ContentResponsible | None = None
    generating_system: GeneratingSystem | None = None
    sor_data: SORData | None = None
    address: Address | None = None
    unstructured_address: UnstructuredAddress | None = None


@_record
class ContactInfo:
    """``ContactInfo``: a label/value pair shown with a contact point."""

    label: str
    value: str


@_record
class ContactPoint:
    """``ContactPoint``: a function within an organisation that handles a subject, to which
    replies can be routed. Carries at most two ``ContactInfo`` entries."""

    contact_group: str | None = None
    contact_point_id: str
    label: str | None = None
    contact_info: list[ContactInfo] = field(default_factory=list)


@_record
class Representative:
    """``Representative`` (MeMo 1.2 only): someone sending on behalf of the sender."""

    representative_id: str | None = None
    id_type: str | None = None
    id_type_label: str | None = None
    label: str | None = None


@_record
class Sender:
    """``Sender``: who sends the message. ``id_type`` is e.g. ``CVR`` or ``CPR``."""

    sender_id: str
    id_type: str
    id_type_label: str | None = None
    label: str
    attention_data: AttentionData | None = None
    contact_point: ContactPoint | None = None
    #: MeMo 1.2 only.
    representative: Representative | None = None


@_record
class Recipient:
    """``Recipient``: who receives the message. ``id_type`` is e.g. ``CPR`` or ``CVR``."""

    recipient_id: str
    id_type: str
    id_type_label: str | None = None
    label: str | None = None
    attention_data: AttentionData | None = None
    contact_point: ContactPoint | None = None


# --- What the message is about ---------------------------------------------------------------


@_record
class CPRData:
    """``grd:CPRdata``: a person the message concerns (CPR number, 10 digits)."""

    cpr_number: str
    name: str | None = None


@_record
class CVRData:
    """``grd:CVRdata``: a company the message concerns (CVR number, 8 digits)."""

    cvr_number: str
    company_name: str | None = None


@_record
class MotorVehicle:
    """``dmv:MotorVehicle``: a vehicle the message concerns."""

    license_number: str
    chassis_number: str | None = None


@_record
class PropertyNumber:
    """``grd:PropertyNumber``: a real property the message concerns."""

    property_number: str


@_record
class CaseID:
    """``CaseID``: the sender's case the message belongs to, and the case system."""

    case_id: str
    case_system: str


@_record
class KLEData:
    """``kle:KLEdata``: classification by the municipal KLE subject key."""

    subject_key: str
    version: str
    activity_facet: str | None = None
    label: str


@_record
class FORMData:
    """``form:FORMdata``: classification by the state FORM task key."""

    task_key: str
    version: str
    activity_facet: str | None = None
    label: str


@_record
class Education:
    """``udd:Education``: an education the message concerns."""

    education_code: str
    education_name: str | None = None


@_record
class AdditionalContentData:
    """``AdditionalContentData``: a free name/value pair (at most 10 per message)."""

    content_data_type: str | None = None
    content_data_name: str
    content_data_value: str


@_record
class ContentData:
    """``ContentData``: structured facts about what the message concerns."""

    cpr_data: CPRData | None = None
    cvr_data: CVRData | None = None
    motor_vehicle: MotorVehicle | None = None
    property_number: PropertyNumber | None = None
    case_id: CaseID | None = None
    kle_data: KLEData | None = None
    form_data: FORMData | None = None
    production_unit: ProductionUnit | None = None
    education: Education | None = None
    address: Address | None = None
    unstructured_address: UnstructuredAddress | None = None
    additional_content_data: list[AdditionalContentData] = field(default_factory=list)


@_record
class ForwardData:
    """``ForwardData``: present when the message forwards an earlier one."""

    message_uuid: UUID
    original_message_datetime: datetime
    original_sender: str
    original_content_responsible: str | None = None
    #: MeMo 1.2 only.
    original_representative: str | None = None
    contact_point_id: str | None = None
    comment: str | None = None


@_record
class AdditionalReplyData:
    """``AdditionalReplyData``: a free label/value pair in a reply (at most 4)."""

    label: str
    value: str


@_record
class ReplyData:
    """``ReplyData``: ties the message to an earlier one in a conversation, so a reply can
    find its way back to the right case, system and contact point."""

    message_id: str | None = None
    message_uuid: UUID
    reply_uuid: UUID | None = None
    sender_id: str | None = None
    recipient_id: str | None = None
    case_id: str | None = None
    contact_point_id: str | None = None
    generating_system_id: str | None = None
    comment: str | None = None
    additional_reply_data: list[AdditionalReplyData] = field(default_factory=list)


@_record
class MessageHeader:
    """``MessageHeader``: everything about the message except its documents."""

    message_type: MessageType
    message_uuid: UUID
    message_id: str | None = None
    message_code: str | None = None
    #: The subject line (at most 256 characters).
    label: str
    #: Text for the recipient's notification (at most 160 characters); for NemSMS the text.
    notification: str | None = None
    additional_notification: str | None = None
    #: Whether the sender allows a reply (schema default: false).
    reply: bool | None = None
    reply_by_datetime: datetime | None = None
    #: The value date ("valørdato"): not to be delivered before this date.
    do_not_deliver_until_date: date | None = None
    #: Required (``False`` by convention) in 1.1, optional in 1.2.
    mandatory: bool | None = None
    #: Required (``False`` by convention) in 1.1, optional in 1.2.
    legal_notification: bool | None = None
    post_type: str | None = None
    sender: Sender
    recipient: Recipient
    content_data: ContentData | None = None
    forward_data: ForwardData | None = None
    reply_data: list[ReplyData] = field(default_factory=list)


# --- The body: documents, files and actions --------------------------------------------------


@_record
class File:
    """``File``: one rendering of a document (e.g. the PDF, or a plain-text variant).

    ``content`` is kept as the base64 text found on the wire, so that reading a large
    message costs no decoding and writing it back is exact; :attr:`data` decodes on demand.
    """

    encoding_format: str
    filename: str
    #: Two-letter language code, e.g. ``da``.
    language: str
    content: str = field(repr=False)

    @classmethod
    def from_bytes(cls, data: bytes, *, filename: str, encoding_format: str, language: str = "da") -> File:
        """Build a file from raw bytes, encoding them as base64."""
        return cls(
            encoding_format=encoding_format,
            filename=filename,
            language=language,
            content=base64.b64encode(data).decode("ascii"),
        )

    @property
    def data(self) -> bytes:
        """The decoded content (decoded on every access; keep the result if you need it twice).

        Raises :class:`MemoParseError` (``memo.unreadable-value``) if the content is not
        base64.
        """
        try:
            return base64.b64decode("".join(self.content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise MemoParseError(
                "memo.unreadable-value",
                f"The content of file {self.filename!r} is not valid base64.",
                "File/content",
            ) from None


@_record
class EntryPoint:
    """``EntryPoint``: the web address an action leads to (at most 256 characters)."""

    url: str


@_record
class Reservation:
    """``Reservation``: a calendar appointment the recipient can add to their calendar."""

    description: str
    reservation_uuid: UUID
    abstract: str
    location: str
    start_datetime: datetime
    end_datetime: datetime
    organizer_mail: str | None = None
    organizer_name: str | None = None


@_record
class Action:
    """``Action``: something the recipient can do from a document, e.g. book a time
    (``reservation``) or open a self-service page (``entry_point``). The schema allows one
    of the two, or neither."""

    label: str
    action_code: str
    start_datetime: datetime | None = None
    end_datetime: datetime | None = None
    reservation: Reservation | None = None
    entry_point: EntryPoint | None = None


@_record
class MainDocument:
    """``MainDocument``: the letter itself, in one or more files."""

    document_id: str | None = None
    label: str | None = None
    files: list[File] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@_record
class AdditionalDocument:
    """``AdditionalDocument``: an attachment, in one or more files."""

    document_id: str | None = None
    label: str | None = None
    files: list[File] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@_record
class TechnicalDocument:
    """``TechnicalDocument``: machine-readable data for systems, not shown to people."""

    document_id: str | None = None
    label: str | None = None
    files: list[File] = field(default_factory=list)


@_record
class MessageBody:
    """``MessageBody``: the documents. A NemSMS has no body."""

    created_datetime: datetime
    main_document: MainDocument
    additional_documents: list[AdditionalDocument] = field(default_factory=list)
    technical_documents: list[TechnicalDocument] = field(default_factory=list)

    def documents(self) -> Iterator[MainDocument | AdditionalDocument | TechnicalDocument]:
        """The main document, then the additional and technical documents, in order."""
        if self.main_document is not None:
            yield self.main_document
        yield from self.additional_documents
        yield from self.technical_documents


@_record
class Message:
    """``Message``: a whole MeMo message.

    ``memo_version`` is ``"1.1"`` or ``"1.2"``. ``memo_sch_version`` is required in 1.1
    (``"1.1.0"``) and must be ``None`` in 1.2; the writer writes exactly what is here.
    """

    memo_version: str
    memo_sch_version: str | None = None
    header: MessageHeader
    body: MessageBody | None = None


# --- XML layout shared by the reader and the writer -----------------------------------------


class XsdType(enum.Enum):
    """How a leaf element's text maps to a Python value."""

    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "dateTime"
    UUID = "uuid"
    LONG = "long"
    MESSAGE_TYPE = "messageType"


class Binding(NamedTuple):
    """One child element of a MeMo element and the field it fills."""

    #: Namespace-qualified tag in Clark notation, ``{uri}local``.
    tag: str
    field: str
    #: A leaf's value type, or the model class of a nested element.
    kind: XsdType | type
    many: bool = False


def _q(prefix: str, local: str) -> str:
    return f"{{{NAMESPACES[prefix]}}}{local}"


_S = XsdType.STRING


def _leaves(prefix: str, *pairs: tuple[str, str] | tuple[str, str, XsdType]) -> tuple:
    return tuple(Binding(_q(prefix, p[0]), p[1], p[2] if len(p) > 2 else _S) for p in pairs)


#: For each model class, its child elements in schema order. The ``Message`` attributes
#: (``memoVersion``, ``memoSchVersion``) are handled by the reader and writer directly.
LAYOUT: dict[type, tuple[Binding, ...]] = {
    AddressPoint: _leaves(
        "grd",
        ("geographicEastingMeasure", "easting"),
        ("geographicNorthingMeasure", "northing"),
        ("geographicHeightMeasure", "height"),
    ),
    Address: (
        *_leaves(
            "grd",
            ("id", "id"),
            ("addressLabel", "address_label"),
            ("houseNumber", "house_number"),
            ("door", "door"),
            ("floor", "floor"),
            ("co", "co"),
            ("zipCode", "zip_code"),
            ("city", "city"),
            ("country", "country"),
        ),
        Binding(_q("grd", "AddressPoint"), "address_point", AddressPoint),
    ),
    UnstructuredAddress: _leaves("grd", ("unstructured", "unstructured")),
    ProductionUnit: _leaves(
        "grd",
        ("productionUnitNumber", "production_unit_number", XsdType.LONG),
        ("productionUnitName", "production_unit_name"),
    ),
    GlobalLocationNumber: _leaves(
        "gln",
        ("globalLocationNumber", "global_location_number", XsdType.LONG),
        ("location", "location"),
    ),
    SENumber: _leaves("grd", ("seNumber", "se_number"), ("companyName", "company_name")),
    EID: _leaves("grd", ("eID", "eid"), ("label", "label")),
    SORData: _leaves("sor", ("sorIdentifier", "sor_identifier"), ("entryName", "entry_name")),
    AttentionPerson: _leaves("memo", ("personID", "person_id"), ("label", "label")),
    EMail: _leaves("memo", ("emailAddress", "email_address"), ("relatedAgent", "related_agent")),
    Telephone: _leaves("memo", ("telephoneNumber", "telephone_number"), ("relatedAgent", "related_agent")),
    ContentResponsible: _leaves(
        "memo", ("contentResponsibleID", "content_responsible_id"), ("label", "label")
    ),
    GeneratingSystem: _leaves("memo", ("generatingSystemID", "generating_system_id"), ("label", "label")),
    AttentionData: (
        Binding(_q("memo", "AttentionPerson"), "attention_person", AttentionPerson),
        Binding(_q("grd", "ProductionUnit"), "production_unit", ProductionUnit),
        Binding(_q("gln", "GlobalLocationNumber"), "global_location_number", GlobalLocationNumber),
        Binding(_q("memo", "EMail"), "email", EMail),
        Binding(_q("grd", "SEnumber"), "se_number", SENumber),
        Binding(_q("memo", "Telephone"), "telephone", Telephone),
        Binding(_q("grd", "EID"), "eid", EID),
        Binding(_q("memo", "ContentResponsible"), "content_responsible", ContentResponsible),
        Binding(_q("memo", "GeneratingSystem"), "generating_system", GeneratingSystem),
        Binding(_q("sor", "SORdata"), "sor_data", SORData),
        Binding(_q("grd", "Address"), "address", Address),
        Binding(_q("grd", "UnstructuredAddress"), "unstructured_address", UnstructuredAddress),
    ),
    ContactInfo: _leaves("memo", ("label", "label"), ("value", "value")),
    ContactPoint: (
        *_leaves(
            "memo",
            ("contactGroup", "contact_group"),
            ("contactPointID", "contact_point_id"),
            ("label", "label"),
        ),
        Binding(_q("memo", "ContactInfo"), "contact_info", ContactInfo, many=True),
    ),
    Representative: _leaves(
        "memo",
        ("representativeID", "representative_id"),
        ("idType", "id_type"),
        ("idTypeLabel", "id_type_label"),
        ("label", "label"),
    ),
    Sender: (
        *_leaves(
            "memo",
            ("senderID", "sender_id"),
            ("idType", "id_type"),
            ("idTypeLabel", "id_type_label"),
            ("label", "label"),
        ),
        Binding(_q("memo", "AttentionData"), "attention_data", AttentionData),
        Binding(_q("memo", "ContactPoint"), "contact_point", ContactPoint),
        Binding(_q("memo", "Representative"), "representative", Representative),
    ),
    Recipient: (
        *_leaves(
            "memo",
            ("recipientID", "recipient_id"),
            ("idType", "id_type"),
            ("idTypeLabel", "id_type_label"),
            ("label", "label"),
        ),
        Binding(_q("memo", "AttentionData"), "attention_data", AttentionData),
        Binding(_q("memo", "ContactPoint"), "contact_point", ContactPoint),
    ),
    CPRData: _leaves("grd", ("cprNumber", "cpr_number"), ("name", "name")),
    CVRData: _leaves("grd", ("cvrNumber", "cvr_number"), ("companyName", "company_name")),
    MotorVehicle: _leaves("dmv", ("licenseNumber", "license_number"), ("chassisNumber", "chassis_number")),
    PropertyNumber: _leaves("grd", ("propertyNumber", "property_number")),
    CaseID: _leaves("memo", ("caseID", "case_id"), ("caseSystem", "case_system")),
    KLEData: _leaves(
        "kle",
        ("subjectKey", "subject_key"),
        ("version", "version"),
        ("activityFacet", "activity_facet"),
        ("label", "label"),
    ),
    FORMData: _leaves(
        "form",
        ("taskKey", "task_key"),
        ("version", "version"),
        ("activityFacet", "activity_facet"),
        ("label", "label"),
    ),
    Education: _leaves("udd", ("educationCode", "education_code"), ("educationName", "education_name")),
    AdditionalContentData: _leaves(
        "memo",
        ("contentDataType", "content_data_type"),
        ("contentDataName", "content_data_name"),
        ("contentDataValue", "content_data_value"),
    ),
    ContentData: (
        Binding(_q("grd", "CPRdata"), "cpr_data", CPRData),
        Binding(_q("grd", "CVRdata"), "cvr_data", CVRData),
        Binding(_q("dmv", "MotorVehicle"), "motor_vehicle", MotorVehicle),
        Binding(_q("grd", "PropertyNumber"), "property_number", PropertyNumber),
        Binding(_q("memo", "CaseID"), "case_id", CaseID),
        Binding(_q("kle", "KLEdata"), "kle_data", KLEData),
        Binding(_q("form", "FORMdata"), "form_data", FORMData),
        Binding(_q("grd", "ProductionUnit"), "production_unit", ProductionUnit),
        Binding(_q("udd", "Education"), "education", Education),
        Binding(_q("grd", "Address"), "address", Address),
        Binding(_q("grd", "UnstructuredAddress"), "unstructured_address", UnstructuredAddress),
        Binding(
            _q("memo", "AdditionalContentData"),
            "additional_content_data",
            AdditionalContentData,
            many=True,
        ),
    ),
    ForwardData: _leaves(
        "memo",
        ("messageUUID", "message_uuid", XsdType.UUID),
        ("originalMessageDateTime", "original_message_datetime", XsdType.DATETIME),
        ("originalSender", "original_sender"),
        ("originalContentResponsible", "original_content_responsible"),
        ("originalRepresentative", "original_representative"),
        ("contactPointID", "contact_point_id"),
        ("comment", "comment"),
    ),
    AdditionalReplyData: _leaves("memo", ("label", "label"), ("value", "value")),
    ReplyData: (
        *_leaves(
            "memo",
            ("messageID", "message_id"),
            ("messageUUID", "message_uuid", XsdType.UUID),
            ("replyUUID", "reply_uuid", XsdType.UUID),
            ("senderID", "sender_id"),
            ("recipientID", "recipient_id"),
            ("caseID", "case_id"),
            ("contactPointID", "contact_point_id"),
            ("generatingSystemID", "generating_system_id"),
            ("comment", "comment"),
        ),
        Binding(
            _q("memo", "AdditionalReplyData"),
            "additional_reply_data",
            AdditionalReplyData,
            many=True,
        ),
    ),
    MessageHeader: (
        *_leaves(
            "memo",
            ("messageType", "message_type", XsdType.MESSAGE_TYPE),
            ("messageUUID", "message_uuid", XsdType.UUID),
            ("messageID", "message_id"),
            ("messageCode", "message_code"),
            ("label", "label"),
            ("notification", "notification"),
            ("additionalNotification", "additional_notification"),
            ("reply", "reply", XsdType.BOOLEAN),
            ("replyByDateTime", "reply_by_datetime", XsdType.DATETIME),
            ("doNotDeliverUntilDate", "do_not_deliver_until_date", XsdType.DATE),
            ("mandatory", "mandatory", XsdType.BOOLEAN),
            ("legalNotification", "legal_notification", XsdType.BOOLEAN),
            ("postType", "post_type"),
        ),
        Binding(_q("memo", "Sender"), "sender", Sender),
        Binding(_q("memo", "Recipient"), "recipient", Recipient),
        Binding(_q("memo", "ContentData"), "content_data", ContentData),
        Binding(_q("memo", "ForwardData"), "forward_data", ForwardData),
        Binding(_q("memo", "ReplyData"), "reply_data", ReplyData, many=True),
    ),
    File: _leaves(
        "memo",
        ("encodingFormat", "encoding_format"),
        ("filename", "filename"),
        ("language", "language"),
        ("content", "content"),
    ),
    EntryPoint: _leaves("memo", ("url", "url")),
    Reservation: _leaves(
        "memo",
        ("description", "description"),
        ("reservationUUID", "reservation_uuid", XsdType.UUID),
        ("abstract", "abstract"),
        ("location", "location"),
        ("startDateTime", "start_datetime", XsdType.DATETIME),
        ("endDateTime", "end_datetime", XsdType.DATETIME),
        ("organizerMail", "organizer_mail"),
        ("organizerName", "organizer_name"),
    ),
    Action: (
        *_leaves(
            "memo",
            ("label", "label"),
            ("actionCode", "action_code"),
            ("startDateTime", "start_datetime", XsdType.DATETIME),
            ("endDateTime", "end_datetime", XsdType.DATETIME),
        ),
        Binding(_q("memo", "Reservation"), "reservation", Reservation),
        Binding(_q("memo", "EntryPoint"), "entry_point", EntryPoint),
    ),
    MainDocument: (
        *_leaves("memo", ("mainDocumentID", "document_id"), ("label", "label")),
        Binding(_q("memo", "File"), "files", File, many=True),
        Binding(_q("memo", "Action"), "actions", Action, many=True),
    ),
    AdditionalDocument: (
        *_leaves("memo", ("additionalDocumentID", "document_id"), ("label", "label")),
        Binding(_q("memo", "File"), "files", File, many=True),
        Binding(_q("memo", "Action"), "actions", Action, many=True),
    ),
    TechnicalDocument: (
        *_leaves("memo", ("technicalDocumentID", "document_id"), ("label", "label")),
        Binding(_q("memo", "File"), "files", File, many=True),
    ),
    MessageBody: (
        Binding(_q("memo", "createdDateTime"), "created_datetime", XsdType.DATETIME),
        Binding(_q("memo", "MainDocument"), "main_document", MainDocument),
        Binding(
            _q("memo", "AdditionalDocument"),
            "additional_documents",
            AdditionalDocument,
            many=True,
        ),
        Binding(
            _q("memo", "TechnicalDocument"),
            "technical_documents",
            TechnicalDocument,
            many=True,
        ),
    ),
    Message: (
        Binding(_q("memo", "MessageHeader"), "header", MessageHeader),
        Binding(_q("memo", "MessageBody"), "body", MessageBody),
    ),
}
