"""The listing's date filters write exactly what Django's ``date`` filter writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.utils import translation

DATES = [
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 5, 31, 22, 30, 15, 123456, tzinfo=UTC),  # the next day in Copenhagen
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(999, 3, 4, 12, 0, tzinfo=UTC) + timedelta(days=365),
    *(datetime(2025, month, 9, 8, 0, tzinfo=UTC) for month in range(1, 13)),
]


@pytest.mark.parametrize("language", ["da", "en"])
def test_the_listing_date_filters_match_the_date_filter(language):
    ours = Template("{% load mailbox_tags %}{{ d|iso_datetime }}|{{ d|day_month_year }}")
    django = Template("{{ d|date:'c' }}|{{ d|date:'j M Y' }}")
    with translation.override(language):
        for value in DATES:
            context = {"d": value}
            assert ours.render(Context(context)) == django.render(Context(context)), value


def test_the_listing_date_filters_write_nothing_for_no_date():
    ours = Template("{% load mailbox_tags %}[{{ d|iso_datetime }}|{{ d|day_month_year }}]")
    assert ours.render(Context({"d": None})) == "[|]"
