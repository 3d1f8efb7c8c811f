"""Placeholder: being written (issue 3)."""

from mailbox.api.common import SystemAPIView


class ListReceiptsView(SystemAPIView):
    pass


class GetReceiptView(SystemAPIView):
    pass
