"""Report pages under /reports/: dashboards, staff compliance and contact tracing, each scoped by role and office.

Office admins see their own offices, city admins (and superusers) every office and the city dashboard; only
Satgas (and superusers) run exposure reports. Charts are SVG drawn on the server from the numbers below.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from denpasar_checkin.nik import nik_validate
from offices.access import (
    offices_for_user,
    user_may_trace,
    user_sees_city,
    user_sees_dashboards,
    user_sees_office_dashboard,
)
from offices.models import Office
from screening.vocabulary import Reason
from visitors.models import Person

from .notices import exposure_notify
from .selectors import (
    MAX_RANGE_DAYS,
    DateRange,
    NoticeState,
    OccupancySeries,
    city_dashboard,
    office_dashboard,
    positive_cases_recent,
    staff_attendance,
    staff_compliance,
    staff_compliance_weeks,
)
from .services import (
    CsvFile,
    ExposurePersonNotFound,
    ExposureSinceRequired,
    city_summary_export,
    exposure_export,
    exposure_report_by_nik,
    exposure_report_for_person,
    office_visits_export,
    staff_compliance_export,
)

staff_login_required = login_required(login_url=reverse_lazy("admin:login"))


def _office_in_scope(request: HttpRequest, office_id: int) -> Office:
    # Scope first: someone outside the office learns nothing, not even whether the id exists.
    if not user_sees_office_dashboard(request.user, office_id=office_id):
        raise PermissionDenied
    return get_object_or_404(Office, pk=office_id)


def _requires(check: Callable[[Any], bool]) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _download(export: CsvFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    # Personal data: never in a shared cache or the browser's disk cache.
    response["Cache-Control"] = "private, no-store"
    return response


# --- forms ----------------------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class RangeForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=DateInput(), input_formats=["%Y-%m-%d"])
    end = forms.DateField(label=_("To"), required=False, widget=DateInput(), input_formats=["%Y-%m-%d"])

    def __init__(self, *args: Any, today: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise DjangoValidationError(_("The end date must not be before the start date."), code="order")
        if start and end and (end - start).days + 1 > MAX_RANGE_DAYS:
            raise DjangoValidationError(_("Choose at most %(days)d days.") % {"days": MAX_RANGE_DAYS}, code="too_long")
        return data

    def date_range(self) -> DateRange:
        """The chosen range; today when nothing (or something invalid) was chosen."""
        if not self.is_valid():
            return DateRange.single(self.today)
        start = self.cleaned_data.get("start")
        end = self.cleaned_data.get("end")
        if start and not end:
            end = max(start, min(start + datetime.timedelta(days=MAX_RANGE_DAYS - 1), self.today))
        if end and not start:
            start = end
        return DateRange(start or self.today, end or self.today)


def _range_form(request: HttpRequest) -> tuple[RangeForm, DateRange]:
    form = RangeForm(request.GET or None, today=timezone.localdate())
    rng = form.date_range()
    if not form.is_bound:
        form = RangeForm(initial={"start": rng.first, "end": rng.last}, today=rng.last)
    return form, rng


def _range_query(rng: DateRange) -> str:
    return urlencode({"start": rng.first.isoformat(), "end": rng.last.isoformat()})


class ExposureSearchForm(forms.Form):
    nik = forms.CharField(label=_("NIK"), max_length=32, widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    name = forms.CharField(label=_("Name as on the KTP"), max_length=200)
    since = forms.DateField(
        label=_("Visits since"),
        required=False,
        widget=DateInput(),
        input_formats=["%Y-%m-%d"],
        help_text=_("Leave empty to start two days before the positive test date in the registry."),
    )

    def clean_nik(self) -> str:
        return nik_validate(self.cleaned_data["nik"])

    def clean_since(self) -> datetime.date | None:
        since = self.cleaned_data.get("since")
        if since and since > timezone.localdate():
            raise DjangoValidationError(_("The start date cannot be in the future."), code="future")
        return since


class SinceForm(forms.Form):
    since = forms.DateField(label=_("Visits since"), widget=DateInput(), input_formats=["%Y-%m-%d"])

    def clean_since(self) -> datetime.date:
        since = self.cleaned_data["since"]
        if since > timezone.localdate():
            raise DjangoValidationError(_("The start date cannot be in the future."), code="future")
        return since


# --- charts (server-side SVG) ---------------------------------------------------------------------------------

# A narrow viewBox: on a phone the SVG is drawn ~370 px wide, so 14-unit labels stay readable.
CHART_WIDTH = 480
CHART_HEIGHT = 220
CHART_LEFT = 46  # room for the y labels ("100%")
CHART_BOTTOM = 24  # room for the x labels
CHART_TOP = 12


@dataclass(frozen=True, slots=True)
class LineChart:
    width: int
    height: int
    line: str  # polyline points
    area: str  # closed polygon under the line
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    limit_y: float | None  # the effective capacity line
    limit: int | None
    plot_left: int
    plot_right: int
    plot_bottom: float
    empty: bool


def _nice_step(value: int, *, ticks: int = 4) -> int:
    """A round tick step (1, 2 or 5 x 10^n) so that about `ticks` steps cover `value`."""
    rough = max(value, 1) / ticks
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= rough:
                return step * magnitude
        magnitude *= 10


def occupancy_chart(series: OccupancySeries, *, rng: DateRange, limit: int | None) -> LineChart:
    """A step line of the peak per bucket over the whole range, with the effective capacity as a dashed line."""
    plot_w = CHART_WIDTH - CHART_LEFT - 8
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    total_buckets = max(1, len(rng.days) * 24 * 60 // series.bucket_minutes)
    step = _nice_step(max(series.peak, limit or 0))
    top = step * max(1, math.ceil(max(series.peak, limit or 0) / step))
    step_x = plot_w / total_buckets

    def y(value: float) -> float:
        return round(CHART_TOP + plot_h - value / top * plot_h, 1)

    points: list[str] = []
    for n, point in enumerate(series.points):
        x0, x1 = round(CHART_LEFT + n * step_x, 1), round(CHART_LEFT + (n + 1) * step_x, 1)
        points += [f"{x0},{y(point.peak)}", f"{x1},{y(point.peak)}"]
    bottom = y(0)
    area = ""
    if points:
        last_x = round(CHART_LEFT + len(series.points) * step_x, 1)
        area = f"{CHART_LEFT},{bottom} " + " ".join(points) + f" {last_x},{bottom}"
    y_ticks = [(y(value), value) for value in range(0, top + 1, step)]
    days = len(rng.days)
    tz = timezone.get_default_timezone()
    x_ticks: list[tuple[float, str]] = []
    if days == 1:
        for hour in range(0, 25, 4):
            x_ticks.append((round(CHART_LEFT + plot_w * hour / 24, 1), f"{hour:02d}"))
    else:
        every = max(1, math.ceil(days / 7))
        for n, day in enumerate(rng.days):
            if n % every == 0:
                moment = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
                x_ticks.append((round(CHART_LEFT + plot_w * n / days, 1), formats.date_format(moment, "d/m")))
    return LineChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        line=" ".join(points),
        area=area,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        limit_y=y(limit) if limit else None,
        limit=limit,
        plot_left=CHART_LEFT,
        plot_right=CHART_LEFT + plot_w,
        plot_bottom=bottom,
        empty=not series.points,
    )


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    width_pct: float
    code: str = ""


def bars(items: Sequence[tuple[str, int]], *, labels: dict[str, str] | None = None) -> list[Bar]:
    """Horizontal bars (drawn as SVG rects) scaled to the largest value."""
    top = max((value for _label, value in items), default=0) or 1
    return [
        Bar(label=str((labels or {}).get(key, key)), value=value, width_pct=round(value / top * 100, 1), code=key)
        for key, value in items
    ]


def _reason_labels() -> dict[str, str]:
    return {choice.value: str(choice.label) for choice in Reason}


@dataclass(frozen=True, slots=True)
class TrendPoint:
    x: float
    y: float
    label: str
    pct: int | None


def trend_chart(weeks: Sequence[Any]) -> dict[str, Any]:
    """The weekly compliance trend as SVG points (0-100 %)."""
    plot_w = CHART_WIDTH - CHART_LEFT - 8
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    n = max(len(weeks), 1)
    points = []
    for i, week in enumerate(weeks):
        rate = week.rate
        pct = None if rate is None else round(rate * 100)
        x = round(CHART_LEFT + plot_w * (i + 0.5) / n, 1)
        y = round(CHART_TOP + plot_h - (pct or 0) / 100 * plot_h, 1)
        points.append(TrendPoint(x=x, y=y, label=formats.date_format(week.week_start, "d/m"), pct=pct))
    line = " ".join(f"{p.x},{p.y}" for p in points if p.pct is not None)
    y_ticks = [(round(CHART_TOP + plot_h - plot_h * k / 4, 1), 25 * k) for k in range(5)]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "points": points,
        "line": line,
        "y_ticks": y_ticks,
        "plot_left": CHART_LEFT,
        "plot_right": CHART_LEFT + plot_w,
        "plot_bottom": CHART_TOP + plot_h,
    }


# --- pages ----------------------------------------------------------------------------------------------------


@require_safe
@staff_login_required
def reports_index(request: HttpRequest) -> HttpResponse:
    user = request.user
    offices = list(offices_for_user(user).order_by("name")) if user_sees_dashboards(user) else []
    return render(
        request,
        "reports/index.html",
        {"offices": offices, "can_see_city": user_sees_city(user), "can_trace": user_may_trace(user)},
    )


@require_safe
@staff_login_required
def office_dashboard_page(request: HttpRequest, office_id: int) -> HttpResponse:
    office = _office_in_scope(request, office_id)
    form, rng = _range_form(request)
    dashboard = office_dashboard(office=office, rng=rng, now=timezone.now())
    return render(
        request,
        "reports/office_dashboard.html",
        {
            "office": office,
            "form": form,
            "rng": rng,
            "range_query": _range_query(rng),
            "d": dashboard,
            "chart": occupancy_chart(dashboard.series, rng=rng, limit=dashboard.summary.effective_capacity),
            "denial_bars": bars(dashboard.denials, labels=_reason_labels()),
        },
    )


@require_safe
@staff_login_required
def office_export(request: HttpRequest, office_id: int) -> HttpResponse:
    office = _office_in_scope(request, office_id)
    _form, rng = _range_form(request)
    return _download(office_visits_export(actor=request.user, office=office, rng=rng))


@require_safe
@staff_login_required
def office_compliance_page(request: HttpRequest, office_id: int) -> HttpResponse:
    office = _office_in_scope(request, office_id)
    form, rng = _range_form(request)
    today = timezone.localdate()
    days = staff_compliance(office_ids=[office.pk], rng=rng, today=today)[office.pk]
    weeks = staff_compliance_weeks(office_ids=[office.pk], last_day=rng.last, today=today)[office.pk]
    # Who did (not) check in: for the last day of the range that has already begun.
    roll_day = min(rng.last, today)
    attendance = staff_attendance(office_id=office.pk, day=roll_day)
    return render(
        request,
        "reports/compliance.html",
        {
            "office": office,
            "form": form,
            "rng": rng,
            "range_query": _range_query(rng),
            "days": list(reversed(days)),
            "weeks": weeks,
            "trend": trend_chart(weeks),
            "roll_day": roll_day,
            "absent": [row for row in attendance if row["first_in"] is None],
            "present": [row for row in attendance if row["first_in"] is not None],
        },
    )


@require_safe
@staff_login_required
def office_compliance_export(request: HttpRequest, office_id: int) -> HttpResponse:
    office = _office_in_scope(request, office_id)
    _form, rng = _range_form(request)
    return _download(staff_compliance_export(actor=request.user, office=office, rng=rng))


@require_safe
@staff_login_required
@_requires(user_sees_city)
def city_dashboard_page(request: HttpRequest) -> HttpResponse:
    form, rng = _range_form(request)
    offices = list(Office.objects.order_by("name"))
    dashboard = city_dashboard(offices=offices, rng=rng, now=timezone.now())
    limit = sum(row.effective_capacity for row in dashboard.offices)
    return render(
        request,
        "reports/city_dashboard.html",
        {
            "form": form,
            "rng": rng,
            "range_query": _range_query(rng),
            "d": dashboard,
            "totals": dashboard.totals,
            "chart": occupancy_chart(dashboard.series, rng=rng, limit=limit or None),
            "denial_bars": bars(dashboard.denials, labels=_reason_labels()),
        },
    )


@require_safe
@staff_login_required
@_requires(user_sees_city)
def city_export(request: HttpRequest) -> HttpResponse:
    _form, rng = _range_form(request)
    offices = list(Office.objects.order_by("name"))
    return _download(city_summary_export(actor=request.user, offices=offices, rng=rng, now=timezone.now()))


# --- contact tracing ------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@staff_login_required
@_requires(user_may_trace)
def exposure_search(request: HttpRequest) -> HttpResponse:
    """Choose the index case by NIK + name (a POST: the NIK never enters a URL) or from the registry's cases."""
    form = ExposureSearchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report = exposure_report_by_nik(
                actor=request.user,
                nik=data["nik"],
                name=data["name"],
                since=data["since"],
                now=timezone.now(),
                channel="web",
            )
        except ExposurePersonNotFound:
            form.add_error(None, _("No check-in records for a person with this NIK and name."))
        except ExposureSinceRequired:
            form.add_error("since", _("The registry has no positive test date for this person: choose a date."))
        else:
            return _render_exposure(request, report=report)
    cases = positive_cases_recent(today=timezone.localdate())
    return render(request, "reports/exposure_search.html", {"form": form, "cases": cases})


