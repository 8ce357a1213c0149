"""The visitor's phone pages behind the poster QR: check in, check out, and 'not you?'."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from denpasar_checkin.nik import nik_hash
from denpasar_checkin.ratelimit import RateLimited, client_address, ratelimit_client, ratelimit_hit, ratelimit_nik
from offices.live_codes import LiveCheck, live_digits_normalise, live_pass_make, live_proof_check
from offices.models import Entrance

from .forms import CheckinForm, CheckoutForm
from .messages import REFERRAL_READY, live_code_refusal, public_message
from .models import Person
from .own_data import (
    OwnDataError,
    notice_acknowledge,
    person_data_erase,
    person_data_export,
    person_notices_unread,
    person_visits,
)
from .results import PublicResult, ResultExpired, ResultUnknown, result_for_token, result_token_make
from .selectors import entrance_by_code, entrances_by_live_digits, name_mask, person_for_device, person_is_inside
from .services import (
    CheckinError,
    EntranceInactive,
    EntranceUnknown,
    LiveCodeRefused,
    NotInside,
    device_forget,
    device_ratelimit,
    visit_checkin,
    visit_checkout,
)

DEVICE_COOKIE = "dc_device"
DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600
# Only the phone pages need the token; the officer console and admin never see it.
DEVICE_COOKIE_PATH = "/c/"
CODE_MAX_LENGTH = 64
TOKEN_MAX_LENGTH = 128


# --- small helpers -----------------------------------------------------------------------------------------------


def _entrance_get(code: str) -> Entrance | None:
    return entrance_by_code(code=code, max_length=CODE_MAX_LENGTH)


def _device_token(request: HttpRequest) -> str | None:
    token = request.COOKIES.get(DEVICE_COOKIE, "")
    return token if 0 < len(token) <= TOKEN_MAX_LENGTH else None


def _remembered_person(token: str | None) -> Person | None:
    return person_for_device(token=token)


def _is_inside(person: Person, entrance: Entrance) -> bool:
    return person_is_inside(person=person, office_id=entrance.office_id)


def _cookie_set(request: HttpRequest, response: HttpResponse, token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=DEVICE_COOKIE_MAX_AGE,
        path=DEVICE_COOKIE_PATH,
        secure=request.is_secure() or not settings.DEBUG,
        httponly=True,
        samesite="Lax",
    )


def _cookie_delete(response: HttpResponse) -> None:
    response.delete_cookie(DEVICE_COOKIE, path=DEVICE_COOKIE_PATH, samesite="Lax")


def _nonce() -> str:
    # A fresh id per rendered form: a double tap or a resubmit carries the same one and gets the first answer.
    return secrets.token_urlsafe(16)


# --- pages ---------------------------------------------------------------------------------------------------------


def _message_page(
    request: HttpRequest, *, title: str, text: str, status: int, reason: str, entrance: Entrance | None = None
) -> HttpResponse:
    context = {"title": title, "text": text, "reason": reason, "entrance": entrance}
    return render(request, "visitors/message.html", context, status=status)


@never_cache
@require_GET
def code_entry(request: HttpRequest) -> HttpResponse:
    """Typing a code for a phone whose camera cannot read the QR: the poster's short code (or an old poster's long
    one), or the six digits under a door screen's live QR."""
    typed = request.GET.get("code", "")
    # Long codes (older posters, grouped by four) may hold - and _ but never a space; short codes lose both.
    code = "".join(typed.split())[:CODE_MAX_LENGTH]
    if not code:
        return render(request, "visitors/code_entry.html", {"code": ""})

    def refused(error: str, status: int) -> HttpResponse:
        return render(request, "visitors/code_entry.html", {"code": typed[:40], "error": error}, status=status)

    digits = live_digits_normalise(typed)
    try:
        ratelimit_client(request)
        if digits is not None:
            # A million codes and a minute to guess in: far fewer tries per client than a poster code gets.
            ratelimit_hit(scope="live_digits", key=client_address(request), rate=settings.RATE_LIMIT_NIK)
    except RateLimited as error:
        return _rate_limited_page(request, error, None)
    if digits is not None:
        now = timezone.now()
        doors = entrances_by_live_digits(digits=digits, at=now)
        if not doors:
            return refused(_("This code is wrong or has changed. Type the 6 digits on the door screen now."), 404)
        if len(doors) > 1:
            return refused(_("This code is shown at more than one door right now. Please scan the QR code."), 409)
        # As if the kiosk's QR had been scanned: the entrance page takes the pass like a fresh token.
        response = redirect("visitors:entrance", code=doors[0].code)
        response["Location"] += "?" + urlencode({"t": live_pass_make(entrance=doors[0], at=now)})
        return response
    place = _entrance_get(code)
    if place is None:
        return refused(_("No entrance has this code. Check the poster and try again."), 404)
    if place.live_qr:
        # The poster's code would get round the live QR, which exists to make people be at the door.
        return refused(_("This entrance takes only the code on the door screen: type the 6 digits under its QR."), 403)
    return redirect("visitors:entrance", code=place.code)


