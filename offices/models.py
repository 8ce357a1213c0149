"""Offices, their entrances, staff rosters, officer assignments, live occupancy counters and the audit log."""

from __future__ import annotations

import datetime
import re
import secrets

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import IntegrityError, models, router, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .short_codes import SHORT_CODE_REGEX, short_code_new

ENTRANCE_CODE_BYTES = 12  # 96 random bits: 16 URL-safe characters, not guessable, short enough for a QR at a metre
# Draws of a new short code before giving up: one clash is about one in 10^12 per entrance, five in a row is never.
SHORT_CODE_ATTEMPTS = 5


def entrance_code_new() -> str:
    """A fresh unguessable entrance code (kept apart from database ids so posters reveal nothing)."""
    return secrets.token_urlsafe(ENTRANCE_CODE_BYTES)


class Sector(models.TextChoices):
    KRITIKAL = "kritikal", _("Critical")
    ESENSIAL = "esensial", _("Essential")
    NON_ESENSIAL = "non_esensial", _("Non-essential")


class Office(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices, default=Sector.NON_ESENSIAL)
    capacity = models.PositiveIntegerField(
        _("building capacity"), validators=[MinValueValidator(1)], help_text=_("People the building holds at once.")
    )
    opens_at = models.TimeField(_("opens at"), default=datetime.time(7, 30))
    closes_at = models.TimeField(_("closes at"), default=datetime.time(16, 0))
    deny_staff_when_full = models.BooleanField(
        _("deny staff when full"),
        default=False,
        help_text=_("When off, staff are admitted over capacity and the door screen shows the office as over."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("office")
        verbose_name_plural = _("offices")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="office_capacity_positive"),
            models.CheckConstraint(condition=Q(sector__in=[c.value for c in Sector]), name="office_sector_valid"),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="office_closes_after_opening"),
        ]

    def __str__(self) -> str:
        return self.name


class Entrance(models.Model):
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="entrances", verbose_name=_("office"))
    name = models.CharField(_("name"), max_length=120)
    code = models.CharField(_("QR code"), max_length=32, unique=True, default=entrance_code_new, editable=False)
    # The code printed under the QR for typing by hand; it changes with `code` when that is rotated.
    short_code = models.CharField(_("short code"), max_length=8, unique=True, default=short_code_new, editable=False)
    code_rotated_at = models.DateTimeField(_("code rotated at"), null=True, blank=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    live_qr = models.BooleanField(
        _("live QR only"), default=False, help_text=_("Accept only the changing QR shown on the door screen.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("entrance")
        verbose_name_plural = _("entrances")
        ordering = ["office__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["office", "name"], name="entrance_name_unique_per_office"),
            models.CheckConstraint(
                condition=Q(short_code__regex=SHORT_CODE_REGEX), name="entrance_short_code_crockford"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office.name} — {self.name}"

    def save(self, *args, **kwargs) -> None:
        """Save; a newly drawn short code that another entrance already holds is drawn again.

        Here rather than in a service because every way an entrance is created (admin, import, get_or_create,
        factories) ends in save(); the database's unique constraint is what finds the clash, race-free.
        """
        fields = kwargs.get("update_fields")
        if not (self._state.adding or (fields is not None and "short_code" in fields)):
            super().save(*args, **kwargs)
            return
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        for attempt in range(1, SHORT_CODE_ATTEMPTS + 1):
            try:
                # A savepoint, so a clash leaves the caller's transaction usable for the next draw.
                with transaction.atomic(using=using):
                    super().save(*args, **kwargs)
                return
            except IntegrityError:
                taken = Entrance.objects.using(using).filter(short_code=self.short_code).exclude(pk=self.pk)
                if attempt == SHORT_CODE_ATTEMPTS or not taken.exists():
                    raise  # another constraint, or the generator is broken: not ours to hide
                self.short_code = short_code_new()

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}/c/{self.code}/"


def code_entry_address() -> str:
    """Where a person types an entrance's code, as printed on posters and screens: 'example.go.id/c/'."""
    return re.sub(r"^https?://", "", f"{settings.SITE_URL}/c/")


nip_validator = RegexValidator(r"^\d{18}$", _("NIP must be exactly 18 digits."), code="nip")


class Staff(models.Model):
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="staff", verbose_name=_("office"))
    name = models.CharField(_("name"), max_length=200)
    nip = models.CharField(_("NIP"), max_length=18, validators=[nip_validator])
    nik_hash = models.CharField(_("NIK hash"), max_length=80, editable=False)
    nik_masked = models.CharField(_("NIK"), max_length=16, editable=False)
    active = models.BooleanField(_("active"), default=True)
    # How a host is told that their guest arrived; visitors choose a host only among staff who receive visitors.
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    receives_visitors = models.BooleanField(_("receives visitors"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["office__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["office", "nik_hash"], name="staff_nik_unique_per_office"),
            models.UniqueConstraint(fields=["office", "nip"], name="staff_nip_unique_per_office"),
            models.CheckConstraint(condition=Q(nip__regex=r"^[0-9]{18}$"), name="staff_nip_18_digits"),
        ]
        indexes = [models.Index(fields=["nik_hash"], name="staff_nik_hash_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.office.name})"


class OfficerAssignment(models.Model):
    """Which offices a user (door officer or office admin) works for; their role comes from their groups."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="office_assignments", verbose_name=_("user")
    )
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("office"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("officer assignment")
        verbose_name_plural = _("officer assignments")
        constraints = [models.UniqueConstraint(fields=["user", "office"], name="assignment_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.office}"


class OfficeOccupancy(models.Model):
    """Live count of people inside; changed only by the atomic occupancy gate, reconciled against open visits."""

    office = models.OneToOneField(
        Office, on_delete=models.CASCADE, primary_key=True, related_name="occupancy", verbose_name=_("office")
    )
    staff_inside = models.IntegerField(_("staff inside"), default=0)
    visitors_inside = models.IntegerField(_("visitors inside"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("occupancy")
        verbose_name_plural = _("occupancy")
        constraints = [
            models.CheckConstraint(condition=Q(staff_inside__gte=0), name="occupancy_staff_not_negative"),
            models.CheckConstraint(condition=Q(visitors_inside__gte=0), name="occupancy_visitors_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.office}: {self.inside}"

    @property
    def inside(self) -> int:
        return self.staff_inside + self.visitors_inside


class AuditEvent(models.Model):
    """Who did what to which object: overrides, exports, status edits, code rotations, tracing queries."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    office = models.ForeignKey(
        Office, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events", verbose_name=_("office")
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"
