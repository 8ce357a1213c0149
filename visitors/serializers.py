"""REST API shapes: what a check-in, check-out or occupancy request may hold, and what each answers.

Serializers check types and presence only. The rules about a NIK, a name, a phone or a child belong to the
check-in service, which answers with per-field messages of its own, so the page and the API say the same words.
"""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from denpasar_checkin.nik import NIK_LENGTH
from screening.selectors import LevelInfo
from screening.vocabulary import Colour, Outcome, PublicOutcome, Reason

from .inputs import MAX_DEPENDANTS, NAME_MAX_LENGTH, NONCE_PATTERN
from .messages import LIVE_CODE_MESSAGES, public_message, reason_label
from .services import CheckinResult, CheckoutResult

# --- input ------------------------------------------------------------------------------------------------------


class TextField(serializers.CharField):
    """A CharField that accepts only JSON strings: DRF's own would quietly turn the number 5171... into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- limits stated in the schema ---------------------------------------------------------------------------------
# The services check these values and answer with field messages of their own ("NIK must be exactly 16 digits; 17
# were given."), so the fields below only state the limits in /api/schema/ (for integrators and the CI fuzzer):
# DRF's generic messages would replace the service's, and the service's messages come together for all fields.

NIK_PATTERN = rf"^[0-9]{{{NIK_LENGTH}}}$"
# Entrance codes are secrets.token_urlsafe() text (offices.models.entrance_code_new); like /c/<code>/, the API looks
# up at most ENTRANCE_CODE_MAX_LENGTH characters, and any other code answers 404 entrance_unknown.
ENTRANCE_CODE_MAX_LENGTH = 64
ENTRANCE_CODE_PATTERN = rf"^[A-Za-z0-9_-]{{1,{ENTRANCE_CODE_MAX_LENGTH}}}$"
# What phone_clean accepts: 8-15 digits after a leading + (+62 counts as 0), with spaces, dots, hyphens and brackets.
PHONE_PATTERN = r"^[\s().-]*\+?(?:[0-9][\s().-]*){8,16}$"

NIK_SCHEMA = {"type": "string", "pattern": NIK_PATTERN, "minLength": NIK_LENGTH, "maxLength": NIK_LENGTH}
NAME_SCHEMA = {"type": "string", "maxLength": NAME_MAX_LENGTH}


@extend_schema_field(NIK_SCHEMA)
class NikField(TextField):
    """A NIK: 16 digits in the schema; the service checks it (spaces, dots and hyphens between groups are ignored)."""


@extend_schema_field(NAME_SCHEMA)
class NameField(TextField):
    """A person's name: at most NAME_MAX_LENGTH characters once runs of spaces are collapsed (the service checks)."""


@extend_schema_field({"type": "string", "pattern": ENTRANCE_CODE_PATTERN, "maxLength": ENTRANCE_CODE_MAX_LENGTH})
class EntranceCodeField(TextField):
    """The code from the entrance's QR poster; an unknown or malformed one answers 404 entrance_unknown."""


@extend_schema_field({"type": "string", "pattern": PHONE_PATTERN})
class PhoneField(TextField):
    """A phone number as typed (the service normalizes and checks it)."""


@extend_schema_field({"type": "string", "pattern": NONCE_PATTERN.pattern})
class NonceField(TextField):
    """A request id (the service checks it)."""


def _text(*, invalid: Any = None, field_class: type[TextField] = TextField, **kwargs: Any) -> TextField:
    # Whitespace and blanks are left for the service, whose messages ("NIK is required.") say more than DRF's.
    kwargs.setdefault("trim_whitespace", False)
    if invalid is not None:
        kwargs["error_messages"] = {"invalid": invalid}
    return field_class(**kwargs)


# Not a string where text belongs: the words the service and the pages use, not DRF's untranslated "Not a valid
# string.".
_ENTRANCE_INVALID = _("This QR code is not valid. Please ask the officer at the door.")
_DEVICE_INVALID = _("This phone is no longer remembered. Please enter your NIK.")


def _entrance_field() -> TextField:
    return _text(
        field_class=EntranceCodeField,
        invalid=_ENTRANCE_INVALID,
        help_text=_("The entrance code from the QR poster (not the entrance id)."),
    )


def _device_token_field() -> TextField:
    return _text(
        required=False,
        allow_blank=True,
        max_length=128,
        invalid=_DEVICE_INVALID,
        help_text=_("A remembered phone's token, instead of NIK."),
    )


def _nik_field() -> TextField:
    return _text(
        field_class=NikField,
        required=False,
        allow_blank=True,
        invalid=_("NIK must be given as text."),
        help_text=_("The 16-digit NIK from the KTP; leave it out when sending device_token."),
    )


