"""Sender systems: the receipt queue (business receipts, batch results, late refusals)."""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from mailbox.api.common import IsSenderSystem, SystemAPIView, error_response
from mailbox.api.paging import PAGING_PARAMETERS, PagingQuery, page_body, page_schema, query_refused
from mailbox.api.sending import ERROR_SCHEMA, ReceiptSerializer
from mailbox.models import Receipt
from mailbox.receiving import ReceivingRefused, page_of, receipt_take, receipts_in_queue


class QueuedReceiptSerializer(ReceiptSerializer):
    """NgDP's Receipt, plus what kind of receipt it is and the hub's details."""

    kind = serializers.ChoiceField(choices=Receipt.Kind.choices)
    details = serializers.JSONField()


class ListReceiptsView(SystemAPIView):
    """GET /apis/v1/receipts/ : the ids of the receipts in this system's queue, oldest first."""

    permission_classes = [IsSenderSystem]

    @extend_schema(
        operation_id="listReceipts",
        summary="List the receipts waiting in this sender system's queue",
        description=(
            "Receipt ids, oldest first. A receipt stays in the queue until it is fetched with `delete=true`."
        ),
        parameters=PAGING_PARAMETERS,
        responses={
            200: page_schema("ReceiptIdPage", serializers.UUIDField()),
            400: OpenApiResponse(ERROR_SCHEMA, description="page or size is not an integer in range"),
            401: ERROR_SCHEMA,
            403: OpenApiResponse(ERROR_SCHEMA, description="Not a sender system"),
        },
    )
    def get(self, request):
        query = PagingQuery(data=request.query_params)
        if not query.is_valid():
            return query_refused(query)
        page = page_of(receipts_in_queue(system=request.auth), **query.validated_data)
        return Response(page_body(page))


class ReceiptQuery(serializers.Serializer):
    delete = serializers.BooleanField(default=False)


class GetReceiptView(SystemAPIView):
    """GET /apis/v1/receipts/{id}?delete=true : one receipt; with delete=true it leaves the queue."""

    permission_classes = [IsSenderSystem]

    @extend_schema(
        operation_id="getReceipt",
        summary="Get one receipt from the queue, and optionally remove it",
        parameters=[
            OpenApiParameter(
                "delete", OpenApiTypes.BOOL, description="Remove the receipt from the queue (default false)"
            )
        ],
        responses={
            200: QueuedReceiptSerializer,
            400: OpenApiResponse(ERROR_SCHEMA, description="delete is not true or false"),
            401: ERROR_SCHEMA,
            403: OpenApiResponse(ERROR_SCHEMA, description="Not a sender system"),
            404: OpenApiResponse(ERROR_SCHEMA, description="No such receipt in this system's queue"),
        },
    )
    def get(self, request, receipt_id: uuid.UUID):
        query = ReceiptQuery(data=request.query_params)
        if not query.is_valid():
            return query_refused(query)
        try:
            receipt = receipt_take(system=request.auth, receipt_id=receipt_id, **query.validated_data)
        except ReceivingRefused as refused:
            return error_response(refused.status, refused.code, refused.message)
        return Response(QueuedReceiptSerializer(receipt).data)
