"""Placeholder: being written (issue 3)."""

from mailbox.api.common import SystemAPIView


class ListMemosView(SystemAPIView):
    pass


class FetchMemoView(SystemAPIView):
    pass


class BusinessReceiptView(SystemAPIView):
    pass
