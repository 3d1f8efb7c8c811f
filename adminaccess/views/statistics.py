"""Usage statistics (anvendelsesstatistik): per day and per system, with charts and CSV export."""

from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from adminaccess.access import Role, staff_required
from adminaccess.selectors import (
    MAX_STATISTICS_DAYS,
    Statistics,
    default_statistics_period,
    usage_statistics,
)
from adminaccess.views.events import DateInput, csv_response, style_form


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From date"), widget=DateInput())
    date_to = forms.DateField(label=_("To date"), widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to:
            if date_from > date_to:
                self.add_error("date_to", _t("The to date must be on or after the from date."))
            elif (date_to - date_from).days + 1 > MAX_STATISTICS_DAYS:
                self.add_error(
                    "date_to", _t("Choose a period of at most %(days)d days.") % {"days": MAX_STATISTICS_DAYS}
                )
        return cleaned


def _period(request) -> PeriodForm:
    if "date_from" in request.GET or "date_to" in request.GET:
        form = PeriodForm(request.GET)
    else:
        date_from, date_to = default_statistics_period()
        form = PeriodForm({"date_from": date_from.isoformat(), "date_to": date_to.isoformat()})
    form.is_valid()
    return style_form(form)


CHART_WIDTH, CHART_HEIGHT = 720, 220
_LEFT, _BOTTOM, _TOP = 44, 28, 12
TRAFFIC_COLOURS = ("#0059b3", "#00a3a3")
READ_COLOURS = ("#747474", "#358000")


def _chart(stats: Statistics, names: tuple[str, str], colours: tuple[str, str]) -> dict:
    """A server-rendered SVG column chart of ``names`` per day: the geometry, nothing else."""
    top = stats.maximum(*names) or 1
    plot_width, plot_height = CHART_WIDTH - _LEFT, CHART_HEIGHT - _BOTTOM - _TOP
    group = plot_width / max(len(stats.days), 1)
    width = group * 0.8 / len(names)
    bars, labels = [], []
    every = max(1, round(len(stats.days) / 8))
    for index, day in enumerate(stats.days):
        for series, name in enumerate(names):
            value = getattr(day, name)
            height = plot_height * value / top
            bars.append(
                {
                    "x": round(_LEFT + index * group + group * 0.1 + series * width, 2),
                    "y": round(_TOP + plot_height - height, 2),
                    "width": round(width, 2),
                    "height": round(height, 2),
                    "fill": colours[series],
                    "day": day.day,
                    "value": value,
                }
            )
        if index % every == 0:
            labels.append({"x": round(_LEFT + index * group + group / 2, 2), "day": day.day})
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": _LEFT,
        "top": _TOP,
        "baseline": _TOP + plot_height,
        "label_y": CHART_HEIGHT - 8,
        "maximum": top,
        "bars": bars,
        "labels": labels,
        "colours": colours,
    }


@staff_required(Role.EVENT_LOG_READER, Role.SYSTEM_ADMINISTRATOR)
def statistics(request):
    form = _period(request)
    if form.errors:
        return render(request, "adminaccess/statistics/page.html", {"form": form, "stats": None}, status=400)
    stats = usage_statistics(
        organisation=request.staff.organisation,
        date_from=form.cleaned_data["date_from"],
        date_to=form.cleaned_data["date_to"],
    )
    context = {
        "form": form,
        "stats": stats,
        "traffic_chart": _chart(stats, ("sent", "received"), TRAFFIC_COLOURS),
        "read_chart": _chart(stats, ("delivered_to_mailboxes", "read"), READ_COLOURS),
        "totals": {
            name: stats.total(name)
            for name in ("sent", "received", "delivered_to_mailboxes", "read", "printed", "failed")
        },
    }
    return render(request, "adminaccess/statistics/page.html", context)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


@staff_required(Role.EVENT_LOG_READER, Role.SYSTEM_ADMINISTRATOR)
def statistics_export(request):
    form = _period(request)
    if form.errors:
        return render(request, "adminaccess/statistics/page.html", {"form": form, "stats": None}, status=400)
    organisation = request.staff.organisation
    stats = usage_statistics(
        organisation=organisation,
        date_from=form.cleaned_data["date_from"],
        date_to=form.cleaned_data["date_to"],
    )
    period = f"{stats.date_from.isoformat()}-{stats.date_to.isoformat()}"
    if request.GET.get("table") == "systems":
        names = {s.system_id: s.name for s in stats.systems}
        rows = [["date", "system", "sent", "received"]] + [
            [day.isoformat(), names.get(system_id, ""), sent, received]
            for day, system_id, sent, received in stats.by_day_and_system
        ]
        return csv_response(rows, f"usage-by-system-{organisation.cvr}-{period}.csv")
    rows = [
        ["date", "sent", "received", "delivered_to_mailboxes", "read", "read_share", "printed", "failed"]
    ] + [
        [
            day.day.isoformat(),
            day.sent,
            day.received,
            day.delivered_to_mailboxes,
            day.read,
            _share(day.read_share),
            day.printed,
            day.failed,
        ]
        for day in stats.days
    ]
    return csv_response(rows, f"usage-{organisation.cvr}-{period}.csv")
