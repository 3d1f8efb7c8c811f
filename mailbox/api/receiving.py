"""Recipient systems: list the pull queue, fetch a MeMo, post the business receipt."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from mailbox.api.common import IsRecipientSystem, SystemAPIView, error_response
from mailbox.api.paging import PAGING_PARAMETERS, PagingQuery, page_body, page_schema, query_refused
from mailbox.api.sending import ERROR_SCHEMA, ReceiptSerializer
from mailbox.models import Receipt
from mailbox.receiving import (
    ReceivingRefused,
    business_receipt_receive,
    memo_fetch,
    memos_ready_for_fetch,
    page_of,
)
from mailbox.sending import FieldError

# --- The pull queue ---------------------------------------------------------------------------


class ListMemosView(SystemAPIView):
    """GET /apis/v1/memos/ : the messageUUIDs waiting for this system, oldest first."""

    permission_classes = [IsRecipientSystem]

    @extend_schema(
        operation_id="listMemos",
        summary="List the messages waiting for this recipient system",
        description=(
            "The messageUUIDs of the messages handed to this recipient system that still wait for "
            "its business receipt, oldest first. Listing claims nothing: a message stays listed "
            "until its business receipt arrives, so several pollers may share one queue."
        ),
        parameters=PAGING_PARAMETERS,
        responses={
            200: page_schema("MemoIdPage", serializers.UUIDField()),
            400: OpenApiResponse(ERROR_SCHEMA, description="page or size is not an integer in range"),
            401: ERROR_SCHEMA,
            403: OpenApiResponse(ERROR_SCHEMA, description="Not a recipient system"),
        },
    )
    def get(self, request):
        query = PagingQuery(data=request.query_params)
        if not query.is_valid():
            return query_refused(query)
        page = page_of(memos_ready_for_fetch(system=request.auth), **query.validated_data)
        return Response(page_body(page))


# --- Fetch --------------------------------------------------------------------------------------


class IgnoreAccept(BaseContentNegotiation):
    """The MeMo is sent as XML and errors as JSON whatever the client accepts, as NgDP does;
    a client asking for application/xml must get its error body, not a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FetchMemoView(SystemAPIView):
    """GET /apis/v1/memos/{messageUUID} : the MeMo, in the MeMo version this system takes."""

    permission_classes = [IsRecipientSystem]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreAccept

    @extend_schema(
        operation_id="fetchMemo",
        summary="Fetch one MeMo message",
        description=(
            "The MeMo XML of a message handed to this recipient system, in the MeMo version the "
            "system is registered for (1.1 or 1.2): the stored message as received when the versions "
            "match, converted otherwise. A message that is not this system's is not found. It can be "
            "fetched again until and after the business receipt; the first fetch is logged."
        ),
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="MeMo XML"),
            401: ERROR_SCHEMA,
            403: OpenApiResponse(ERROR_SCHEMA, description="Not a recipient system"),
            404: OpenApiResponse(ERROR_SCHEMA, description="No such message for this system"),
        },
    )
    def get(self, request, message_uuid: uuid.UUID):
        try:
            fetched = memo_fetch(system=request.auth, message_uuid=message_uuid)
        except ReceivingRefused as refused:
            return error_response(refused.status, refused.code, refused.message)
        return HttpResponse(fetched.data, content_type="application/xml")


# --- Business receipt ---------------------------------------------------------------------------

BUSINESS_STATUSES = [Receipt.Status.COMPLETED.value, Receipt.Status.INVALID.value]


class BusinessReceiptInput(serializers.Serializer):
    """NgDP's business receipt. ``status`` is taken for ``receiptStatus`` too, and
    ``messageUUID``, when given, must be the message of the path."""

    receiptStatus = serializers.ChoiceField(choices=BUSINESS_STATUSES, required=False)
    status = serializers.ChoiceField(choices=BUSINESS_STATUSES, required=False)
    messageUUID = serializers.UUIDField(required=False)
    errorCode = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    errorMessage = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)

    def validate(self, attrs):
        given = {attrs[key] for key in ("receiptStatus", "status") if key in attrs}
        if not given:
            raise serializers.ValidationError(
                {"receiptStatus": "This field is required (COMPLETED or INVALID)."}, code="required"
            )
        if len(given) > 1:
            raise serializers.ValidationError(
                {"status": "status and receiptStatus disagree; send one of them."}, code="conflict"
            )
        if "messageUUID" in attrs and attrs["messageUUID"] != self.context["message_uuid"]:
            raise serializers.ValidationError(
                {"messageUUID": "Not the messageUUID of the path."}, code="mismatch"
            )
        return {
            "status": given.pop(),
            "error_code": attrs.get("errorCode") or "",
            "error_message": attrs.get("errorMessage") or "",
        }


class BusinessReceiptView(SystemAPIView):
    """POST /apis/v1/memos/{messageUUID}/receipt : the recipient system's business receipt."""

    permission_classes = [IsRecipientSystem]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="sendBusinessReceipt",
        summary="Post the business receipt for a message",
        description=(
            "`receiptStatus` is COMPLETED or INVALID (`status` is taken as an alias); `errorCode` "
            "and `errorMessage` are optional; `messageUUID`, if given, must equal the path's. The "
            "message's delivery is then done and the sender system finds a BUSINESS receipt in its "
            "receipt queue. The answer is 201 with that receipt. Only the first receipt for a "
            "message counts; another is refused with 409 and changes nothing."
        ),
        request=inline_serializer(
            "BusinessReceipt",
            {
                "receiptStatus": serializers.ChoiceField(choices=BUSINESS_STATUSES),
                "errorCode": serializers.CharField(required=False, max_length=64),
                "errorMessage": serializers.CharField(required=False, max_length=2000),
                "messageUUID": serializers.UUIDField(required=False),
            },
        ),
        responses={
            201: ReceiptSerializer,
            400: OpenApiResponse(ERROR_SCHEMA, description="Not JSON, or not a valid business receipt"),
            401: ERROR_SCHEMA,
            403: OpenApiResponse(ERROR_SCHEMA, description="Not a recipient system"),
            404: OpenApiResponse(ERROR_SCHEMA, description="No such message for this system"),
            409: OpenApiResponse(
                ERROR_SCHEMA, description="BUSINESS_RECEIPT_ALREADY_RECEIVED: the message has its receipt"
            ),
            415: ERROR_SCHEMA,
        },
    )
    def post(self, request, message_uuid: uuid.UUID):
        try:
            body = request.data
        except ParseError as exc:
            return error_response(400, "INVALID_JSON", f"The body is not JSON: {exc.detail}")
        given = BusinessReceiptInput(data=body, context={"message_uuid": message_uuid})
        if not given.is_valid():
            errors = [
                FieldError("businessReceipt", name, str(detail.code).upper(), str(detail))
                for name, details in given.errors.items()
                for detail in details
            ]
            return error_response(
                400,
                "INVALID_BUSINESS_RECEIPT",
                "; ".join(f"{e.field}: {e.message}" for e in errors),
                errors,
            )
        try:
            receipt = business_receipt_receive(
                system=request.auth, message_uuid=message_uuid, **given.validated_data
            )
        except ReceivingRefused as refused:
            return error_response(refused.status, refused.code, refused.message)
        return Response(ReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)
