"""Query parameters and pages, shared by every paged listing (pull, receipts, events), so
each answers a bad ``page``/``size`` the same way, in NgDP's shape."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from mailbox.api.common import error_response
from mailbox.receiving import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from mailbox.sending import FieldError


class PagingQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=0, default=0)
    size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)


PAGING_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="0-based page number (default 0)"),
    OpenApiParameter(
        "size",
        OpenApiTypes.INT,
        description=f"Page size, 1..{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})",
    ),
]

#: The error code of a refused query, by the first parameter at fault.
QUERY_ERROR_CODES = {
    "page": "INVALID_PAGING",
    "size": "INVALID_PAGING",
    "dateFrom": "INVALID_DATE",
    "dateTo": "INVALID_DATE",
    "eventTag": "UNKNOWN_EVENT_TAG",
    "non_field_errors": "INVALID_DATE_RANGE",
}


def query_refused(query: serializers.Serializer) -> Response:
    """400 for query parameters a serializer refused: one field error per problem."""
    errors = [
        FieldError(
            resource="query",
            field=name,
            code=str(detail.code).upper(),
            message=str(detail),
            rejected_value=query.initial_data.get(name),
        )
        for name, details in query.errors.items()
        for detail in details
    ]
    first = next(iter(query.errors))
    message = "; ".join(
        f"{e.field}: {e.message}" if e.field != "non_field_errors" else e.message for e in errors
    )
    return error_response(400, QUERY_ERROR_CODES.get(first, "INVALID_QUERY_PARAMETER"), message, errors)


def page_body(page: Page, content: list | None = None) -> dict:
    return {
        "content": page.content if content is None else content,
        "number": page.number,
        "size": page.size,
        "totalElements": page.total_elements,
        "totalPages": page.total_pages,
    }


def page_schema(name: str, child: serializers.Field) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "content": serializers.ListField(child=child),
            "number": serializers.IntegerField(),
            "size": serializers.IntegerField(),
            "totalElements": serializers.IntegerField(),
            "totalPages": serializers.IntegerField(),
        },
    )
