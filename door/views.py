"""The door officer console: the entrance list, the live screen, its event stream and polling fallback, and the
officer's actions. Views check access, parse, call one service or selector, and answer (JSON for the screen's
script, a redirect for a plain form post).
"""

from __future__ import annotations

import math
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from denpasar_checkin.nik import nik_normalize
from denpasar_checkin.ratelimit import RateLimited
from offices.access import door_entrances_for_user, user_may_work_door, user_works_doors
from offices.live_codes import PERIOD_SECONDS, live_digits_grouped, live_digits_make, live_seconds_left, live_url
from offices.models import Entrance, code_entry_address
from visitors.inputs import MAX_DEPENDANTS
from visitors.messages import reason_label
from visitors.models import ScanEvent
from visitors.own_data import OwnDataError, person_by_identity, person_data_erase, person_data_export
from visitors.services import CheckinError

from .selectors import (
    HEADLINES,
    door_cursor_latest,
    door_events_after,
    door_events_recent,
    door_list_state,
    door_people_inside,
    door_state,
    door_who,
)
from .services import (
    CaseNotFound,
    alert_acknowledge,
    office_day_close,
    visit_officer_checkin,
    visit_officer_checkout,
)
from .stream import DoorFeed, StreamConfig, door_stream_async, door_stream_sync

QUERY_MAX_LENGTH = 100
KIOSK_QR_SCALE = 10  # module size in SVG units; the page scales the SVG to the screen


# --- helpers -----------------------------------------------------------------------------------------------------


def _entrance(request: HttpRequest, entrance_id: int) -> Entrance:
    entrance = get_object_or_404(Entrance.objects.select_related("office"), pk=entrance_id)
    if not user_may_work_door(request.user, office_id=entrance.office_id):
        raise PermissionDenied
    return entrance


def _case_at(entrance: Entrance, event_id: int) -> int:
    """A case is answered at the door where it happened; another door's event id is simply not found here."""
    if not ScanEvent.objects.filter(pk=event_id, entrance_id=entrance.pk).exists():
        raise CaseNotFound("case_unknown", _("No such scan at this entrance."))
    return event_id


def _cursor(value: Any) -> int | None:
    try:
        cursor = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return cursor if cursor >= 0 else None


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _answer(
    request: HttpRequest, entrance: Entrance, payload: dict[str, Any], *, status: int = 200, message: str = ""
) -> HttpResponse:
    if _wants_json(request):
        payload.setdefault("message", message)
        payload.setdefault("state", door_state(entrance_id=entrance.pk, office_id=entrance.office_id))
        return JsonResponse(payload, status=status)
    # Without the script: back to the screen, with the outcome as a one-time message.
    if message:
        (messages.success if status < 400 else messages.error)(request, message)
    return redirect("door:screen", entrance_id=entrance.pk)


def _run(request: HttpRequest, entrance: Entrance, action) -> HttpResponse:
    """Call one officer action and turn its known failures into answers; anything else is a real error."""
    try:
        payload, message = action()
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        text = " ".join(str(m) for messages_ in errors.values() for m in messages_)
        return _answer(request, entrance, {"code": "invalid", "errors": errors}, status=400, message=text)
    except RateLimited as error:
        response = _answer(request, entrance, {"code": "rate_limited"}, status=429, message=str(error.message))
        response["Retry-After"] = str(error.retry_after)
        return response
    except CheckinError as error:
        return _answer(request, entrance, {"code": error.code}, status=error.status, message=str(error.message))
    return _answer(request, entrance, payload, message=message)


