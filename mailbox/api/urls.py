"""The NgDP-compatible REST surface, served under /apis/v1/."""

import uuid

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mailbox.api import events, receipts, receiving, sending
from mailbox.api.common import by_method


class AnyCaseUUIDConverter:
    """A UUID in a path, in upper or lower case (RFC 4122 reads both alike; the official MeMo
    examples write theirs in upper case), as a :class:`uuid.UUID`. Django's ``uuid`` takes
    lower case only."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(AnyCaseUUIDConverter, "anyuuid")

urlpatterns = [
    path(
        "memos/",
        by_method(post=sending.send_memo, get=receiving.ListMemosView.as_view()),
        name="api-memos",
    ),
    path(
        "memos/<anyuuid:message_uuid>",
        by_method(get=receiving.FetchMemoView.as_view(), delete=sending.RecallMemoView.as_view()),
        name="api-memo",
    ),
    path(
        "memos/<anyuuid:message_uuid>/receipt",
        receiving.BusinessReceiptView.as_view(),
        name="api-memo-receipt",
    ),
    path("receipts/", receipts.ListReceiptsView.as_view(), name="api-receipts"),
    path("receipts/<anyuuid:receipt_id>", receipts.GetReceiptView.as_view(), name="api-receipt"),
    path("events/", events.ListEventsView.as_view(), name="api-events"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
