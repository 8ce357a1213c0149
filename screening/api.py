"""REST API of screening: the bulk upsert of health statuses for Satgas and the health registry's integrations."""

from __future__ import annotations

import io

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from denpasar_checkin.nik import NIK_LENGTH

from .importing import health_statuses_upsert
from .models import StatusSource
from .sources import NAME_MAX

MAX_ITEMS = 10_000
# 10,000 items of a few hundred bytes each, with room to spare; a body past this is refused before it is parsed.
MAX_BODY_BYTES = 10 * 1024 * 1024


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = _("The request body is too large.")
    default_code = "too_large"


class BulkJSONParser(JSONParser):
    """JSON, at most MAX_BODY_BYTES; nesting deeper than Python's stack is a parse error, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - the body is nested too deeply.")) from None


class IsSatgas(BasePermission):
    """Satgas: may add and change health statuses (the Satgas group holds both; so does a superuser)."""

    message = _("Only the health task force (Satgas) may send health statuses.")

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.has_perms(["screening.add_healthstatus", "screening.change_healthstatus"])
        )


_ITEMS = inline_serializer(
    "HealthStatusItem",
    many=True,
    fields={
        # Documentation only (the items are checked by status_item_clean): the limits it applies.
        "nik": serializers.CharField(
            min_length=NIK_LENGTH,
            max_length=NIK_LENGTH,
            validators=[RegexValidator(rf"^[0-9]{{{NIK_LENGTH}}}$")],
            help_text="16 digits",
        ),
        "name": serializers.CharField(max_length=NAME_MAX),
        "doses": serializers.IntegerField(min_value=0, max_value=4),
        "last_dose_on": serializers.DateField(required=False, allow_null=True),
        "case_status": serializers.ChoiceField(choices=["none", "positive", "close_contact"], required=False),
        "isolated_until": serializers.DateField(required=False, allow_null=True),
        "exemption_until": serializers.DateField(required=False, allow_null=True),
    },
)
_ANSWER = inline_serializer(
    "HealthStatusUpsertAnswer",
    fields={
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "errors": inline_serializer(
            "HealthStatusItemError",
            fields={
                "index": serializers.IntegerField(help_text="0-based position of the item in the request"),
                "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
            },
            many=True,
        ),
    },
)


@extend_schema(
    operation_id="health_statuses_upsert",
    summary="Create or update health statuses in bulk",
    description=(
        f"A JSON array of at most {MAX_ITEMS} items in the health-status CSV's shape (empty dates as null or left "
        "out). Items are matched by NIK; bad items are reported by index and skipped, good ones applied. Sending the "
        "same data again changes nothing. Needs the Satgas permission (add and change health statuses)."
    ),
    request=_ITEMS,
    responses={
        200: _ANSWER,
        400: OpenApiResponse(OpenApiTypes.OBJECT, description="Not a JSON array, or more than 10,000 items."),
        403: OpenApiResponse(OpenApiTypes.OBJECT, description="Not logged in, or without the Satgas permission."),
        413: OpenApiResponse(OpenApiTypes.OBJECT, description="Body larger than 10 MB."),
    },
    examples=[
        OpenApiExample(
            "Two people",
            value=[
                {"nik": "5171010101900001", "name": "I Made Contoh", "doses": 2, "last_dose_on": "2021-08-01"},
                {
                    "nik": "5171014101900002",
                    "name": "Ni Luh Contoh",
                    "doses": 1,
                    "case_status": "positive",
                    "isolated_until": "2021-08-20",
                },
            ],
            request_only=True,
        )
    ],
    tags=["health statuses"],
)
@api_view(["POST"])
@parser_classes([BulkJSONParser])
@permission_classes([IsSatgas])
def health_statuses_upsert_view(request: Request) -> Response:
    items = request.data
    if not isinstance(items, list):
        raise exceptions.ValidationError(
            {"non_field_errors": [_("Send a JSON array of health-status items.")]}, code="invalid"
        )
    if len(items) > MAX_ITEMS:
        raise exceptions.ValidationError(
            {"non_field_errors": [_("At most %(max)d items per request; split the upload.") % {"max": MAX_ITEMS}]},
            code="too_many_items",
        )
    result = health_statuses_upsert(items=items, source=StatusSource.API, actor=request.user)
    return Response(result.as_api())