@never_cache
@require_safe
@staff_login_required
@_requires(user_may_trace)
def exposure_person(request: HttpRequest, person_id: int) -> HttpResponse:
    """The report for a person picked from the registry's positive cases (their id, not their NIK, in the URL)."""
    person = get_object_or_404(Person, pk=person_id)
    since_form = SinceForm(request.GET or None)
    since = since_form.cleaned_data["since"] if since_form.is_bound and since_form.is_valid() else None
    if since_form.is_bound and not since_form.is_valid():
        return render(request, "reports/exposure_report.html", {"person": person, "since_form": since_form}, status=400)
    try:
        report = exposure_report_for_person(
            actor=request.user, person=person, since=since, now=timezone.now(), channel="web"
        )
    except ExposureSinceRequired:
        since_form = SinceForm()
        return render(
            request,
            "reports/exposure_report.html",
            {"person": person, "since_form": since_form, "need_since": True},
        )
    return _render_exposure(request, report=report)


def _render_exposure(request: HttpRequest, *, report) -> HttpResponse:
    return render(
        request,
        "reports/exposure_report.html",
        {
            "person": report.person,
            "report": report,
            "since_form": SinceForm(initial={"since": report.since}),
            "total_minutes": sum(c.overlap_minutes for c in report.contacts),
            "rows": [(c, report.told.get(c.person_id, "")) for c in report.contacts],
            "told_labels": dict(NoticeState.choices),
        },
    )


