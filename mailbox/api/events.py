"""Every system: its own part of the event log (hændelseslog)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from adminaccess.models import Event, System
from mailbox.api.common import SystemAPIView
from mailbox.api.paging import PAGING_PARAMETERS, PagingQuery, page_body, page_schema, query_refused
from mailbox.api.sending import ERROR_SCHEMA
from mailbox.receiving import events_for_system, page_of


def _instant(raw: str) -> datetime | date | None:
    """An ISO date or date-time. A '+' of an offset that arrived unescaped reads as a space."""
    for text in dict.fromkeys((raw.strip(), raw.strip().replace(" ", "+"))):
        try:
            # A date first: parse_datetime would read one as its midnight.
            value = parse_date(text) or parse_datetime(text)
        except ValueError:  # well-formed but impossible, e.g. 2026-02-30
            continue
        if value is not None:
            return value
    return None


def _start_of(day: date) -> datetime:
    """Midnight, Danish time: dates in the event log are Danish dates."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class EventQuery(PagingQuery):
    dateFrom = serializers.CharField(required=False)
    dateTo = serializers.CharField(required=False)
    eventTag = serializers.ChoiceField(choices=Event.Tag.values, required=False)

    def validate_dateFrom(self, raw: str) -> datetime:
        value = _instant(raw)
        if value is None:
            raise serializers.ValidationError("Not an ISO date or date-time.", code="invalid")
        return _aware(value) if isinstance(value, datetime) else _start_of(value)

    def validate_dateTo(self, raw: str) -> datetime:
        """The exclusive end: a date includes its whole day, a date-time itself."""
        value = _instant(raw)
        if value is None:
            raise serializers.ValidationError("Not an ISO date or date-time.", code="invalid")
        if isinstance(value, datetime):
            return _aware(value) + timedelta(microseconds=1)
        return _start_of(value + timedelta(days=1))

    def validate(self, attrs):
        start, end = attrs.get("dateFrom"), attrs.get("dateTo")
        if start is not None and end is not None and start >= end:
            raise serializers.ValidationError("dateFrom is after dateTo.", code="invalid_range")
        return attrs


class EventSerializer(serializers.Serializer):
    """One line of the event log. ``systemId`` and ``details`` are shown only for the
    caller's own events and for events of no system: an event another system caused on the
    caller's message (a recipient system fetching it, a push to it failing) describes that
    system, e.g. its endpoint's errors, which is not the caller's to see."""

    eventId = serializers.IntegerField(source="pk")
    occurredAt = serializers.DateTimeField(source="occurred_at", default_timezone=UTC)
    eventTag = serializers.CharField(source="tag")
    messageUUID = serializers.UUIDField(source="message_uuid", allow_null=True)
    systemId = serializers.SerializerMethodField()
    details = serializers.SerializerMethodField()

    def _own(self, event: Event) -> bool:
        return event.system_id is None or event.system_id == self.context["system"].pk

    def get_systemId(self, event: Event) -> str | None:
        return str(event.system.system_id) if event.system_id and self._own(event) else None

    def get_details(self, event: Event) -> dict:
        return event.details if self._own(event) else {}


class IsAnySystem(BasePermission):
    """Sender and recipient systems alike."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, System):
            raise exceptions.NotAuthenticated("Authenticate with Basic systemId:apiToken.")
        return True


class ListEventsView(SystemAPIView):
    """GET /apis/v1/events/ : this system's events and those of its messages, oldest first."""

    permission_classes = [IsAnySystem]

    @extend_schema(
        operation_id="listEvents",
        summary="List the event log of this system and its messages",
        description=(
            "Events about the calling system and about the messages it sent or was routed, oldest "
            "first. `dateFrom` and `dateTo` are ISO dates (Danish dates; `dateTo` includes its whole "
            "day) or ISO date-times (with an offset, or Danish time without one); both ends are "
            "inclusive. `eventTag` narrows the list to one tag."
        ),
        parameters=[
            OpenApiParameter("dateFrom", OpenApiTypes.STR, description="ISO date or date-time, inclusive"),
            OpenApiParameter("dateTo", OpenApiTypes.STR, description="ISO date or date-time, inclusive"),
            OpenApiParameter("eventTag", OpenApiTypes.STR, enum=Event.Tag.values),
            *PAGING_PARAMETERS,
        ],
        responses={
            200: page_schema("EventPage", EventSerializer()),
            400: OpenApiResponse(
                ERROR_SCHEMA, description="Bad date, unknown event tag, dateFrom after dateTo, bad paging"
            ),
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
        },
    )
    def get(self, request):
        query = EventQuery(data=request.query_params)
        if not query.is_valid():
            return query_refused(query)
        params = query.validated_data
        events = events_for_system(
            system=request.auth,
            occurred_from=params.get("dateFrom"),
            occurred_before=params.get("dateTo"),
            tag=params.get("eventTag"),
        )
        page = page_of(events, page=params["page"], size=params["size"])
        content = EventSerializer(page.content, many=True, context={"system": request.auth}).data
        return Response(page_body(page, content))
