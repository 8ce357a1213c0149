"""The second factor (TOTP, django-otp) for Satgas, city admins and superusers: the gate and its two pages.

With settings.TWO_FACTOR_REQUIRED (DEBUG off), a signed-in user whose roles call for it
(access.user_needs_second_factor) reaches nothing but the login, logout, language and these pages until a code from
their authenticator app has been given in this session; one without a confirmed device is led to enrol one first.
`make run` (DEBUG on) never asks.
"""

from __future__ import annotations

import base64
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .access import user_needs_second_factor
from .services import audit_record

# Pages a user who still owes the second factor may open (besides the two below, which are marked as exempt).
_OPEN_VIEWS = frozenset({"admin:login", "admin:logout", "set_language", "healthz", "readyz"})
DEVICE_NAME = "Denpasar Check-in"


def _exempt(view_func: Any) -> Any:
    view_func.two_factor_exempt = True
    return view_func


def device_confirmed_for(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


class TwoFactorMiddleware:
    """After OTPMiddleware: sends a user who owes the second factor to verify (or enrol); the API answers 403."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not settings.TWO_FACTOR_REQUIRED:
            return None
        if getattr(view_func, "two_factor_exempt", False) or request.resolver_match.view_name in _OPEN_VIEWS:
            return None
        user = request.user
        if not user_needs_second_factor(user) or user.is_verified():
            return None
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {"detail": str(_("Give the code from your authenticator app first.")), "code": "two_factor_required"},
                status=403,
            )
        target = "two_factor:verify" if device_confirmed_for(user) else "two_factor:enrol"
        url = reverse(target)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(url)


class CodeForm(forms.Form):
    # Rendered by hand in offices/_code_form.html (numeric keyboard, one-time-code autofill).
    code = forms.CharField(label=_("6-digit code"), max_length=12)

    def __init__(self, *args: Any, device: TOTPDevice, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_code(self) -> str:
        code = "".join((self.cleaned_data.get("code") or "").split())
        allowed, _info = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError(
                _("Too many wrong codes. Wait a minute, then type the newest code."), code="throttled"
            )
        # verify_token counts a wrong code (or junk) towards the device's throttle.
        if not self.device.verify_token(code):
            raise forms.ValidationError(
                _("That code is not right. Type the code your authenticator app shows now (check the phone's clock)."),
                code="wrong_code",
            )
        return code


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _signed_in(request: HttpRequest, device: TOTPDevice) -> HttpResponse:
    otp_login(request, device)
    # A new session key once the second factor is given, as Django does after the password.
    request.session.cycle_key()
    return redirect(_next_url(request))


@_exempt
@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Asks for the current code of the user's confirmed device."""
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    device = device_confirmed_for(user)
    if device is None:
        return redirect(f"{reverse('two_factor:enrol')}?{urlencode({'next': _next_url(request)})}")
    form = CodeForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        return _signed_in(request, device)
    return render(request, "offices/two_factor_verify.html", {"form": form, "next": _next_url(request)})


@_exempt
@never_cache
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Shows a new secret (QR code and text) and confirms it with a first code; one confirmed device per user."""
    user = request.user
    if device_confirmed_for(user) is not None:
        # A stolen password must not be enough to add a second device: replacing one is an administrator's task.
        return redirect(f"{reverse('two_factor:verify')}?{urlencode({'next': _next_url(request)})}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    form = CodeForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(actor=user, action="two_factor.enrolled", obj=device, detail={"device": device.name})
        return _signed_in(request, device)
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_svg": segno.make(device.config_url, error="m").svg_inline(scale=5, border=4),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
    }
    return render(request, "offices/two_factor_enrol.html", context)
