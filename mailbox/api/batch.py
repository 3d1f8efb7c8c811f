"""Batch sending: many MeMo files in one upload, each handled exactly as a single send.

The answer comes as soon as the archive is unpacked and its files are in the hub's care: the
batch id and how many files were taken. The workers then judge the files chunk by chunk
(mailbox/batches.py); every file's receipt (accepted, refused or invalid) goes to the sender's
receipt queue, with the file name it came in, and so does one summary receipt (kind BATCH)
with the counts once the whole batch is judged.
"""

from __future__ import annotations

import lzma
import tarfile

from django.conf import settings
from django.http.multipartparser import MultiPartParserError
from rest_framework import status
from rest_framework.response import Response

from mailbox.api.common import error_response
from mailbox.api.sending import LZMA_TYPE, BatchTooLarge, read_body, too_large, unpack_lzma_tar
from mailbox.batches import batch_accept

MAX_MEMBERS = 200_000


def send_batch(request, content_type: str) -> Response:
    system = request.auth
    limit = settings.DIGITALPOST_MAX_BATCH_BYTES
    name = "file"  # what a receipt calls a single MeMo sent as the whole body
    if content_type == LZMA_TYPE:
        data = read_body(request, limit)
        if data is None:
            return too_large(limit)
    else:
        declared = request.META.get("CONTENT_LENGTH")
        if declared and declared.isdigit() and int(declared) > limit:
            return too_large(limit)
        try:
            uploads = request._request.FILES.getlist("file")
        except MultiPartParserError as exc:
            return error_response(400, "MULTIPART_UNREADABLE", f"The multipart body cannot be read: {exc}.")
        if not uploads:
            return error_response(400, "FILE_PART_MISSING", "The multipart body needs a part named 'file'.")
        if len(uploads) > 1:
            # Taking one and dropping the others would answer 201 for files the hub never saw.
            return error_response(
                400,
                "FILE_PART_REPEATED",
                f"The multipart body has {len(uploads)} parts named 'file'; a batch is one part"
                " (a tar archive, LZMA-compressed, or a single MeMo).",
            )
        upload = uploads[0]
        data = upload.read()
        name = upload.name or name
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        members = iter([(name, data)])
    else:
        members = unpack_lzma_tar(
            data,
            max_member=settings.DIGITALPOST_MAX_MEMO_BYTES,
            max_members=MAX_MEMBERS,
            max_unpacked=4 * limit,
        )
    try:
        batch = batch_accept(system=system, members=members)
    except BatchTooLarge as exc:
        return error_response(413, "BATCH_TOO_LARGE", f"The batch is refused: {exc}.")
    except (lzma.LZMAError, tarfile.TarError, EOFError, ValueError) as exc:
        return error_response(400, "BATCH_UNREADABLE", f"The batch is not an LZMA-compressed tar: {exc}.")
    return Response({"batchId": str(batch.id), "total": batch.total}, status=status.HTTP_201_CREATED)
