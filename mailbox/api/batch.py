"""Batch sending: many MeMo files in one upload, each handled exactly as a single send.

The answer counts what was taken; every message's receipt (accepted, refused or invalid)
goes to the sender's receipt queue, with the file name it came in, plus one summary receipt.
"""

from __future__ import annotations

import lzma
import tarfile
import uuid
from collections import Counter

from django.conf import settings
from django.db import transaction
from rest_framework import status
from rest_framework.response import Response

from mailbox.api.common import error_response
from mailbox.api.sending import LZMA_TYPE, BatchTooLarge, read_body, too_large, unpack_lzma_tar
from mailbox.models import Receipt
from mailbox.sending import SendRefused, memo_send

MAX_MEMBERS = 200_000


def send_batch(request, content_type: str) -> Response:
    system = request.auth
    limit = settings.DIGITALPOST_MAX_BATCH_BYTES
    if content_type == LZMA_TYPE:
        data = read_body(request, limit)
        if data is None:
            return too_large(limit)
    else:
        declared = request.META.get("CONTENT_LENGTH")
        if declared and declared.isdigit() and int(declared) > limit:
            return too_large(limit)
        upload = request._request.FILES.get("file")
        if upload is None:
            return error_response(400, "FILE_PART_MISSING", "The multipart body needs a part named 'file'.")
        data = upload.read()
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        members = [("file", data)]
    else:
        try:
            members = list(
                unpack_lzma_tar(
                    data,
                    max_member=settings.DIGITALPOST_MAX_MEMO_BYTES,
                    max_members=MAX_MEMBERS,
                    max_unpacked=4 * limit,
                )
            )
        except BatchTooLarge as exc:
            return error_response(413, "BATCH_TOO_LARGE", f"The batch is refused: {exc}.")
        except (lzma.LZMAError, tarfile.TarError, EOFError, ValueError) as exc:
            return error_response(400, "BATCH_UNREADABLE", f"The batch is not an LZMA-compressed tar: {exc}.")
    batch_id = uuid.uuid4()
    counts: Counter[str] = Counter()
    for name, body in members:
        counts[_send_member(system, batch_id, name, body)] += 1
    summary = {
        "batchId": str(batch_id),
        "total": len(members),
        "received": counts["RECEIVED"],
        "duplicates": counts["DUPLICATE"],
        "notAllowed": counts["NOT_ALLOWED"],
        "invalid": counts["INVALID"],
    }
    Receipt.objects.create(
        kind=Receipt.Kind.BATCH,
        sender_system=system,
        organisation=system.organisation,
        transmission_id=batch_id,
        status=Receipt.Status.COMPLETED,
        details=summary,
    )
    return Response(summary, status=status.HTTP_201_CREATED)


def _send_member(system, batch_id: uuid.UUID, name: str, body: bytes | None) -> str:
    details = {"batchId": str(batch_id), "file": name}
    if body is None:
        _queue_refusal(system, details, Receipt.Status.INVALID, "PAYLOAD_TOO_LARGE", "The file is too large.")
        return "INVALID"
    try:
        result = memo_send(data=body, system=system)
    except SendRefused as refused:
        invalid = refused.status in (400, 409)
        receipt_status = Receipt.Status.INVALID if invalid else Receipt.Status.NOT_ALLOWED
        details["fieldErrors"] = [
            {"field": e.field, "code": e.code, "message": e.message} for e in refused.field_errors
        ]
        _queue_refusal(system, details, receipt_status, refused.code, refused.message)
        return receipt_status
    if not result.created:
        # Already received: its receipt goes to the queue again, so every file gets an answer.
        Receipt.objects.filter(pk=result.receipt.pk).update(in_queue=True)
        return "DUPLICATE"
    Receipt.objects.filter(pk=result.receipt.pk).update(in_queue=True, details=details)
    return result.receipt.status


def _queue_refusal(system, details: dict, receipt_status: str, code: str, message: str) -> None:
    with transaction.atomic():
        Receipt.objects.create(
            kind=Receipt.Kind.TECHNICAL,
            sender_system=system,
            organisation=system.organisation,
            status=receipt_status,
            error_code=code,
            error_message=message,
            details=details,
        )
