"""Sender systems: send one MeMo, send a batch, recall before the value date."""

from __future__ import annotations

import lzma
import tarfile
import tempfile
import uuid
from datetime import UTC
from urllib.parse import parse_qsl

import orjson
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from adminaccess.authentication import CredentialsChanged, SystemBasicAuthentication, UncheckedVersion
from adminaccess.models import System
from mailbox.api.common import HTTP_413, SystemAPIView, error_body, error_response
from mailbox.models import Receipt
from mailbox.sending import RecallRefused, SendRefused, memo_recall, memo_send

XML_TYPES = ("application/xml", "text/xml")
LZMA_TYPE = "application/x-lzma"
MULTIPART_TYPE = "multipart/form-data"


class ReceiptSerializer(serializers.Serializer):
    """NgDP's Receipt."""

    transmissionId = serializers.UUIDField(source="transmission_id")
    messageUUID = serializers.UUIDField(source="message_uuid", allow_null=True)
    messageId = serializers.SerializerMethodField()
    errorCode = serializers.CharField(source="error_code", allow_blank=True)
    errorMessage = serializers.CharField(source="error_message", allow_blank=True)
    timeStamp = serializers.DateTimeField(source="created_at", default_timezone=UTC)
    receiptStatus = serializers.ChoiceField(source="status", choices=Receipt.Status.choices)

    def get_messageId(self, receipt: Receipt) -> str | None:
        return receipt.message.message_id or None if receipt.message_id else None


ERROR_SCHEMA = inline_serializer(
    "Error",
    {
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "fieldErrors": serializers.ListField(
            child=inline_serializer(
                "FieldError",
                {
                    "resource": serializers.CharField(),
                    "field": serializers.CharField(),
                    "code": serializers.CharField(),
                    "message": serializers.CharField(),
                    "rejectedValue": serializers.CharField(allow_null=True),
                },
            )
        ),
    },
)


