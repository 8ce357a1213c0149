"""REST API of the door console: the scans at an entrance after a cursor, and an officer's answer to a pending scan."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from offices.access import user_is_city_wide, user_may_work_door
from offices.models import Entrance
from visitors.api import BoundedJSONParser
from visitors.serializers import CheckinAnswerSerializer, ErrorSerializer, checkin_answer

from .selectors import EVENT_BATCH, door_events_after, door_scan_office_id
from .serializers import DecisionRequestSerializer, DoorEventSerializer
from .services import scan_approve, scan_deny

# Plain English: the schema is read by integrators.
_FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Bad input: {"field": ["message", ...]}, or {"detail", "code"} for a body that is not JSON.',
)


@extend_schema(
    operation_id="entrances_events_list",
    summary="Scans at an entrance after a cursor",
    description=(
        "For officers and admins of the entrance's office: the scans with an id above `after`, oldest first, at "
        f"most {EVENT_BATCH} per call; call again with the last id to continue. True outcomes, full names and the "
        "last four digits of the NIK."
    ),
    parameters=[
        OpenApiParameter(
            "after",
            # What the view accepts: up to 18 digits, no sign.
            {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
            OpenApiParameter.QUERY,
            description="A ScanEvent id (default 0: from the first scan).",
        )
    ],
    responses={200: DoorEventSerializer(many=True), 400: _FIELD_ERRORS, 403: ErrorSerializer, 404: ErrorSerializer},
    tags=["door"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def entrance_events(request: Request, entrance_id: int) -> Response:
    office_id = Entrance.objects.filter(pk=entrance_id).values_list("office_id", flat=True).first()
    # Scope first: outside the office nobody learns whether an entrance id exists.
    if office_id is None and not user_is_city_wide(request.user):
        raise exceptions.PermissionDenied(_("You do not have access to this entrance."))
    if office_id is None:
        raise exceptions.NotFound(_("No such entrance."))
    if not user_may_work_door(request.user, office_id=office_id):
        raise exceptions.PermissionDenied(_("You do not have access to this entrance."))
    raw = request.query_params.get("after", "0")
    if not raw.isdigit() or len(raw) > 18:
        raise DjangoValidationError({"after": [_("Give a scan id (a whole number of 0 or more).")]})
    return Response(door_events_after(entrance_id=entrance_id, after=int(raw)))


@extend_schema(
    operation_id="scans_decision_create",
    summary="Approve or deny a pending scan",
    description=(
        "For officers and admins of the scan's office. Approve goes through the same admission as any check-in and "
        "answers like an officer's check-in (true outcome, reason, colour, and `scan`: the new scan's id); at a full "
        "office it answers denied / capacity_full and the scan stays pending. Deny needs a `reason`. A case nobody "
        "answered within PENDING_EXPIRE_MINUTES, or whose person was admitted somewhere since, answers 409."
    ),
    request=DecisionRequestSerializer,
    responses={
        200: CheckinAnswerSerializer,
        400: _FIELD_ERRORS,
        403: OpenApiResponse(ErrorSerializer, description="Not an officer or admin of the scan's office."),
        404: OpenApiResponse(ErrorSerializer, description="No such scan."),
        409: OpenApiResponse(
            ErrorSerializer,
            description=(
                "The scan is not pending (`not_pending`), another officer has already answered it (`case_closed`), "
                "or it has expired (`case_expired`): older than PENDING_EXPIRE_MINUTES, or the person was admitted "
                "somewhere since."
            ),
        ),
    },
    tags=["door"],
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@parser_classes([BoundedJSONParser])
def scan_decision(request: Request, scan_id: int) -> Response:
    office_id = door_scan_office_id(scan_event_id=scan_id)
    if office_id is None:
        raise exceptions.NotFound(_("No such scan."))
    if not user_may_work_door(request.user, office_id=office_id):
        raise exceptions.PermissionDenied(_("You do not work at this office."))
    serializer = DecisionRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    decision, reason = serializer.validated_data["decision"], serializer.validated_data["reason"]
    if decision == "approve":
        result = scan_approve(scan_event_id=scan_id, officer=request.user, note=reason)
    else:
        result = scan_deny(scan_event_id=scan_id, officer=request.user, reason_note=reason)
    return Response(checkin_answer(result, officer_view=True))
