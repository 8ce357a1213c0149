"""Logins: the throttle (django-axes) and its audit entry, where each role lands after logging in, and the admin
site's hooks for it."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username
from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse

from .access import User, door_entrances_for_user, user_has_role, user_works_doors
from .roles import ROLE_CITY_ADMIN, ROLE_OFFICE_ADMIN, ROLE_OFFICER, ROLE_SATGAS
from .services import audit_record

# Roles whose work is in the admin; an officer with one of them lands there like any admin.
ADMIN_ROLES = (ROLE_OFFICE_ADMIN, ROLE_CITY_ADMIN, ROLE_SATGAS)
# Entrances listed on the admin home; the door console lists them all.
ADMIN_HOME_DOORS = 12


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a locked-out username+address pair before ModelBackend checks the password.

    A call without a request (a management command, the shell, the test client's login()) has no address to
    count against and could not be recorded as a failure either, so it passes to the next backend unthrottled;
    every login form of the site passes its request.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_audit(sender: Any, *, request: HttpRequest, username: str | None, ip_address: str, **kwargs: Any) -> None:
    """Receiver of axes' user_locked_out: one audit entry when a pair becomes locked (never the password).

    Axes sends the signal again for every refused try during the lockout, without counting it as a failure; only
    a counted failure that reached the limit starts a lockout, and only that one is written.
    """
    if (getattr(request, "axes_failures_since_start", None) or 0) < settings.AXES_FAILURE_LIMIT:
        return
    audit_record(
        actor=None,
        action="login.locked_out",
        detail={
            "username": (username or "")[:150],
            "ip_address": ip_address,
            "failures": settings.AXES_FAILURE_LIMIT,
            "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The page a locked-out login gets (AXES_LOCKOUT_CALLABLE): 429 with Retry-After, in the user's language."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": seconds // 60,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


# --- landing ---------------------------------------------------------------------------------------------------


def user_lands_at_door(user: User) -> bool:
    """A door officer with no admin role: their place is the door console, not the admin (a superuser holds every
    role, so never lands here)."""
    return user_has_role(user, ROLE_OFFICER) and not any(user_has_role(user, role) for role in ADMIN_ROLES)


def admin_home_doors(user: User) -> dict[str, Any]:
    """What the admin home shows of the doors: the first entrances in the user's scope, with their links."""
    if not user_works_doors(user):
        return {"door_entrances": [], "door_more": False}
    entrances = list(door_entrances_for_user(user)[: ADMIN_HOME_DOORS + 1])
    return {"door_entrances": entrances[:ADMIN_HOME_DOORS], "door_more": len(entrances) > ADMIN_HOME_DOORS}


def admin_site_hooks_install(site: AdminSite) -> None:
    """Teach the one admin site every app registers with where officers belong.

    - Its login form sends an officer-only user to /door/ where it would have opened the admin home (no `next`, or
      `next` pointing at the home, which is where /admin/ itself sends a logged-out visitor); a deeper `next`, such
      as a door screen's own URL, is kept.
    - "View site" leads such a user to /door/ instead of the visitor's code entry.
    - The admin home lists the user's doors with their screen, kiosk and posters.
    - No navigation side bar, so that changelists fit a 1280 px screen.

    Wrapping the instance (before its URLs are built) keeps django.contrib.admin's default site, so the settings and
    the root URLconf stay as they are.
    """
    login, each_context, index = site.login, site.each_context, site.index

    def officer_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = login(request, extra_context)
        if not isinstance(response, HttpResponseRedirect) or not request.user.is_authenticated:
            return response
        home = reverse("admin:index", current_app=site.name)
        # A post without `next` (the form always sends one; a script may not) goes to LOGIN_REDIRECT_URL, a page
        # this project does not have: it is the same "no particular page" as the home.
        if response.url not in (home, resolve_url(settings.LOGIN_REDIRECT_URL)):
            return response
        return HttpResponseRedirect(reverse("door:index") if user_lands_at_door(request.user) else home)

    def officer_each_context(request: HttpRequest) -> dict[str, Any]:
        context = each_context(request)
        if user_lands_at_door(request.user):
            context["site_url"] = reverse("door:index")
        return context

    def index_with_doors(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return index(request, {**admin_home_doors(request.user), **(extra_context or {})})

    site.login = officer_login
    site.each_context = officer_each_context
    site.index = index_with_doors
    # On a 1280 px screen the side bar (300 px) and a list's filter (270 px) left the table 630 px, and the lists of
    # scans and visits broke words to fit; the home page and the breadcrumbs lead to the same models.
    site.enable_nav_sidebar = False