class RawBodyParser(BaseParser):
    """Declares the media types we take; the view reads the body itself, within the limit."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):  # pragma: no cover - unused
        return None


def read_body(request, limit: int) -> bytes | None:
    """The body, or None if it is larger than ``limit`` (checked before reading where possible).
    ``request`` is Django's request or DRF's wrapper of it. Read once per request: a second
    call (a send tried again after authenticating afresh) gets the same answer."""
    request = getattr(request, "_request", request)
    if "_digitalpost_body" in request.__dict__:
        return request._digitalpost_body
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        data = None
    else:
        data = request.read(limit + 1)
        data = None if len(data) > limit else data
    request._digitalpost_body = data
    return data


def query_value(request, name: str) -> str | None:
    """``request.GET.get(name)`` without building the QueryDict (a noticeable share of a
    single send); for a query string with more fields than Django takes, Django's own
    refusal."""
    request = getattr(request, "_request", request)
    if "GET" in request.__dict__:
        return request.GET.get(name)
    try:
        pairs = parse_qsl(
            request.META.get("QUERY_STRING", ""),
            keep_blank_values=True,
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except ValueError:
        return request.GET.get(name)  # raises TooManyFieldsSent: a 400
    found = None
    for key, value in pairs:
        if key == name:
            found = value  # the last one, as QueryDict.get
    return found


def receipt_body(receipt: Receipt) -> dict:
    """:class:`ReceiptSerializer`'s output, built directly (the send path's answer)."""
    stamp = receipt.created_at.astimezone(UTC).isoformat()
    return {
        "transmissionId": str(receipt.transmission_id),
        "messageUUID": str(receipt.message_uuid) if receipt.message_uuid is not None else None,
        "messageId": (receipt.message.message_id or None) if receipt.message_id else None,
        "errorCode": receipt.error_code,
        "errorMessage": receipt.error_message,
        "timeStamp": stamp[:-6] + "Z" if stamp.endswith("+00:00") else stamp,
        "receiptStatus": receipt.status,
    }


def send_single(request, system, unchecked: UncheckedVersion | None = None) -> tuple[int, dict]:
    """One MeMo in the body: (HTTP status, body). Shared by both ways into POST /memos/.
    With ``unchecked`` (credentials from the cache, see memo_send) any answer comes only once
    they are checked; if they changed, CredentialsChanged is raised and nothing is stored."""

    def refused(status_code: int, body: dict) -> tuple[int, dict]:
        if unchecked is not None:
            unchecked.check()
        return status_code, body

    raw_uuid = query_value(request, "memo-message-uuid")
    if not raw_uuid:
        return refused(
            400, error_body("MESSAGE_UUID_MISSING", "The query parameter memo-message-uuid is required.")
        )
    try:
        expected = uuid.UUID(raw_uuid)
    except ValueError:
        return refused(
            400, error_body("MESSAGE_UUID_MISMATCH", f"memo-message-uuid {raw_uuid!r} is not a UUID.")
        )
    limit = settings.DIGITALPOST_MAX_MEMO_BYTES
    data = read_body(request, limit)
    if data is None:
        return refused(
            HTTP_413, error_body("PAYLOAD_TOO_LARGE", f"The request body is larger than {limit} bytes.")
        )
    try:
        result = memo_send(data=data, system=system, expected_uuid=expected, unchecked=unchecked)
    except SendRefused as refusal:
        return refusal.status, error_body(refusal.code, refusal.message, refusal.field_errors)
    return status.HTTP_201_CREATED, receipt_body(result.receipt)


def too_large(limit: int) -> Response:
    return error_response(HTTP_413, "PAYLOAD_TOO_LARGE", f"The request body is larger than {limit} bytes.")


class SendMemoView(SystemAPIView):
    """POST /apis/v1/memos/ : one MeMo (XML) or a batch (LZMA tar, or multipart part `file`)."""

    parser_classes = [RawBodyParser]

    @extend_schema(
        operation_id="sendMemo",
        summary="Send one MeMo message, or a batch",
        description=(
            "With `Content-Type: application/xml` (or `text/xml`) the body is one MeMo message and "
            "`memo-message-uuid` must equal its messageUUID; the answer is a Receipt. With "
            "`application/x-lzma` (a tar archive of MeMo files, LZMA-compressed), or multipart/form-data "
            "with a part named `file`, the body is a batch: the answer (`{batchId, total}`) comes as soon "
            "as the archive is unpacked and its files are in the hub's care; the files are then judged "
            "by the workers, each message's receipt goes to the receipt queue, and so does a summary "
            "receipt (kind BATCH: total, received, duplicates, notAllowed, invalid) once all are judged."
        ),
        parameters=[OpenApiParameter("memo-message-uuid", OpenApiTypes.UUID, OpenApiParameter.QUERY)],
        request={
            "application/xml": OpenApiTypes.STR,
            LZMA_TYPE: OpenApiTypes.BINARY,
            MULTIPART_TYPE: OpenApiTypes.BINARY,
        },
        responses={
            201: ReceiptSerializer,
            400: OpenApiResponse(ERROR_SCHEMA, description="Invalid MeMo (one field error per problem)"),
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            409: OpenApiResponse(ERROR_SCHEMA, description="messageUUID already used for another message"),
            413: ERROR_SCHEMA,
            415: ERROR_SCHEMA,
        },
    )
    def post(self, request):
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type in XML_TYPES:
            return self._single(request)
        if content_type in (LZMA_TYPE, MULTIPART_TYPE):
            from mailbox.api.batch import send_batch

            return send_batch(request, content_type)
        return error_response(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Send MeMo as {' or '.join(XML_TYPES)}, or a batch as {LZMA_TYPE} or {MULTIPART_TYPE}.",
        )

    def _single(self, request):
        status_code, body = send_single(request._request, request.auth)
        return Response(body, status=status_code)


_send_memo_view = SendMemoView.as_view()


@csrf_exempt
def send_memo(request):
    """POST /apis/v1/memos/ without DRF where that changes nothing: a sender system sending
    one MeMo (XML). DRF's request wrapping, permission classes and renderer are a noticeable
    share of a single send; here the same authentication runs directly (the check of a
    cached credential folded into the statement that stores the message) and the same body
    is written as compact JSON, as DRF's renderer writes it. Everything else (batches, other
    content types, every refused credential) goes to :class:`SendMemoView`, which answers
    exactly as before."""
    content_type = request.content_type.lower()
    if content_type not in XML_TYPES or not request.META.get("HTTP_AUTHORIZATION"):
        return _send_memo_view(request)
    found = _sender_system(request, defer_check=True)
    if found is None:
        return _send_memo_view(request)
    try:
        status_code, body = _without_health_check(lambda: send_single(request, *found))
    except CredentialsChanged:
        # The cached system's rows changed (nothing was stored): authenticate afresh and
        # send again; DRF's view answers a credential that no longer holds, as always (it
        # refuses before it reads a body).
        found = _sender_system(request, defer_check=False)
        if found is None:
            return _send_memo_view(request)
        status_code, body = send_single(request, *found)
    return HttpResponse(
        orjson.dumps(body),  # compact UTF-8, as DRF's renderer writes it
        status=status_code,
        content_type="application/json",
    )


def _without_health_check(send):
    """``send()`` on the request's database connection without checking it first.

    With ``CONN_HEALTH_CHECKS`` Django asks a reused connection ``SELECT 1`` before a
    request's first query: a round trip as long as the statement that stores a letter. The
    send does without it and takes the check's place itself: if the connection fails at the
    send's first query (found dead, as the check would have found it), it is closed and the
    send made once more on a new one. That first query is the statement that stores the
    letter, or a read; a send is idempotent, so even where the statement had committed
    before its answer was lost, the second send finds the message by its messageUUID and
    answers with its receipt. A failure after a query went through, or on a connection that
    still answers, is the send's own and raised, as before. Inside a transaction, or on a
    connection not yet open, Django's own handling applies.
    """
    if (
        connection.connection is None
        or not connection.health_check_enabled
        or connection.health_check_done
        or connection.in_atomic_block
    ):
        return send()
    connection.health_check_done = True
    answered = []

    def noting(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        answered.append(True)
        return result

    try:
        with connection.execute_wrapper(noting):
            return send()
    except (OperationalError, InterfaceError):
        if answered or (connection.connection is not None and connection.is_usable()):
            raise
    connection.close()
    return send()


def _sender_system(request, *, defer_check: bool) -> tuple[System, UncheckedVersion | None] | None:
    """The sender system the request authenticates as, or None where DRF's view must answer
    (no such credential, or not a sender system's)."""
    authentication = SystemBasicAuthentication()
    try:
        if defer_check:
            found = authentication.authenticate_deferring_check(request)
        else:
            principal = authentication.authenticate(request)
            found = None if principal is None else (principal[1], None)
    except exceptions.APIException:
        return None
    if found is None or found[0].kind != System.Kind.SENDER:
        return None
    return found


# The OpenAPI schema documents POST /memos/ by the view it falls back to (mailbox/api/schema.py).
send_memo.documented_by = _send_memo_view


class RecallMemoView(SystemAPIView):
    """DELETE /apis/v1/memos/{messageUUID} : recall a message not yet delivered."""

    @extend_schema(
        operation_id="recallMemo",
        summary="Recall a message before it is delivered (before its value date)",
        responses={204: None, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
    )
    def delete(self, request, message_uuid: uuid.UUID):
        try:
            with transaction.atomic():
                memo_recall(message_uuid=message_uuid, system=request.auth)
        except RecallRefused as refused:
            return error_response(refused.status, refused.code, refused.message)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BatchTooLarge(ValueError):
    """The archive unpacks to more, or holds more files, than the hub takes in one batch."""


def unpack_lzma_tar(data: bytes, *, max_member: int, max_members: int, max_unpacked: int):
    """Yield (name, bytes) for each regular file of an LZMA-compressed tar, within limits.

    Decompression is bounded before a byte is unpacked past ``max_unpacked``, so a small
    archive that expands enormously is refused instead of filling memory.
    """
    decompressor = lzma.LZMADecompressor()
    # Unpacked batches can be large: past 64 MB they go to a temporary file, not memory.
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as out:
        chunk = data
        while chunk or not decompressor.eof:
            piece = decompressor.decompress(chunk, max_length=1024 * 1024)
            chunk = b""
            out.write(piece)
            if out.tell() > max_unpacked:
                raise BatchTooLarge(f"the archive unpacks to more than {max_unpacked} bytes")
            if decompressor.eof or (not piece and decompressor.needs_input):
                break
        out.seek(0)
        with tarfile.open(fileobj=out, mode="r:") as archive:
            count = 0
            for member in archive:
                if not member.isfile():
                    continue
                count += 1
                if count > max_members:
                    raise BatchTooLarge(f"the archive holds more than {max_members} files")
                if member.size > max_member:
                    yield member.name, None
                    continue
                yield member.name, archive.extractfile(member).read()
