"""Services that change offices, entrances, staff and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone

from denpasar_checkin.nik import nik_hash, nik_mask, nik_validate

from .models import AuditEvent, Entrance, Office, OfficeOccupancy, Staff, entrance_code_new
from .short_codes import short_code_new


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model | None = None,
    office: Office | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit entry. Callers must never put a NIK (or other health detail) in `detail`."""
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        office=office,
        detail=detail or {},
    )


def office_occupancy_ensure(*, office: Office) -> OfficeOccupancy:
    """Every office has exactly one occupancy counter row; the gate updates it in place."""
    occupancy, _created = OfficeOccupancy.objects.get_or_create(office=office)
    return occupancy


@transaction.atomic
def office_save(*, office: Office) -> Office:
    """Save an office (new or changed) together with its occupancy counter."""
    office.full_clean()
    office.save()
    office_occupancy_ensure(office=office)
    return office


@transaction.atomic
def entrance_code_rotate(*, entrance: Entrance, actor: AbstractBaseUser | None) -> Entrance:
    """Give an entrance a new QR code and short code; every poster printed with the old ones stops working at once."""
    entrance.code = entrance_code_new()
    # The short code is printed on the same poster: keeping it would leave the retired poster usable by typing.
    entrance.short_code = short_code_new()
    entrance.code_rotated_at = timezone.now()
    entrance.save(update_fields=["code", "short_code", "code_rotated_at"])
    audit_record(
        actor=actor,
        action="entrance.code_rotated",
        obj=entrance,
        office=entrance.office,
        detail={"entrance": entrance.name},
    )
    return entrance


@transaction.atomic
def staff_upsert(
    *,
    office: Office,
    nik: str,
    name: str,
    nip: str,
    active: bool = True,
    email: str | None = None,
    phone: str | None = None,
    receives_visitors: bool | None = None,
) -> tuple[Staff, bool]:
    """Add a staff member to an office's roster or update them; the NIK is kept only as a hash and a mask.
    `email`, `phone` and `receives_visitors` left as None keep what is stored.

    Raises django.core.exceptions.ValidationError for a bad NIK, name, NIP, e-mail or phone.
    """
    nik = nik_validate(nik)
    digest = nik_hash(nik)
    staff = Staff.objects.filter(office=office, nik_hash=digest).first()
    created = staff is None
    if staff is None:
        staff = Staff(office=office, nik_hash=digest, nik_masked=nik_mask(nik))
    staff.name = " ".join(name.split())
    staff.nip = nip.strip()
    staff.active = active
    if email is not None:
        staff.email = email.strip()
    if phone is not None:
        staff.phone = phone.strip()
    if receives_visitors is not None:
        staff.receives_visitors = receives_visitors
    staff.full_clean()
    staff.save()
    return staff, created
