"""REST API views (check-in, check-out, occupancy) and the exception handler that keeps every API error JSON."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.log import log_response
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from denpasar_checkin.middleware import database_unavailable, unavailable_response
from denpasar_checkin.nik import nik_hash, nik_validate
from denpasar_checkin.ratelimit import RateLimited, ratelimit_client, ratelimit_nik
from offices.access import user_can_access_office, user_sees_truth_at
from offices.models import Office
from offices.selectors import entrance_office_id, hosts_matching
from screening.selectors import effective_capacity, restriction_level_current

from .selectors import entrance_by_code
from .serializers import (
    CheckinAnswerSerializer,
    CheckinRequestSerializer,
    CheckoutRequestSerializer,
    ErrorSerializer,
    OccupancySerializer,
    checkin_answer,
    checkout_answer,
    occupancy_answer,
)
from .services import CheckinError, device_ratelimit, visit_checkin, visit_checkout

# A check-in with five children is about 1 kB. The bound sits well above that so an over-long name still gets the
# service's own message, while a public endpoint never buffers megabytes (DRF reads the body past
# DATA_UPLOAD_MAX_MEMORY_SIZE).
MAX_BODY_BYTES = 64 * 1024


# --- errors -----------------------------------------------------------------------------------------------------


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = _("The request body is too large.")
    default_code = "too_large"


class BoundedJSONParser(JSONParser):
    """JSON only, at most MAX_BODY_BYTES; nesting deeper than Python's stack is a parse error, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - the body is nested too deeply.")) from None


def _error(message: Any, *, code: str, status: int, headers: dict[str, str] | None = None) -> Response:
    set_rollback()
    return Response({"detail": str(message), "code": code}, status=status, headers=headers)


def _field_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: [str(m) for m in error.messages]}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): [str(m) for m in messages]
        for field, messages in error.message_dict.items()
    }


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler plus the domain's errors; every answer is `{"detail", "code"}` or `{"field": [messages]}`."""
    if isinstance(exc, RateLimited):
        return _error(exc.message, code="rate_limited", status=429, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, CheckinError):
        return _error(exc.message, code=exc.code, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(_field_errors(exc), status=400)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # Bad input like any other: 400, with a message that says what to send.
        return _error(
            _("Send the request body as JSON, with Content-Type: application/json."),
            code="unsupported_media_type",
            status=400,
        )
    if database_unavailable(exc):
        set_rollback()
        request = context.get("request")
        return unavailable_response(getattr(request, "_request", request), exc, json=True)
    response = drf_exception_handler(exc, context)
    if response is None:
        if settings.DEBUG:
            return None  # the developer's traceback page
        request = context.get("request")
        django_request = getattr(request, "_request", request)
        response = _error(_("Something went wrong on our side. Please try again."), code="server_error", status=500)
        # Logged the way Django logs its own 500s, so error mail and log alerts still fire.
        log_response(
            "Internal Server Error: %s", django_request.path, response=response, request=django_request, exception=exc
        )
        return response
    if isinstance(response.data, list):
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    elif isinstance(response.data, dict) and set(response.data) == {"detail"}:
        response.data["code"] = getattr(response.data["detail"], "code", None) or "error"
    return response


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /api/v1/ answer JSON too; a missing trailing slash is named, since POSTs cannot redirect."""
    detail = _("Not found.")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            detail = _("Not found. Did you mean %(path)s (with the trailing slash)?") % {"path": request.path + "/"}
    return JsonResponse({"detail": str(detail), "code": "not_found"}, status=404)


# --- helpers ----------------------------------------------------------------------------------------------------


def _validated(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _ratelimit_person(*, nik: str | None, device_token: str | None) -> None:
    """Per-NIK (or per-device) limit, strict: guessing someone's health by NIK is the abuse that matters."""
    if nik:
        try:
            digest = nik_hash(nik_validate(nik))
        except DjangoValidationError:
            return  # the service turns it away with a field message and looks nothing up
        ratelimit_nik(nik_hash=digest)
    elif device_token:
        device_ratelimit(token=device_token)


def _officer_office_id(user: AbstractBaseUser | AnonymousUser, *, entrance_code: str) -> int | None:
    """The entrance's office id when the caller may see the truth there (an officer or admin of it), else None.

    Needed before the service runs, because the service records who scanned; anonymous callers cost no query.
    """
    if not user.is_authenticated:
        return None
    office_id = entrance_office_id(code=entrance_code)
    return office_id if user_sees_truth_at(user, office_id=office_id) else None


# --- schema pieces ----------------------------------------------------------------------------------------------
# Plain English: the schema is read by integrators, and these are built at import time.

_FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Bad input: {"field": ["message", ...]}, or {"detail", "code"} for a body that is not JSON.',
)
_ENTRANCE_ERRORS = OpenApiResponse(
    ErrorSerializer, description="Unknown or retired entrance code (entrance_unknown), or a closed entrance."
)
_RATE_LIMITED = OpenApiResponse(ErrorSerializer, description="Too many attempts; see Retry-After.")
_RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before trying again.",
)


# --- views ------------------------------------------------------------------------------------------------------


