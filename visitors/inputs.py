"""What a person types at the door, cleaned: NIK, name, phone, children and the request id, each with a field error."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.nik import nik_age, nik_validate
from denpasar_checkin.text import text_check

MAX_DEPENDANTS = 5
DEPENDANT_MAX_AGE = 11  # "under 12"
NAME_MAX_LENGTH = 200
PHONE_PATTERN = re.compile(r"^\+?[0-9]{8,15}$")
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True, slots=True)
class DependantInput:
    nik: str
    name: str


def name_clean(value: Any, *, field_name: str = "name") -> str:
    if not isinstance(value, str):
        raise ValidationError({field_name: _("Enter your name as text.")}, code="invalid_type")
    # Pasted line breaks and tabs collapse to spaces below; any other control character is refused.
    text_check(value, field_name=field_name, allow_whitespace=True)
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ValidationError({field_name: _("Enter your full name as on your KTP.")}, code="required")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValidationError(
            {field_name: _("A name can be at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}}, code="max_length"
        )
    if not any(ch.isalpha() for ch in cleaned):
        raise ValidationError({field_name: _("A name must contain letters.")}, code="invalid")
    return cleaned


def phone_clean(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise ValidationError({"phone": _("Enter the phone number as text.")}, code="invalid_type")
    text_check(value, field_name="phone")
    cleaned = re.sub(r"[\s().-]", "", value)
    if cleaned.startswith("+62"):
        cleaned = "0" + cleaned[3:]
    if not PHONE_PATTERN.fullmatch(cleaned):
        raise ValidationError(
            {"phone": _("Enter a phone number of 8 to 15 digits, e.g. 081234567890.")}, code="invalid"
        )
    return cleaned


def nik_clean(value: Any, *, field_name: str = "nik") -> str:
    try:
        return nik_validate(value)
    except ValidationError as error:
        raise ValidationError({field_name: error.messages}, code="invalid") from None


def nonce_clean(value: Any) -> str | None:
    if value in (None, ""):
        return None
    # fullmatch: `$` would let a trailing line feed through. A hidden field, so the message says to reload.
    if not isinstance(value, str) or not NONCE_PATTERN.fullmatch(value):
        raise ValidationError({"nonce": _("The request id is not valid; reload the page.")}, code="invalid")
    return value


def dependants_clean(value: Any, *, adult_nik: str, today: datetime.date) -> list[DependantInput]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError({"dependants": _("Dependants must be a list.")}, code="invalid_type")
    if len(value) > MAX_DEPENDANTS:
        raise ValidationError(
            {"dependants": _("At most %(max)d children can check in with one adult.") % {"max": MAX_DEPENDANTS}},
            code="max_length",
        )
    cleaned: list[DependantInput] = []
    seen = {adult_nik}
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise ValidationError({"dependants": _("Child %(n)d: give a NIK and a name.") % {"n": index}})
        try:
            nik = nik_validate(item.get("nik"))
            name = name_clean(item.get("name"))
        except ValidationError as error:
            messages = "; ".join(str(m) for m in error.messages)
            raise ValidationError(
                {"dependants": _("Child %(n)d: %(error)s") % {"n": index, "error": messages}}
            ) from None
        if nik in seen:
            raise ValidationError({"dependants": _("Child %(n)d is listed twice.") % {"n": index}})
        if nik_age(nik, today=today) > DEPENDANT_MAX_AGE:
            raise ValidationError(
                {"dependants": _("Child %(n)d is 12 or older and must check in on their own.") % {"n": index}}
            )
        seen.add(nik)
        cleaned.append(DependantInput(nik=nik, name=name))
    return cleaned