def _labels() -> dict[str, str]:
    """Words the screen's script needs, in the page's language."""
    return {
        "live": _("Live"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
        "offline": _("Offline: reconnecting. Scans are kept and will appear."),
        "polling": _("Live (slow connection mode)"),
        "session": _("Your session has ended. Log in again."),
        "approve": _("Approve"),
        "deny": _("Deny"),
        "deny_reason": _("Reason for denying"),
        "acknowledge": _("Acknowledge"),
        "check_out": _("Check out"),
        "alert": _("ALERT"),
        "by_officer": _("by officer"),
        "no_one": _("Nobody inside matches."),
        "nobody_inside": _("Nobody is inside."),
        "just_now": _("just now"),
        # {n}, {h} and {m} are filled in by the screen's script as the alert ages.
        "minutes_ago": _("{n} min ago"),
        "hours_ago": _("{h} h {m} min ago"),
        "since": _("in since"),
        "sound_on": _("Sound on"),
        "sound_off": _("Sound off"),
        "error": _("That did not work. Try again."),
    }


# --- pages -------------------------------------------------------------------------------------------------------


@never_cache
@require_safe
@login_required
def door_index(request: HttpRequest) -> HttpResponse:
    """The officer's home (where they land after login): every door in scope with its live state, office by office."""
    if not user_works_doors(request.user):
        raise PermissionDenied
    offices = door_list_state(entrances=list(door_entrances_for_user(request.user)))
    return render(request, "door/index.html", {"offices": offices})


@never_cache
@require_safe
@login_required
def door_screen(request: HttpRequest, entrance_id: int) -> HttpResponse:
    entrance = _entrance(request, entrance_id)
    now = timezone.now()
    events = door_events_recent(entrance_id=entrance.pk)
    state = door_state(entrance_id=entrance.pk, office_id=entrance.office_id)
    config = {
        "entrance": entrance.pk,
        "cursor": events[-1]["id"] if events else door_cursor_latest(entrance_id=entrance.pk),
        "events": events,
        "state": state,
        "max_dependants": MAX_DEPENDANTS,
        "now_ms": int(now.timestamp() * 1000),
        "utc_offset_minutes": int(timezone.localtime(now).utcoffset().total_seconds() // 60),
        "urls": {
            "stream": reverse("door:events", args=[entrance.pk]),
            "poll": reverse("door:events_json", args=[entrance.pk]),
            "inside": reverse("door:inside", args=[entrance.pk]),
            # Pending cases are answered through the REST API, the same call an integration makes.
            "decision": reverse("door_api:scan-decision", args=[0]),
            "ack": reverse("door:ack", args=[entrance.pk, 0]),
            "checkout": reverse("door:checkout", args=[entrance.pk]),
            "login": f"{reverse('admin:login')}?next={request.path}",
        },
        "labels": _labels(),
    }
    return render(
        request,
        "door/screen.html",
        {
            "entrance": entrance,
            "office": entrance.office,
            "events": events,
            "state": state,
            "occupancy": state["occupancy"],
            "child_rows": range(1, MAX_DEPENDANTS + 1),
            "config": config,
        },
    )


@never_cache
@require_safe
@login_required
def door_kiosk(request: HttpRequest, entrance_id: int) -> HttpResponse:
    """The live door QR, full screen: a new signed code every period; the page reloads itself at each change."""
    entrance = _entrance(request, entrance_id)
    now = timezone.now()
    url = live_url(entrance=entrance, at=now)
    # Reload just after the boundary (never 0: a refresh of 0 would loop while the server's clock catches up).
    seconds_left = max(1, math.ceil(live_seconds_left(now)))
    qr = segno.make(url, error="q").svg_inline(
        scale=KIOSK_QR_SCALE, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr"
    )
    context = {
        "entrance": entrance,
        "office": entrance.office,
        "url": url,
        "qr": qr,
        "seconds_left": seconds_left,
        "period_seconds": PERIOD_SECONDS,
        # For a phone that cannot scan: typed at /c/, the digits open the form as the QR does, for the same time.
        "digits": live_digits_grouped(live_digits_make(entrance=entrance, at=now)),
        "code_entry_address": code_entry_address(),
    }
    return render(request, "door/kiosk.html", context)


@never_cache
@require_safe
@login_required
def door_events(request: HttpRequest, entrance_id: int) -> StreamingHttpResponse:
    """The live feed. The browser's Last-Event-ID (set on reconnect) wins over ?after= (the page's first cursor)."""
    entrance = _entrance(request, entrance_id)
    after = _cursor(request.headers.get("Last-Event-ID"))
    if after is None:
        after = _cursor(request.GET.get("after"))
    if after is None:
        after = door_cursor_latest(entrance_id=entrance.pk)
    config = StreamConfig.from_settings()
    feed = DoorFeed(
        entrance_id=entrance.pk,
        office_id=entrance.office_id,
        after=after,
        language=get_language() or "id",
        state_seconds=config.state_seconds,
    )
    # Under ASGI an async iterator frees the worker between events; under WSGI Django would buffer one forever.
    stream = door_stream_async(feed, config) if isinstance(request, ASGIRequest) else door_stream_sync(feed, config)
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response


@never_cache
@require_safe
@login_required
def door_events_json(request: HttpRequest, entrance_id: int) -> JsonResponse:
    """The polling fallback: events after ?after= and the current screen state."""
    entrance = _entrance(request, entrance_id)
    after = _cursor(request.GET.get("after"))
    if after is None:
        after = door_cursor_latest(entrance_id=entrance.pk)
    events = door_events_after(entrance_id=entrance.pk, after=after)
    return JsonResponse(
        {
            "events": events,
            "cursor": events[-1]["id"] if events else after,
            "state": door_state(entrance_id=entrance.pk, office_id=entrance.office_id),
        }
    )


@never_cache
@require_safe
@login_required
def door_inside(request: HttpRequest, entrance_id: int) -> JsonResponse:
    """People inside matching ?q= (a name), for manual check-out; masked, newest first."""
    entrance = _entrance(request, entrance_id)
    query = request.GET.get("q", "")[:QUERY_MAX_LENGTH]
    return JsonResponse({"people": door_people_inside(office_id=entrance.office_id, query=query)})


# --- actions -----------------------------------------------------------------------------------------------------


@require_POST
@login_required
def door_ack(request: HttpRequest, entrance_id: int, event_id: int) -> HttpResponse:
    entrance = _entrance(request, entrance_id)

    def action():
        changed = alert_acknowledge(scan_event_id=_case_at(entrance, event_id), officer=request.user)
        return {"acknowledged": True, "changed": changed}, _("Alert acknowledged.")

    return _run(request, entrance, action)


def _dependants_from(post) -> list[dict[str, str]]:
    """Child rows from the form; a row with both fields empty is no child, a half-filled one is for the service."""
    niks, names = post.getlist("child_nik")[: MAX_DEPENDANTS + 1], post.getlist("child_name")[: MAX_DEPENDANTS + 1]
    rows = [{"nik": nik.strip(), "name": name.strip()} for nik, name in zip(niks, names, strict=False)]
    return [row for row in rows if row["nik"] or row["name"]]


@require_POST
@login_required
def door_checkin(request: HttpRequest, entrance_id: int) -> HttpResponse:
    entrance = _entrance(request, entrance_id)

    def action():
        result = visit_officer_checkin(
            entrance_id=entrance.pk,
            officer=request.user,
            nik=request.POST.get("nik", ""),
            name=request.POST.get("name", ""),
            dependants=_dependants_from(request.POST),
        )
        # The service has validated the NIK: its last four digits name the person as the KTP does.
        nik_last4 = nik_normalize(request.POST.get("nik", ""))[-4:]
        payload = {
            "outcome": result.outcome,
            "reason": result.reason,
            "colour": result.colour or None,
            "scan_event": result.scan_event_id,
            "visit": result.visit_id,
            "name": result.person_name,
            "nik_last4": nik_last4,
        }
        said = str(HEADLINES.get(result.outcome, result.outcome))
        if result.reason != "ok":
            said = f"{said}: {reason_label(result.reason)}"
        return payload, f"{door_who(name=result.person_name, nik_last4=nik_last4)} — {said}"

    return _run(request, entrance, action)


@require_POST
@login_required
def door_checkout(request: HttpRequest, entrance_id: int) -> HttpResponse:
    entrance = _entrance(request, entrance_id)

    def action():
        visit_id = _cursor(request.POST.get("visit"))
        if visit_id is None:
            raise ValidationError({"visit": _("Choose a person from the list.")})
        result = visit_officer_checkout(entrance_id=entrance.pk, visit_id=visit_id, officer=request.user)
        return {"visit": result.visit_id, "people_out": result.people_out, "scan_event": result.scan_event_id}, _(
            "Checked out."
        )

    return _run(request, entrance, action)


@require_POST
@login_required
def door_close_day(request: HttpRequest, entrance_id: int) -> HttpResponse:
    entrance = _entrance(request, entrance_id)

    def action():
        if request.POST.get("confirm") != "yes":
            raise ValidationError({"confirm": _("Confirm that everyone still inside should be checked out.")})
        result = office_day_close(office_id=entrance.office_id, officer=request.user, entrance_id=entrance.pk)
        message = _("Day closed: %(n)d people checked out.") % {"n": result.people_out}
        return {"visits_closed": result.visits_closed, "people_out": result.people_out}, message

    return _run(request, entrance, action)


# --- a person's own data, for someone without a remembered phone ---------------------------------------------------


def _person_data_page(request: HttpRequest, *, status: int = 200, **context) -> HttpResponse:
    return render(request, "door/person_data.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def door_person_data(request: HttpRequest) -> HttpResponse:
    """An officer downloads or erases a person's data for them, after checking their KTP; the NIK comes only in
    the form's POST, never in a URL, and the audit names the officer."""
    if not user_works_doors(request.user):
        raise PermissionDenied
    if request.method != "POST":
        return _person_data_page(request)
    action = request.POST.get("action")
    name = request.POST.get("name", "")
    errors: dict[str, str] = {}
    if action not in ("download", "erase"):
        errors["action"] = _("Choose download or delete.")
    if request.POST.get("ktp_checked") != "yes":
        errors["ktp_checked"] = _("Check the person's KTP first, then tick the box.")
    if action == "erase" and request.POST.get("confirm") != "yes":
        errors["confirm"] = _("Tick the box to confirm the deletion.")
    try:
        person = person_by_identity(nik=request.POST.get("nik", ""), name=name)
    except ValidationError as error:
        errors = {**{key: " ".join(messages_) for key, messages_ in error.message_dict.items()}, **errors}
    except OwnDataError as error:
        if not errors:
            return _person_data_page(request, status=error.status, name=name, error=error.message)
    if errors:
        return _person_data_page(request, status=400, name=name, errors=errors)
    if action == "download":
        data = person_data_export(person=person, actor=request.user, via="officer")
        response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = 'attachment; filename="denpasar-checkin-data.json"'
        response["Cache-Control"] = "no-store"
        return response
    try:
        erased = person_data_erase(person=person, actor=request.user, via="officer")
    except OwnDataError as error:
        return _person_data_page(request, status=error.status, name=name, error=error.message)
    return _person_data_page(request, erased=erased)
