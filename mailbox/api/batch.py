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
from rest_framework import status
from rest_framework.response import Response

from mailbox.api.common import error_response
from mailbox.api.sending import LZMA_TYPE, BatchTooLarge, read_body, too_large, unpack_lzma_tar
from mailbox.models import Receipt
from mailbox.sending import memo_send_many

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
    counts = Counter(memo_send_many(items=members, system=system, batch_id=batch_id))
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