def _unknown_page(request: HttpRequest) -> HttpResponse:
    return _message_page(
        request,
        title=_("Poster not valid"),
        text=_("This poster is no longer valid. Please ask the officer at the door."),
        status=404,
        reason="entrance_unknown",
    )


def _closed_page(request: HttpRequest, entrance: Entrance) -> HttpResponse:
    return _message_page(
        request,
        title=_("This entrance is closed"),
        text=public_message("denied", "entrance_closed"),
        status=404,
        reason="entrance_closed",
        entrance=entrance,
    )


def _live_refused_page(request: HttpRequest, reason: str) -> HttpResponse:
    # 410 tells an expired code (a photo, or a page left open) apart from one that never came from the screen.
    code, title, text = live_code_refusal(reason)
    return _message_page(request, title=title, text=text, status=410 if reason == "expired" else 403, reason=code)


def _rate_limited_page(request: HttpRequest, error: RateLimited, entrance: Entrance | None) -> HttpResponse:
    response = _message_page(
        request, title=_("Please wait"), text=str(error.message), status=429, reason="rate_limited", entrance=entrance
    )
    response["Retry-After"] = str(error.retry_after)
    return response


def _error_page(request: HttpRequest, error: CheckinError, entrance: Entrance) -> HttpResponse:
    if isinstance(error, EntranceUnknown):
        return _unknown_page(request)
    if isinstance(error, EntranceInactive):
        return _closed_page(request, entrance)
    title = _("You are not checked in here") if isinstance(error, NotInside) else _("Something went wrong")
    return _message_page(
        request, title=title, text=str(error.message), status=error.status, reason=error.code, entrance=entrance
    )


def _form_page(
    request: HttpRequest,
    entrance: Entrance,
    *,
    form: CheckinForm | None = None,
    status: int = 200,
    notice: str = "",
    live_pass: str = "",
) -> HttpResponse:
    context = {
        "entrance": entrance,
        "form": form or CheckinForm(),
        "nonce": _nonce(),
        "notice": notice,
        "live_pass": live_pass,
        "retention_days": settings.RETENTION_DAYS,
    }
    return render(request, "visitors/entrance_form.html", context, status=status)


def _device_page(
    request: HttpRequest,
    entrance: Entrance,
    person: Person,
    *,
    status: int = 200,
    notice: str = "",
    live_pass: str = "",
) -> HttpResponse:
    context = {
        "entrance": entrance,
        "masked_name": name_mask(person.name),
        "inside": _is_inside(person, entrance),
        "nonce": _nonce(),
        "notice": notice,
        "live_pass": live_pass,
        # Exposure notices not yet acknowledged: shown on every check-in page of this phone until read.
        "exposure_notices": person_notices_unread(person=person),
    }
    return render(request, "visitors/entrance_device.html", context, status=status)