@extend_schema(
    operation_id="checkins_create",
    summary="Check in at an entrance",
    description=(
        "Anonymous callers get outcome admitted, see_officer (every health-based result, all alike) or denied. "
        "An officer or admin of the entrance's office gets the true outcome (admitted, pending, denied), "
        "reason and colour. At an entrance that accepts only the live door QR, anyone else must send `live`."
    ),
    request=CheckinRequestSerializer,
    responses={
        200: CheckinAnswerSerializer,
        400: _FIELD_ERRORS,
        403: OpenApiResponse(
            ErrorSerializer,
            description=(
                "The entrance accepts only the live door QR and `live` is missing or not valid (live_code_invalid) "
                "or too old (live_code_expired)."
            ),
        ),
        404: _ENTRANCE_ERRORS,
        429: _RATE_LIMITED,
    },
    parameters=[_RETRY_AFTER],
    tags=["check-in"],
)
@api_view(["POST"])
@permission_classes([AllowAny])
@parser_classes([BoundedJSONParser])
def checkin_create(request: Request) -> Response:
    ratelimit_client(request)
    data = _validated(CheckinRequestSerializer, request)
    _ratelimit_person(nik=data.get("nik"), device_token=data.get("device_token"))
    office_id = _officer_office_id(request.user, entrance_code=data["entrance"])
    result = visit_checkin(
        entrance_code=data["entrance"],
        nik=data.get("nik"),
        name=data.get("name"),
        phone=data.get("phone"),
        dependants=data.get("dependants"),
        nonce=data.get("nonce"),
        device_token=data.get("device_token") or None,
        officer=request.user if office_id is not None else None,
        live=data.get("live"),
    )
    return Response(checkin_answer(result, officer_view=office_id == result.office_id))


@extend_schema(
    operation_id="checkouts_create",
    summary="Check out at an entrance",
    request=CheckoutRequestSerializer,
    responses={
        200: CheckinAnswerSerializer,
        400: _FIELD_ERRORS,
        404: _ENTRANCE_ERRORS,
        409: OpenApiResponse(ErrorSerializer, description="Not checked in at this office (not_inside)."),
        429: _RATE_LIMITED,
    },
    parameters=[_RETRY_AFTER],
    tags=["check-in"],
)
@api_view(["POST"])
@permission_classes([AllowAny])
@parser_classes([BoundedJSONParser])
def checkout_create(request: Request) -> Response:
    ratelimit_client(request)
    data = _validated(CheckoutRequestSerializer, request)
    _ratelimit_person(nik=data.get("nik"), device_token=data.get("device_token"))
    office_id = _officer_office_id(request.user, entrance_code=data["entrance"])
    result = visit_checkout(
        entrance_code=data["entrance"],
        nik=data.get("nik"),
        name=data.get("name"),
        device_token=data.get("device_token") or None,
        officer=request.user if office_id is not None else None,
    )
    return Response(checkout_answer(result, effective_capacity=result.effective_capacity))


@extend_schema(
    operation_id="offices_occupancy_retrieve",
    summary="People inside an office now",
    responses={200: OccupancySerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    tags=["offices"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def office_occupancy(request: Request, office_id: int) -> Response:
    # Scope first: someone outside the office learns nothing, not even whether the id exists.
    if not user_can_access_office(request.user, office_id):
        raise exceptions.PermissionDenied(_("You do not have access to this office."))
    office = (
        Office.objects.filter(pk=office_id)
        .values("id", "name", "capacity", "sector", "occupancy__staff_inside", "occupancy__visitors_inside")
        .first()
    )
    if office is None:
        raise exceptions.NotFound(_("No such office."))
    level = restriction_level_current()
    percentage = level.percentage_for(office["sector"])
    return Response(
        occupancy_answer(
            office=office,
            effective_capacity=effective_capacity(capacity=office["capacity"], percentage=percentage),
            level=level,
            percentage=percentage,
        )
    )


HOST_QUERY_MIN, HOST_QUERY_MAX = 2, 60


class HostSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The staff id a check-in names as its host.")
    name = serializers.CharField()


@extend_schema(
    operation_id="entrances_hosts_list",
    summary="Whom a visitor can name as their host at this entrance's office",
    description=(
        "Anonymous and rate-limited. Active staff of the entrance's office who receive visitors and whose name holds "
        f"every word of `q` ({HOST_QUERY_MIN}-{HOST_QUERY_MAX} characters), at most 10, by name: id and name only."
    ),
    parameters=[
        OpenApiParameter("q", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True, description="Part of a name."),
        _RETRY_AFTER,
    ],
    responses={200: HostSerializer(many=True), 400: _FIELD_ERRORS, 404: _ENTRANCE_ERRORS, 429: _RATE_LIMITED},
    tags=["check-in"],
)
@api_view(["GET"])
@permission_classes([AllowAny])
def entrance_hosts(request: Request, code: str) -> Response:
    # Its own budget: typing a name sends a request per pause, which must not use up the check-in's.
    ratelimit_client(request, scope="hosts")
    query = " ".join(request.query_params.get("q", "").split())
    if not HOST_QUERY_MIN <= len(query) <= HOST_QUERY_MAX:
        message = _("Type %(min)d to %(max)d letters of the name.") % {"min": HOST_QUERY_MIN, "max": HOST_QUERY_MAX}
        return Response({"q": [message]}, status=400)
    entrance = entrance_by_code(code=code)
    if entrance is None or not entrance.active:
        return _error(
            _("This QR code is not valid or no longer in use. Please ask the officer at the door."),
            code="entrance_unknown",
            status=404,
        )
    return Response(HostSerializer(hosts_matching(office_id=entrance.office_id, query=query), many=True).data)
