"""The NgDP-compatible REST surface, served under /apis/v1/."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mailbox.api import events, receipts, receiving, sending
from mailbox.api.common import by_method

urlpatterns = [
    path(
        "memos/",
        by_method(post=sending.send_memo, get=receiving.ListMemosView.as_view()),
        name="api-memos",
    ),
    path(
        "memos/<uuid:message_uuid>",
        by_method(get=receiving.FetchMemoView.as_view(), delete=sending.RecallMemoView.as_view()),
        name="api-memo",
    ),
    path(
        "memos/<uuid:message_uuid>/receipt",
        receiving.BusinessReceiptView.as_view(),
        name="api-memo-receipt",
    ),
    path("receipts/", receipts.ListReceiptsView.as_view(), name="api-receipts"),
    path("receipts/<uuid:receipt_id>", receipts.GetReceiptView.as_view(), name="api-receipt"),
    path("events/", events.ListEventsView.as_view(), name="api-events"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