def _result_page(request: HttpRequest, shown: PublicResult, *, token: str) -> HttpResponse:
    # Only the public outcome and reason reach the template: never the colour or the true (health) reason.
    now = timezone.localtime()
    context = {
        "entrance": shown.entrance,
        "outcome": shown.outcome,
        "reason": shown.reason,
        "message": public_message(shown.outcome, shown.reason),
        "referral_ready": REFERRAL_READY if shown.outcome == "see_officer" else "",
        "office_name": shown.entrance.office.name,
        "entrance_name": shown.entrance.name,
        "at": timezone.localtime(shown.at),
        "children": shown.children if shown.outcome == "admitted" else 0,
        "can_check_out": shown.can_check_out,
        "waiting": shown.waiting,
        "status_url": reverse("visitors:result_status", kwargs={"token": token}) if shown.waiting else "",
        "clock_ms": int(now.timestamp() * 1000),
        "clock_offset": int(now.utcoffset().total_seconds() // 60),
        "now": now,
    }
    return render(request, "visitors/result.html", context)


def _result_redirect(*, scan_event_id: int | None, visit_id: int | None = None) -> HttpResponse:
    """303 to the result's own URL: a reload shows the answer again instead of sending the form twice."""
    token = result_token_make(scan_event_id=scan_event_id, visit_id=visit_id)
    return HttpResponseRedirect(reverse("visitors:result", kwargs={"token": token}), status=303)


def _checkout_page(
    request: HttpRequest, entrance: Entrance, *, form: CheckoutForm | None = None, status: int = 200
) -> HttpResponse:
    person = None if form is not None else _remembered_person(_device_token(request))
    context = {
        "entrance": entrance,
        "form": form or CheckoutForm(),
        "masked_name": name_mask(person.name) if person else "",
    }
    return render(request, "visitors/checkout.html", context, status=status)


# --- views -----------------------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def entrance(request: HttpRequest, code: str) -> HttpResponse:
    """What the poster QR opens: the check-in form, or one tap on a remembered phone; POST checks in."""
    place = _entrance_get(code)
    if place is None:
        return _unknown_page(request)
    if not place.active:
        return _closed_page(request, place)
    try:
        ratelimit_client(request)
        if request.method == "POST":
            # The check-in service checks the live code the form carries, like any other rule.
            return _checkin(request, place, live_pass=request.POST.get("live", ""))
        live = _live_check(request, place)
        if live is not None and not live.ok:
            return _live_refused_page(request, live.reason)
        live_pass = live.pass_value if live is not None else ""
    except RateLimited as error:
        return _rate_limited_page(request, error, place)
    token = _device_token(request)
    person = _remembered_person(token)
    if person is not None:
        return _device_page(request, place, person, live_pass=live_pass)
    response = _form_page(request, place, live_pass=live_pass)
    if token:
        _cookie_delete(response)  # the server forgot this phone (or never knew it)
    return response


def _live_check(request: HttpRequest, place: Entrance) -> LiveCheck | None:
    """None at a printed-poster entrance; at a live-QR one, whether ?t= (what was scanned) may open the form."""
    if not place.live_qr:
        return None
    return live_proof_check(entrance=place, value=request.GET.get("t"), at=timezone.now())


def _checkin(request: HttpRequest, place: Entrance, *, live_pass: str = "") -> HttpResponse:
    token = _device_token(request)
    nonce = request.POST.get("nonce")
    form = None
    try:
        if token and not request.POST.get("nik"):
            device_ratelimit(token=token)
            result = visit_checkin(entrance_code=place.code, device_token=token, nonce=nonce, live=live_pass)
        else:
            form = CheckinForm(request.POST)
            if not form.is_valid():
                return _form_page(request, place, form=form, status=400, live_pass=live_pass)
            data = form.cleaned_data
            ratelimit_nik(nik_hash=nik_hash(data["nik"]))
            result = visit_checkin(
                entrance_code=place.code,
                nik=data["nik"],
                name=data["name"],
                phone=data["phone"],
                dependants=data["dependants"],
                nonce=nonce,
                remember_device=data["remember"],
                live=live_pass,
            )
    except ValidationError as error:
        if form is None:
            return _form_page(request, place, status=400, notice=" ".join(error.messages), live_pass=live_pass)
        form.add_service_errors(error)
        return _form_page(request, place, form=form, status=400, live_pass=live_pass)
    except LiveCodeRefused as error:
        return _live_refused_page(request, error.code.removeprefix("live_code_"))
    except CheckinError as error:
        if error.code == "device_unknown":
            response = _form_page(request, place, status=400, notice=str(error.message), live_pass=live_pass)
            _cookie_delete(response)
            return response
        return _error_page(request, error, place)

    response = _result_redirect(scan_event_id=result.scan_event_id, visit_id=result.visit_id)
    if result.device_token:
        _cookie_set(request, response, result.device_token)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, code: str) -> HttpResponse:
    """Leaving: by the remembered phone, or by NIK when the phone is not remembered."""
    place = _entrance_get(code)
    if place is None:
        return _unknown_page(request)
    token = _device_token(request)
    try:
        ratelimit_client(request)
        if request.method == "GET":
            return _checkout_page(request, place)
        if "nik" in request.POST:
            form = CheckoutForm(request.POST)
            if not form.is_valid():
                return _checkout_page(request, place, form=form, status=400)
            ratelimit_nik(nik_hash=nik_hash(form.cleaned_data["nik"]))
            result = visit_checkout(
                entrance_code=place.code, nik=form.cleaned_data["nik"], name=form.cleaned_data["name"]
            )
        elif token:
            device_ratelimit(token=token)
            result = visit_checkout(entrance_code=place.code, device_token=token)
        else:
            return _checkout_page(request, place)
    except RateLimited as error:
        return _rate_limited_page(request, error, place)
    except CheckinError as error:
        return _error_page(request, error, place)
    return _result_redirect(scan_event_id=result.scan_event_id)


def _result_shown(request: HttpRequest, token: str) -> PublicResult | HttpResponse:
    try:
        return result_for_token(token=token)
    except ResultExpired:
        return _message_page(
            request,
            title=_("This page has expired"),
            text=_("This result is no longer shown. To check in or out, scan the poster at the door again."),
            status=410,
            reason="result_expired",
        )
    except ResultUnknown:
        return _unknown_page(request)


