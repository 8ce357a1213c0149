"""The health-status registry, the city's restriction levels and the screening policy."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from offices.models import Sector

from .vocabulary import CaseStatus


class StatusSource(models.TextChoices):
    REGISTRY = "registry", _("Registry import")
    ADMIN = "admin", _("Admin")
    API = "api", _("API")
    HTTP = "http", _("Upstream service")


class HealthStatus(models.Model):
    """One person's vaccination and case status as the health registry last told us."""

    nik_hash = models.CharField(_("NIK hash"), max_length=80, unique=True, editable=False)
    nik_masked = models.CharField(_("NIK"), max_length=16, editable=False)
    name = models.CharField(_("name"), max_length=200)
    doses = models.PositiveSmallIntegerField(_("doses"), default=0, validators=[MaxValueValidator(4)])
    last_dose_on = models.DateField(_("last dose on"), null=True, blank=True)
    case_status = models.CharField(_("case status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.NONE)
    case_reported_on = models.DateField(_("case reported on"), null=True, blank=True)
    isolated_until = models.DateField(_("isolated until"), null=True, blank=True)
    exemption_until = models.DateField(_("medical exemption until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=StatusSource.choices, default=StatusSource.REGISTRY)
    refreshed_at = models.DateTimeField(_("refreshed at"), db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("health status")
        verbose_name_plural = _("health statuses")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(doses__gte=0, doses__lte=4), name="health_doses_0_to_4"),
            models.CheckConstraint(
                condition=Q(case_status__in=[c.value for c in CaseStatus]), name="health_case_status_valid"
            ),
            models.CheckConstraint(condition=Q(source__in=[c.value for c in StatusSource]), name="health_source_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.nik_masked})"


def _percentage_field(label: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, default=100, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )


class RestrictionLevel(models.Model):
    """A city-wide PPKM level from its effective date on: the share of building capacity each sector may use.

    A level without an effective date is inactive: prepared (the PPKM levels 1-4 ship that way), never in force.
    """

    level = models.PositiveSmallIntegerField(
        _("PPKM level"), validators=[MaxValueValidator(4)], help_text=_("0 means no restriction.")
    )
    name = models.CharField(_("name"), max_length=100)
    # NULL, not a far-future date: "effective_from <= today" then leaves an inactive level out by itself.
    effective_from = models.DateField(
        _("effective from"),
        unique=True,
        null=True,
        blank=True,
        help_text=_(
            "Empty: the level is inactive. From this date on it is in force, until a level with a later date starts."
        ),
    )
    pct_kritikal = _percentage_field(_("critical sector %"))
    pct_esensial = _percentage_field(_("essential sector %"))
    pct_non_esensial = _percentage_field(_("non-essential sector %"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("restriction level")
        verbose_name_plural = _("restriction levels")
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(level__lte=4), name="restriction_level_0_to_4"),
            models.CheckConstraint(
                condition=Q(pct_kritikal__lte=100, pct_esensial__lte=100, pct_non_esensial__lte=100),
                name="restriction_pct_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from or _('inactive')})"

    def percentage_for(self, sector: str) -> int:
        return {
            Sector.KRITIKAL: self.pct_kritikal,
            Sector.ESENSIAL: self.pct_esensial,
            Sector.NON_ESENSIAL: self.pct_non_esensial,
        }[Sector(sector)]


class ScreeningPolicy(models.Model):
    """The city's screening policy; a single row, edited by the city admin."""

    require_booster = models.BooleanField(_("green needs a booster (3 doses)"), default=False)
    unknown_status_denies = models.BooleanField(
        _("deny unknown status"), default=False, help_text=_("When off, an unknown status waits for the officer.")
    )
    isolation_days = models.PositiveSmallIntegerField(
        _("isolation days"), default=10, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("screening policy")
        verbose_name_plural = _("screening policy")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="screening_policy_single_row"),
        ]

    def __str__(self) -> str:
        return str(_("Screening policy"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1  # a single row
        super().save(*args, **kwargs)
