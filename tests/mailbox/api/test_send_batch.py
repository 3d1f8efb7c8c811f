"""POST /apis/v1/memos/ with a batch: an LZMA-compressed tar of MeMo files, or multipart `file`."""

from __future__ import annotations

import io
import lzma
import tarfile
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from mailbox.models import Batch, Message, Receipt
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import basic, letter, send_rows

pytestmark = pytest.mark.django_db

URL = "/apis/v1/memos/"


def tar_lzma(files: list[tuple[str, bytes]], *, fmt: int = lzma.FORMAT_ALONE, dirs: list[str] = ()) -> bytes:
    """A tar archive of ``files``, LZMA-compressed, as a sender system builds a batch."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, body in files:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return lzma.compress(raw.getvalue(), format=fmt)


@pytest.fixture
def client(client, django_capture_on_commit_callbacks):
    """The chunks are queued after the request commits (tasks run eagerly in tests): each POST
    here runs its on-commit callbacks, so the batch is judged before the test looks."""
    post = client.post

    def post_and_judge(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return post(*args, **kwargs)

    client.post = post_and_judge
    return client


def _summary(response) -> dict:
    """The batch's summary receipt (kind BATCH), checked against the answer's id and total."""
    answer = response.json()
    summary = Receipt.objects.get(kind=Receipt.Kind.BATCH, transmission_id=answer["batchId"]).details
    assert (summary["batchId"], summary["total"]) == (answer["batchId"], answer["total"])
    return {key: value for key, value in summary.items() if key != "batchId"}


@pytest.fixture
def sender():
    return OrganisationFactory(name="Kommunen")


@pytest.fixture
def sender_system(sender):
    return make_system(sender)


@pytest.fixture
def people():
    return [PersonFactory() for _ in range(3)]


def _post_lzma(client, sender_system, data: bytes, **extra):
    system, token = sender_system
    return client.post(URL, data=data, content_type="application/x-lzma", **basic(system, token), **extra)


def _refused(response, status: int, code: str) -> dict:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    return body


def _letters(sender, people) -> list[tuple[uuid.UUID, bytes]]:
    return [letter(sender_cvr=sender.cvr, recipient_id=p.cpr) for p in people]


@pytest.mark.parametrize("fmt", [lzma.FORMAT_ALONE, lzma.FORMAT_XZ], ids=["lzma", "xz"])
def test_a_batch_is_received_message_by_message(client, sender, sender_system, people, fmt):
    letters = _letters(sender, people)
    files = [(f"memo-{i}.xml", data) for i, (_, data) in enumerate(letters)]
    response = _post_lzma(client, sender_system, tar_lzma(files, fmt=fmt, dirs=["sub/"]))
    assert response.status_code == 201, response.json()
    body = response.json()
    batch_id = uuid.UUID(body["batchId"])
    assert body == {"batchId": str(batch_id), "total": 3}
    counts = _summary(response)
    assert counts == {"total": 3, "received": 3, "duplicates": 0, "notAllowed": 0, "invalid": 0}
    assert {m.message_uuid for m in Message.objects.all()} == {u for u, _ in letters}
    queued = Receipt.objects.filter(kind=Receipt.Kind.TECHNICAL).order_by("details__file")
    assert [(r.status, r.in_queue, r.details, r.message.message_uuid) for r in queued] == [
        (Receipt.Status.RECEIVED, True, {"batchId": str(batch_id), "file": name}, message_uuid)
        for (name, _), (message_uuid, _) in zip(files, letters, strict=True)
    ]
    summary = Receipt.objects.get(kind=Receipt.Kind.BATCH)
    assert (summary.transmission_id, summary.status, summary.in_queue, summary.sender_system) == (
        batch_id,
        Receipt.Status.COMPLETED,
        True,
        sender_system[0],
    )
    assert summary.details == {**counts, "batchId": str(batch_id)}
    assert not Batch.objects.get(pk=batch_id).chunks.filter(done_at__isnull=True).exists()


def test_every_kind_of_member_is_counted_and_queued(client, sender, sender_system, people):
    (ok_uuid, ok), (_, duplicate_source) = _letters(sender, people[:2])
    _, unknown = letter(sender_cvr=sender.cvr, recipient_id="0101011234")
    invalid = duplicate_source.replace(b"<memo:mandatory>false<", b"<memo:mandatory>maybe<")
    stranger = OrganisationFactory()
    _, foreign = letter(sender_cvr=stranger.cvr, recipient_id=people[2].cpr)
    files = [
        ("a-ok.xml", ok),
        ("b-again.xml", ok),
        ("c-unknown.xml", unknown),
        ("d-invalid.xml", invalid),
        ("e-foreign.xml", foreign),
        ("f-garbage.xml", b"not xml"),
    ]
    response = _post_lzma(client, sender_system, tar_lzma(files))
    assert response.status_code == 201, response.json()
    batch_id = response.json()["batchId"]
    assert _summary(response) == {"total": 6, "received": 1, "duplicates": 1, "notAllowed": 2, "invalid": 2}
    assert list(Message.objects.values_list("message_uuid", flat=True)) == [ok_uuid]
    queued = {
        r.details["file"]: r for r in Receipt.objects.filter(kind=Receipt.Kind.TECHNICAL, in_queue=True)
    }
    assert sorted(queued) == ["a-ok.xml", "c-unknown.xml", "d-invalid.xml", "e-foreign.xml", "f-garbage.xml"]
    assert {name: (r.status, r.error_code) for name, r in queued.items()} == {
        "a-ok.xml": ("RECEIVED", ""),
        "c-unknown.xml": ("NOT_ALLOWED", "RECIPIENT_NOT_FOUND"),
        "d-invalid.xml": ("INVALID", "MEMO_INVALID"),
        "e-foreign.xml": ("NOT_ALLOWED", "SENDER_NOT_ALLOWED"),
        "f-garbage.xml": ("INVALID", "MEMO_UNREADABLE"),
    }
    assert all(r.details["batchId"] == batch_id for r in queued.values())
    assert [(e["field"], e["code"]) for e in queued["d-invalid.xml"].details["fieldErrors"]] == [
        ("/Message/MessageHeader/mandatory", "schema.invalid-datatype")
    ]
    assert Receipt.objects.filter(kind=Receipt.Kind.TECHNICAL).count() == 5


def test_a_member_reusing_a_uuid_for_another_message_is_invalid(client, sender, sender_system, people):
    message_uuid, first = letter(sender_cvr=sender.cvr, recipient_id=people[0].cpr)
    _, second = letter(sender_cvr=sender.cvr, recipient_id=people[1].cpr, message_uuid=message_uuid)
    response = _post_lzma(client, sender_system, tar_lzma([("1.xml", first), ("2.xml", second)]))
    assert response.status_code == 201
    assert (_summary(response)["received"], _summary(response)["invalid"]) == (1, 1)
    refused = Receipt.objects.get(details__file="2.xml")
    assert (refused.status, refused.error_code) == (Receipt.Status.INVALID, "MESSAGE_UUID_ALREADY_USED")


def test_a_member_over_the_single_message_limit_is_invalid(client, sender, sender_system, people):
    (_, small), (_, large) = _letters(sender, people[:2])
    large = large.replace(b"<memo:label>Brev fra kommunen<", b"<memo:label>" + b"x" * 200 + b"<")
    with override_settings(DIGITALPOST_MAX_MEMO_BYTES=len(small)):
        response = _post_lzma(client, sender_system, tar_lzma([("small.xml", small), ("large.xml", large)]))
    assert response.status_code == 201
    assert (_summary(response)["received"], _summary(response)["invalid"]) == (1, 1)
    refused = Receipt.objects.get(details__file="large.xml")
    assert (refused.status, refused.error_code) == (Receipt.Status.INVALID, "PAYLOAD_TOO_LARGE")


def test_a_multipart_upload_with_a_file_part_works(client, sender, sender_system, people):
    system, token = sender_system
    letters = _letters(sender, people)
    archive = tar_lzma([(f"{u}.xml", data) for u, data in letters])
    upload = SimpleUploadedFile("batch.tar.lzma", archive, content_type="application/x-lzma")
    response = client.post(URL, data={"file": upload}, **basic(system, token))
    assert response.status_code == 201, response.json()
    assert _summary(response)["received"] == 3
    assert Message.objects.count() == 3


def test_a_multipart_file_part_may_hold_one_memo(client, sender, sender_system, people):
    system, token = sender_system
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=people[0].cpr)
    upload = SimpleUploadedFile(f"{message_uuid}.xml", data, content_type="application/xml")
    response = client.post(URL, data={"file": upload}, **basic(system, token))
    assert response.status_code == 201, response.json()
    assert (_summary(response)["total"], _summary(response)["received"]) == (1, 1)
    assert Message.objects.get().message_uuid == message_uuid


def test_a_multipart_upload_without_a_file_part_is_refused(client, sender, sender_system, people):
    system, token = sender_system
    archive = tar_lzma([("a.xml", letter(sender_cvr=sender.cvr, recipient_id=people[0].cpr)[1])])
    before = send_rows()
    upload = SimpleUploadedFile("batch.tar.lzma", archive)
    response = client.post(URL, data={"upload": upload}, **basic(system, token))
    _refused(response, 400, "FILE_PART_MISSING")
    assert send_rows() == before


def test_a_multipart_file_part_holding_one_memo_names_its_receipt_by_the_part(
    client, sender, sender_system, people
):
    system, token = sender_system
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=people[0].cpr)
    upload = SimpleUploadedFile("letter-17.xml", data, content_type="application/xml")
    assert client.post(URL, data={"file": upload}, **basic(system, token)).status_code == 201
    receipt = Receipt.objects.get(message_uuid=message_uuid, kind=Receipt.Kind.TECHNICAL)
    assert receipt.details["file"] == "letter-17.xml"


def test_a_multipart_upload_with_two_file_parts_is_refused_not_half_taken(
    client, sender, sender_system, people
):
    # Taking the last part and dropping the first would answer 201 for a file never judged.
    system, token = sender_system
    first, second = (tar_lzma([(f"{u}.xml", data)]) for u, data in _letters(sender, people)[:2])
    before = send_rows()
    response = client.post(
        URL,
        data={
            "file": [
                SimpleUploadedFile("1.tar.lzma", first, content_type="application/x-lzma"),
                SimpleUploadedFile("2.tar.lzma", second, content_type="application/x-lzma"),
            ]
        },
        **basic(system, token),
    )
    body = _refused(response, 400, "FILE_PART_REPEATED")
    assert "2 parts" in body["message"]
    assert send_rows() == before
    assert not Batch.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\x00bad"],
    ids=["no-boundary", "empty-boundary", "bad-boundary"],
)
def test_an_unreadable_multipart_body_gets_the_json_error_shape(client, sender_system, content_type):
    system, token = sender_system
    before = send_rows()
    response = client.post(URL, data=b"abc", content_type=content_type, **basic(system, token))
    assert response["Content-Type"] == "application/json"
    assert response.status_code == 400
    assert response.json()["code"] in ("MULTIPART_UNREADABLE", "FILE_PART_MISSING")
    assert send_rows() == before


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01garbage bytes, not lzma" * 10, lzma.compress(b"lzma, but no tar inside" * 40)],
    ids=["not-lzma", "not-tar"],
)
def test_an_unreadable_batch_is_refused(client, sender_system, data):
    before = send_rows()
    _refused(_post_lzma(client, sender_system, data), 400, "BATCH_UNREADABLE")
    assert send_rows() == before


def test_a_decompression_bomb_is_refused_before_it_is_unpacked(client, sender_system):
    # 8 MB of zeros compress to about a kilobyte; the hub unpacks at most 4 x the batch limit.
    bomb = tar_lzma([("bomb.xml", b"\0" * (8 * 1024 * 1024))])
    assert len(bomb) < 4096
    before = send_rows()
    with override_settings(DIGITALPOST_MAX_BATCH_BYTES=64 * 1024):
        response = _post_lzma(client, sender_system, bomb)
    _refused(response, 413, "BATCH_TOO_LARGE")
    assert send_rows() == before


def test_a_batch_body_over_the_limit_is_refused_with_413(client, sender, sender_system, people):
    archive = tar_lzma([(f"{i}.xml", data) for i, (_, data) in enumerate(_letters(sender, people))])
    before = send_rows()
    with override_settings(DIGITALPOST_MAX_BATCH_BYTES=len(archive) - 1):
        response = _post_lzma(client, sender_system, archive)
    _refused(response, 413, "PAYLOAD_TOO_LARGE")
    assert send_rows() == before


def test_a_multipart_body_over_the_limit_is_refused_with_413(client, sender, sender_system, people):
    system, token = sender_system
    archive = tar_lzma([(f"{i}.xml", data) for i, (_, data) in enumerate(_letters(sender, people))])
    before = send_rows()
    with override_settings(DIGITALPOST_MAX_BATCH_BYTES=len(archive)):
        response = client.post(
            URL, data={"file": SimpleUploadedFile("b.tar.lzma", archive)}, **basic(system, token)
        )
    _refused(response, 413, "PAYLOAD_TOO_LARGE")
    assert send_rows() == before


def test_a_batch_needs_credentials(client, sender, people):
    archive = tar_lzma([("a.xml", letter(sender_cvr=sender.cvr, recipient_id=people[0].cpr)[1])])
    before = send_rows()
    response = client.post(URL, data=archive, content_type="application/x-lzma")
    _refused(response, 401, "UNAUTHORIZED")
    assert send_rows() == before