@never_cache
@require_GET
def result(request: HttpRequest, token: str) -> HttpResponse:
    """A check-in's or check-out's answer, at its own URL: reloading it shows it again and writes nothing."""
    shown = _result_shown(request, token)
    if isinstance(shown, HttpResponse):
        return shown
    return _result_page(request, shown, token=token)


@never_cache
@require_GET
def result_status(request: HttpRequest, token: str) -> JsonResponse:
    """What an open result page polls while the officer decides: the public outcome, nothing more."""
    try:
        shown = result_for_token(token=token)
    except (ResultExpired, ResultUnknown):
        return JsonResponse({"outcome": "", "reason": "", "waiting": False}, status=404)
    return JsonResponse({"outcome": shown.outcome, "reason": shown.reason, "waiting": shown.waiting})


@require_POST
def forget_device(request: HttpRequest, code: str) -> HttpResponse:
    """'Not you?': the server forgets this phone, the cookie goes, and the form comes back."""
    try:
        ratelimit_client(request)
    except RateLimited as error:
        return _rate_limited_page(request, error, _entrance_get(code))
    token = _device_token(request)
    if token:
        device_forget(token=token)
    response = redirect("visitors:entrance", code=code)
    live_pass = request.POST.get("live", "")
    if live_pass:
        # Back to the form of a live-QR entrance with the pass the page had; the entrance page checks it.
        response["Location"] += "?" + urlencode({"t": live_pass})
    _cookie_delete(response)
    return response


# --- my check-ins: the person's own data, on their remembered phone ------------------------------------------------


def _me_page(request: HttpRequest, person: Person | None, *, status: int = 200, **extra) -> HttpResponse:
    context = {"person": person, "retention_days": settings.RETENTION_DAYS, **extra}
    if person is not None:
        context.setdefault("visits", person_visits(person=person, now=timezone.now()))
        context.setdefault("exposure_notices", person_notices_unread(person=person))
        context["masked_name"] = name_mask(person.name)
    response = render(request, "visitors/me.html", context, status=status)
    if person is None and _device_token(request):
        _cookie_delete(response)  # the server forgot this phone (or never knew it)
    return response


def _me_person(request: HttpRequest) -> Person | RateLimited:
    try:
        ratelimit_client(request)
    except RateLimited as error:
        return error
    return _remembered_person(_device_token(request))


@never_cache
@require_GET
def me(request: HttpRequest) -> HttpResponse:
    """My check-ins: this phone's person's visits within the retention period, notices, download and deletion."""
    person = _me_person(request)
    if isinstance(person, RateLimited):
        return _rate_limited_page(request, person, None)
    return _me_page(request, person)


@never_cache
@require_GET
def me_data(request: HttpRequest) -> HttpResponse:
    """Everything held about this phone's person, as a JSON download (never cached anywhere)."""
    person = _me_person(request)
    if isinstance(person, RateLimited):
        return _rate_limited_page(request, person, None)
    if person is None:
        return _me_page(request, None, status=403)
    response = JsonResponse(person_data_export(person=person), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = 'attachment; filename="denpasar-checkin-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def me_erase(request: HttpRequest) -> HttpResponse:
    """Delete what we hold about this phone's person (a ticked confirmation first); the phone is forgotten."""
    person = _me_person(request)
    if isinstance(person, RateLimited):
        return _rate_limited_page(request, person, None)
    if person is None:
        return _me_page(request, None, status=403)
    if request.POST.get("confirm") != "yes":
        return _me_page(request, person, status=400, erase_error=_("Tick the box to confirm the deletion."))
    try:
        erased = person_data_erase(person=person)
    except OwnDataError as error:
        return _me_page(request, person, status=error.status, erase_error=error.message)
    response = render(
        request, "visitors/me.html", {"erased": erased, "retention_days": settings.RETENTION_DAYS}, status=200
    )
    response["Cache-Control"] = "no-store"
    _cookie_delete(response)
    return response


@require_POST
def me_notice_ack(request: HttpRequest, notice_id: int) -> HttpResponse:
    """'I have read it': the notice stops showing; back to the page it was shown on."""
    person = _me_person(request)
    if isinstance(person, RateLimited):
        return _rate_limited_page(request, person, None)
    if person is None:
        return _me_page(request, None, status=403)
    try:
        notice_acknowledge(person=person, notice_id=notice_id)
    except OwnDataError as error:
        return _message_page(
            request, title=_("Notice not found"), text=error.message, status=error.status, reason=error.code
        )
    back = _entrance_get(request.POST.get("back", ""))
    if back is not None:
        return HttpResponseRedirect(reverse("visitors:entrance", kwargs={"code": back.code}), status=303)
    return HttpResponseRedirect(reverse("visitors:me"), status=303)