@require_POST
@staff_login_required
@_requires(user_may_trace)
def exposure_export_view(request: HttpRequest, person_id: int) -> HttpResponse:
    """The CSV with full NIKs: a POST (CSRF-protected, never prefetched or cached), audited by the service."""
    person = get_object_or_404(Person, pk=person_id)
    form = SinceForm(request.POST)
    if not form.is_valid():
        url = reverse("reports:exposure_person", args=[person.pk])
        return redirect(url)
    since = form.cleaned_data["since"]
    return _download(exposure_export(actor=request.user, person=person, since=since, now=timezone.now()))


@require_POST
@staff_login_required
@_requires(user_may_trace)
def exposure_notify_view(request: HttpRequest, person_id: int) -> HttpResponse:
    """ "Send notices": tell the report's contacts (a CSRF-protected POST), then show the report again with counts."""
    person = get_object_or_404(Person, pk=person_id)
    form = SinceForm(request.POST)
    url = reverse("reports:exposure_person", args=[person.pk])
    if not form.is_valid():
        return redirect(url)
    since = form.cleaned_data["since"]
    result = exposure_notify(actor=request.user, person=person, since=since, now=timezone.now(), channel="web")
    messages.success(
        request,
        _("Notices sent: %(notified)d new, %(already)d already told, %(unreachable)d not reachable.")
        % {"notified": result.notified, "already": result.already, "unreachable": result.unreachable},
    )
    return redirect(f"{url}?{urlencode({'since': since.isoformat()})}")
