"""Placeholder: being written (issue 3)."""

from mailbox.api.common import SystemAPIView


class ListEventsView(SystemAPIView):
    pass
