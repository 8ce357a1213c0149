"""Poster downloads (PNG and PDF) for logged-in staff, limited to the offices they may see."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse_lazy
from django.views.decorators.http import require_safe

from .access import user_can_access_office
from .models import Entrance, Office
from .posters import (
    NoActiveEntrances,
    office_posters_filename,
    office_posters_pdf,
    poster_filename,
    poster_render_pdf,
    poster_render_png,
)

staff_login_required = login_required(login_url=reverse_lazy("admin:login"))


def _entrance_in_scope(request: HttpRequest, entrance_id: int) -> Entrance:
    entrance = get_object_or_404(Entrance.objects.select_related("office"), pk=entrance_id)
    if not user_can_access_office(request.user, entrance.office_id):
        raise PermissionDenied
    return entrance


def _download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A poster carries a live entrance code: keep it out of shared caches and the browser's disk cache.
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@staff_login_required
def entrance_poster_png(request: HttpRequest, entrance_id: int) -> HttpResponse:
    entrance = _entrance_in_scope(request, entrance_id)
    return _download(
        poster_render_png(entrance=entrance),
        content_type="image/png",
        filename=poster_filename(entrance=entrance, extension="png"),
    )


@require_safe
@staff_login_required
def entrance_poster_pdf(request: HttpRequest, entrance_id: int) -> HttpResponse:
    entrance = _entrance_in_scope(request, entrance_id)
    return _download(
        poster_render_pdf(entrances=[entrance]),
        content_type="application/pdf",
        filename=poster_filename(entrance=entrance, extension="pdf"),
    )


@require_safe
@staff_login_required
def office_posters(request: HttpRequest, office_id: int) -> HttpResponse:
    office = get_object_or_404(Office, pk=office_id)
    if not user_can_access_office(request.user, office.pk):
        raise PermissionDenied
    try:
        content = office_posters_pdf(office=office)
    except NoActiveEntrances as error:
        raise Http404("This office has no active entrances.") from error
    return _download(content, content_type="application/pdf", filename=office_posters_filename(office=office))
