"""REST API for contact tracing: POST /api/v1/exposures/ and /exposures/notify/ (Satgas only; POSTs, so the NIK stays
out of URLs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from denpasar_checkin.nik import nik_validate
from offices.access import user_may_trace
from visitors.api import BoundedJSONParser
from visitors.serializers import NAME_SCHEMA, NIK_SCHEMA, ErrorSerializer

from .notices import exposure_notify_by_nik
from .services import ExposurePersonNotFound, ExposureSinceRequired, exposure_report_by_nik


@extend_schema_field(NIK_SCHEMA)
class NikField(serializers.CharField):
    """16 digits in the schema; validate_nik checks it (spaces, dots and hyphens between groups are ignored)."""


@extend_schema_field(NAME_SCHEMA)
class NameField(serializers.CharField):
    """At most 200 characters in the schema, as max_length checks."""


class ExposureRequestSerializer(serializers.Serializer):
    nik = NikField(max_length=32, help_text="The positive person's NIK (16 digits).")
    name = NameField(max_length=200, help_text="Their name; case, spacing and punctuation do not matter.")
    since = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="First day of the window (YYYY-MM-DD). Default: two days before the registry's positive test date.",
    )

    def validate_nik(self, value: str) -> str:
        try:
            return nik_validate(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def validate_since(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError(_("The start date cannot be in the future."))
        return value


class ExposureContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    nik_masked = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)
    office = serializers.CharField()
    overlap_minutes = serializers.IntegerField(help_text="Whole minutes, rounded down; 0 for visits that only touched.")
    first_overlap_at = serializers.DateTimeField()


# What both person-keyed endpoints answer besides their 200 (see _for_person).
_PERSON_ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description='Bad input: {"field": ["message", ...]}.'),
    403: ErrorSerializer,
    404: OpenApiResponse(ErrorSerializer, description="No check-in records for this NIK and name."),
}


@extend_schema(
    operation_id="exposures_create",
    summary="People whose visits overlapped a positive person's",
    description=(
        "Satgas only. Everyone whose visit overlapped one of the given person's visits at the same office from "
        "`since` until now; any overlap counts, including visits that only touched (0 minutes). One item per "
        "contact and office, first contact first. Every call is written to the audit log."
    ),
    request=ExposureRequestSerializer,
    responses={200: ExposureContactSerializer(many=True), **_PERSON_ERRORS},
    tags=["contact tracing"],
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@parser_classes([BoundedJSONParser])
def exposures_create(request: Request) -> Response:
    if not user_may_trace(request.user):
        raise exceptions.PermissionDenied(_("Only the health task force (Satgas) may run exposure reports."))
    answer = _for_person(request, exposure_report_by_nik)
    if isinstance(answer, Response):
        return answer
    return Response(ExposureContactSerializer(answer.contacts, many=True).data)


def _for_person(request: Request, service: Callable[..., Any]) -> Any:
    """Run `service` (the report, or the notices) for the NIK, name and `since` posted; a miss is its Response."""
    serializer = ExposureRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    try:
        return service(
            actor=request.user,
            nik=data["nik"],
            name=data["name"],
            since=data.get("since"),
            now=timezone.now(),
            channel="api",
        )
    except ExposurePersonNotFound:
        return Response(
            {"detail": str(_("No check-in records for a person with this NIK and name.")), "code": "person_not_found"},
            status=404,
        )
    except ExposureSinceRequired:
        return Response(
            {"since": [str(_("The registry has no positive test date for this person: give a start date."))]},
            status=400,
        )


class ExposureNotifySerializer(serializers.Serializer):
    notified = serializers.IntegerField(min_value=0, help_text="Notices created by this call.")
    already = serializers.IntegerField(min_value=0, help_text="Contacts told before for this case: skipped.")
    unreachable = serializers.IntegerField(
        min_value=0, help_text="Contacts with neither a phone nor a remembered device: no notice."
    )


@extend_schema(
    operation_id="exposures_notify",
    summary="Tell a positive person's contacts that they were exposed",
    description=(
        "Satgas only. Runs the exposure report (same input as `POST /api/v1/exposures/`) and gives every contact "
        "one notice for this case (the person and the first day): the office, day and time window they shared and "
        "the health advice, never who the case is. Contacts with a phone are sent to the WhatsApp/SMS gateway "
        "(NOTIFY_WEBHOOK_URL); contacts with a remembered phone see it on their next check-in page. Sending again "
        "skips contacts already told. Audited."
    ),
    request=ExposureRequestSerializer,
    responses={200: ExposureNotifySerializer, **_PERSON_ERRORS},
    tags=["contact tracing"],
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@parser_classes([BoundedJSONParser])
def exposures_notify(request: Request) -> Response:
    if not user_may_trace(request.user):
        raise exceptions.PermissionDenied(_("Only the health task force (Satgas) may send exposure notices."))
    result = _for_person(request, exposure_notify_by_nik)
    if isinstance(result, Response):
        return result
    return Response(
        ExposureNotifySerializer(
            {"notified": result.notified, "already": result.already, "unreachable": result.unreachable}
        ).data
    )