def _name_field() -> TextField:
    return _text(
        field_class=NameField,
        required=False,
        allow_blank=True,
        invalid=_("Enter your name as text."),
        help_text=_("The full name as on the KTP; required with the NIK."),
    )


class DependantSerializer(serializers.Serializer):
    """One child checking in with the adult (documentation only; the service checks each child)."""

    nik = NikField(help_text=_("The child's 16-digit NIK."))
    name = NameField(help_text=_("The child's full name."))


class DependantsField(serializers.ListField):
    """A list of at most MAX_DEPENDANTS objects; errors stay flat (`{"dependants": [message]}`)."""

    child = DependantSerializer()
    default_error_messages = {
        "not_a_list": _("Dependants must be a list."),
        "too_many": _("At most %(max)d children can check in with one adult."),
        "not_an_object": _("Child %(n)d: give a NIK and a name."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("max_length", MAX_DEPENDANTS)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            self.fail("not_a_list")
        if len(data) > MAX_DEPENDANTS:
            raise serializers.ValidationError(self.error_messages["too_many"] % {"max": MAX_DEPENDANTS})
        for index, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                raise serializers.ValidationError(self.error_messages["not_an_object"] % {"n": index})
        # Only the two known keys travel on; their types and values are the service's to judge.
        return [{"nik": item.get("nik"), "name": item.get("name")} for item in data]


class RequestSerializer(serializers.Serializer):
    """An input serializer whose instances get shallow copies of the declared fields.

    DRF deep-copies every declared field for every serializer instance, re-running each field's __init__ and
    building its validators again (about 0.1 ms of CPU per check-in request). Nothing here changes a field after
    declaration, and bind() only sets attributes on the copy, so a shallow copy suffices.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Nearly every request is a handful of short ASCII strings: those are accepted here with DRF's exact result
        # (tests/visitors/test_serializers.py compares the two on generated bodies), without binding and running
        # every field and its validators (about a tenth of a check-in's CPU). Anything else takes DRF's path.
        plain = _plain_text_fields(self._declared_fields, data)
        return plain if plain is not None else super().to_internal_value(data)

    def _read_only_defaults(self) -> dict[str, Any]:
        # DRF binds every field again to look for read-only fields with defaults; an input serializer has none.
        if any(field.read_only for field in self._declared_fields.values()):
            return super()._read_only_defaults()
        return {}


def _plain_text_fields(fields: dict[str, serializers.Field], data: Any) -> dict[str, Any] | None:
    """What DRF would validate `data` to when every field given is a TextField with a plain value (or null where
    null is allowed), else None. Plain: ASCII (so no surrogates), no NUL, within max_length, not blank unless
    allowed."""
    if type(data) is not dict:
        return None
    validated: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.required:
                return None
            continue
        value = data[name]
        if value is None:
            if not field.allow_null:
                return None
        elif not isinstance(field, TextField) or type(value) is not str:
            return None
        elif value == "":
            if not field.allow_blank:
                return None
        elif "\x00" in value or not value.isascii() or (field.max_length is not None and len(value) > field.max_length):
            return None
        validated[name] = value
    return validated


class CheckinRequestSerializer(RequestSerializer):
    """`{"entrance", "nik", "name", "phone"?, "dependants"?, "nonce"?, "live"?}` or `{"entrance", "device_token",
    "live"?}`."""

    entrance = _entrance_field()
    nik = _nik_field()
    name = _name_field()
    phone = _text(
        field_class=PhoneField,
        required=False,
        allow_blank=True,
        allow_null=True,
        invalid=_("Enter the phone number as text."),
    )
    dependants = DependantsField(help_text=_("Children under 12 checking in with this adult."))
    nonce = _text(
        field_class=NonceField,
        required=False,
        allow_blank=True,
        allow_null=True,
        invalid=_("The request id is not valid; reload the page."),
        help_text=_("A request id (8-64 letters, digits, - or _): a repeat gets the first answer."),
    )
    device_token = _device_token_field()
    live = _text(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=256,
        invalid=LIVE_CODE_MESSAGES["invalid"],
        help_text=_(
            "At an entrance that accepts only the live door QR: the `t` value from the QR on the door screen, or the "
            "pass from a page opened with it. Not needed by an officer of the office."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("device_token") and attrs.get("nik") in (None, ""):
            return attrs
        missing = {key: [self.fields[key].error_messages["required"]] for key in ("nik", "name") if key not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class CheckoutRequestSerializer(RequestSerializer):
    """`{"entrance", "nik", "name"}` or `{"entrance", "device_token"}`: a NIK alone checks nobody out."""

    entrance = _entrance_field()
    nik = _nik_field()
    name = _name_field()
    device_token = _device_token_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("device_token") and attrs.get("nik") in (None, ""):
            return attrs
        missing = {key: [self.fields[key].error_messages["required"]] for key in ("nik", "name") if key not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


# --- output -----------------------------------------------------------------------------------------------------
# The answer serializers document the shapes in /api/schema/; the functions below build exactly those shapes as
# plain dicts, which keeps the check-in's hot path free of a serializer pass.


class OfficeSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    occupancy = serializers.IntegerField(help_text=_("People inside now, staff and visitors."))
    capacity = serializers.IntegerField(help_text=_("Effective capacity under the current restriction level."))


class CheckinAnswerSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[*(o.value for o in PublicOutcome), Outcome.PENDING.value],
        help_text=_("Anonymous callers: admitted, see_officer or denied. Officers of the office: the true outcome."),
    )
    reason = serializers.ChoiceField(choices=[r.value for r in Reason], help_text=_("A stable reason code."))
    message = serializers.CharField(help_text=_("Text to show, in the request's language."))
    visit = serializers.IntegerField(allow_null=True, help_text=_("The visit id when admitted."))
    office = OfficeSummarySerializer()
    colour = serializers.ChoiceField(
        choices=[c.value for c in Colour],
        required=False,
        allow_null=True,
        help_text=_("Health colour; only in answers to an officer of the office."),
    )
    scan = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=_("The scan event id; only in answers to an officer of the office (null for a repeated tap)."),
    )


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class OfficeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RestrictionLevelSerializer(serializers.Serializer):
    level = serializers.IntegerField(help_text=_("PPKM level; 0 means no restriction."))
    name = serializers.CharField()
    percentage = serializers.IntegerField(help_text=_("Share of the building capacity this office's sector may use."))


class OccupancySerializer(serializers.Serializer):
    office = OfficeRefSerializer()
    inside = serializers.IntegerField()
    staff_inside = serializers.IntegerField()
    visitors_inside = serializers.IntegerField()
    capacity = serializers.IntegerField(help_text=_("The building's capacity."))
    effective_capacity = serializers.IntegerField(help_text=_("Capacity after the current restriction level."))
    restriction_level = RestrictionLevelSerializer()


def _office_summary(*, office_id: int, name: str, inside: int, effective_capacity: int) -> dict[str, Any]:
    return {"id": office_id, "name": name, "occupancy": inside, "capacity": effective_capacity}


def checkin_answer(result: CheckinResult, *, officer_view: bool) -> dict[str, Any]:
    """The officer of the office sees the truth; everyone else the public answer, which names no health result."""
    office = _office_summary(
        office_id=result.office_id,
        name=result.office_name,
        inside=result.inside,
        effective_capacity=result.effective_capacity,
    )
    if officer_view:
        data = {
            "outcome": result.outcome,
            "reason": result.reason,
            "message": reason_label(result.reason),
            "visit": result.visit_id,
            "office": office,
            "colour": result.colour or None,
            "scan": result.scan_event_id,
        }
    else:
        admitted = result.public_outcome == PublicOutcome.ADMITTED
        data = {
            "outcome": result.public_outcome,
            "reason": result.public_reason,
            "message": public_message(result.public_outcome, result.public_reason),
            "visit": result.visit_id if admitted else None,
            "office": office,
        }
    return data


def checkout_answer(result: CheckoutResult, *, effective_capacity: int) -> dict[str, Any]:
    data = {
        "outcome": Outcome.ADMITTED,
        "reason": Reason.CHECKED_OUT,
        "message": public_message(Outcome.ADMITTED, Reason.CHECKED_OUT),
        "visit": result.visit_id,
        "office": _office_summary(
            office_id=result.office_id,
            name=result.office_name,
            inside=result.inside,
            effective_capacity=effective_capacity,
        ),
    }
    return data


def occupancy_answer(
    *, office: dict[str, Any], effective_capacity: int, level: LevelInfo, percentage: int
) -> dict[str, Any]:
    """`office` is a values() row with the occupancy counter's two columns (None when the counter is missing)."""
    staff_inside = office["occupancy__staff_inside"] or 0
    visitors_inside = office["occupancy__visitors_inside"] or 0
    return {
        "office": {"id": office["id"], "name": office["name"]},
        "inside": staff_inside + visitors_inside,
        "staff_inside": staff_inside,
        "visitors_inside": visitors_inside,
        "capacity": office["capacity"],
        "effective_capacity": effective_capacity,
        "restriction_level": {"level": level.level, "name": level.name, "percentage": percentage},
    }
