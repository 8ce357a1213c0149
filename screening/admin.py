"""Django admin for the health-status registry (Satgas), restriction levels and the screening policy (city admin)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from offices.admin import NikFormMixin
from offices.services import audit_record

from .decision import Policy, health_colour
from .importing import CSV_COLUMNS, health_statuses_changed_announce, health_statuses_import_csv
from .models import HealthStatus, RestrictionLevel, ScreeningPolicy, StatusSource
from .selectors import policy_from_db, snapshot_from_record, status_record_from_row
from .services import health_status_cache_invalidate, screening_settings_invalidate
from .vocabulary import Colour

# Field names only: the detail of a health-status audit entry never carries the NIK or a value.
_AUDITED_FIELDS = (
    "name",
    "doses",
    "last_dose_on",
    "case_status",
    "case_reported_on",
    "isolated_until",
    "exemption_until",
)


# Larger exports belong on the command line, where a slow import cannot time out a browser request.
CSV_UPLOAD_MAX_BYTES = 50 * 1024 * 1024


class HealthStatusForm(NikFormMixin):
    nik_taken_message = _("A health status for this NIK already exists.")

    class Meta:
        model = HealthStatus
        fields = list(_AUDITED_FIELDS)


class HealthStatusCsvForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, with the header row nik,name,doses,last_dose_on,case_status,isolated_until,exemption_until."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > CSV_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; import it with manage.py import_health_statuses.")
                % {"mb": CSV_UPLOAD_MAX_BYTES // (1024 * 1024)}
            )
        return upload


def colour_of(status: HealthStatus, *, policy: Policy, today: datetime.date) -> Colour:
    """The colour check-in would give this record today: the decision's own function on the cached form of the row."""
    snapshot = snapshot_from_record(status_record_from_row(status), name=status.name)
    return health_colour(snapshot, policy=policy, today=today)


def colour_badge(colour: Colour) -> str:
    # The word is always there; the swatch (templates/admin/base_site.html) only helps the eye.
    return format_html(
        '<span class="hs-colour c-{}" data-colour="{}">{}</span>', colour.value, colour.value, colour.label
    )


def colour_column(*, policy: Policy, today: datetime.date) -> Callable[[HealthStatus], str]:
    """A changelist column with the policy read once per page, not once per row."""

    @admin.display(description=_("colour"))
    def colour(status: HealthStatus) -> str:
        return colour_badge(colour_of(status, policy=policy, today=today))

    return colour


@admin.register(HealthStatus)
class HealthStatusAdmin(admin.ModelAdmin):
    form = HealthStatusForm
    # Few, short columns: the list fits a 1280 px screen with the filter beside it; the form has the rest.
    list_display = ["name", "nik_masked", "doses", "case_status", "isolated_until", "refreshed_at"]
    list_filter = ["case_status", "doses", "source"]
    search_fields = ["name"]
    date_hierarchy = "refreshed_at"
    fieldsets = [
        (None, {"fields": ["nik", "nik_masked", "name", "colour"]}),
        (_("Vaccination"), {"fields": ["doses", "last_dose_on", "exemption_until"]}),
        (_("Case"), {"fields": ["case_status", "case_reported_on", "isolated_until"]}),
        (_("Record"), {"fields": ["source", "refreshed_at", "updated_at"]}),
    ]
    readonly_fields = ["nik_masked", "colour", "source", "refreshed_at", "updated_at"]
    change_list_template = "admin/screening/healthstatus/change_list.html"

    def get_list_display(self, request: HttpRequest) -> list:
        columns = list(super().get_list_display(request))
        columns.insert(2, colour_column(policy=policy_from_db(), today=timezone.localdate()))
        return columns

    @admin.display(description=_("colour"))
    def colour(self, status: HealthStatus) -> str:
        if status.pk is None:
            return "—"
        return colour_badge(colour_of(status, policy=policy_from_db(), today=timezone.localdate()))

    def get_urls(self):
        upload = path(
            "import-csv/",
            self.admin_site.admin_view(self.import_csv_view),
            name="screening_healthstatus_import_csv",
        )
        return [upload, *super().get_urls()]

    def _can_import(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_import_csv": self._can_import(request)}
        return super().changelist_view(request, extra_context=extra_context)

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a registry export: the same import as `manage.py import_health_statuses`, reported on the page."""
        if not self._can_import(request):
            raise PermissionDenied
        form = HealthStatusCsvForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            result = health_statuses_import_csv(stream=upload.file, source=StatusSource.REGISTRY, actor=request.user)
            level = messages.WARNING if result.errors else messages.SUCCESS
            self.message_user(
                request,
                _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged; %(errors)d line(s) with errors.")
                % {
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "errors": len(result.errors),
                },
                level,
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import health statuses from CSV"),
            "form": form,
            "result": result,
            "errors": [
                (line, field, message)
                for line, errors in (result.errors if result else [])[:500]
                for field, field_messages in errors.items()
                for message in field_messages
            ],
            "more_errors": max(0, len(result.errors) - 500) if result else 0,
            "columns": ",".join(CSV_COLUMNS),
        }
        return TemplateResponse(request, "admin/screening/healthstatus/import_csv.html", context)

    def save_model(self, request: HttpRequest, obj: HealthStatus, form: HealthStatusForm, change: bool) -> None:
        # An edit in admin is a fresh statement from Satgas: it becomes the current record for this person.
        obj.source = StatusSource.ADMIN
        obj.refreshed_at = timezone.now()
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name in _AUDITED_FIELDS]
        if "nik" in form.changed_data and form.cleaned_data.get("nik"):
            changed.append("nik")
        audit_record(
            actor=request.user,
            action="health_status.changed",
            obj=obj,
            detail={"created": not change, "fields": changed},
        )
        digest = obj.nik_hash
        # Drops the cached copy at once and queues the check for someone inside who just turned black.
        transaction.on_commit(lambda: health_statuses_changed_announce(nik_hashes=[digest]))

    def delete_model(self, request: HttpRequest, obj: HealthStatus) -> None:
        audit_record(actor=request.user, action="health_status.deleted", obj=obj)
        digest = obj.nik_hash
        super().delete_model(request, obj)
        transaction.on_commit(lambda: health_status_cache_invalidate(nik_hashes=[digest]))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[HealthStatus]) -> None:
        digests = []
        for status in queryset:
            audit_record(actor=request.user, action="health_status.deleted", obj=status)
            digests.append(status.nik_hash)
        super().delete_queryset(request, queryset)
        transaction.on_commit(lambda: health_status_cache_invalidate(nik_hashes=digests))


class ScreeningSettingsAdminMixin:
    """Restriction levels and the policy decide admissions: audit every change and drop the cached copies."""

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.changed",
            obj=obj,
            detail={"created": not change, "fields": list(form.changed_data)},
        )
        transaction.on_commit(screening_settings_invalidate)

    def delete_model(self, request: HttpRequest, obj) -> None:
        audit_record(actor=request.user, action=f"{obj._meta.model_name}.deleted", obj=obj)
        super().delete_model(request, obj)
        transaction.on_commit(screening_settings_invalidate)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            audit_record(actor=request.user, action=f"{obj._meta.model_name}.deleted", obj=obj)
        super().delete_queryset(request, queryset)
        transaction.on_commit(screening_settings_invalidate)


def level_state_column(*, in_force_id: int | None, today: datetime.date) -> Callable[[RestrictionLevel], str]:
    """A changelist column saying which level is in force today, which wait for a date, and which are over."""

    @admin.display(description=_("state"))
    def state(level: RestrictionLevel) -> str:
        if level.effective_from is None:
            key, text = "inactive", _("Inactive: no effective date")
        elif level.pk == in_force_id:
            key, text = "in_force", _("In force")
        elif level.effective_from > today:
            key, text = "scheduled", _("Scheduled")
        else:
            key, text = "ended", _("Ended")
        return format_html('<span class="level-state" data-state="{}">{}</span>', key, text)

    return state


@admin.register(RestrictionLevel)
class RestrictionLevelAdmin(ScreeningSettingsAdminMixin, admin.ModelAdmin):
    list_display = ["name", "level", "effective_from", "pct_kritikal", "pct_esensial", "pct_non_esensial"]
    list_filter = ["level"]
    # Levels in force or scheduled first, newest on top; the inactive ones (no date) after them by level.
    ordering = [F("effective_from").desc(nulls_last=True), "level"]
    fields = ["level", "name", "effective_from", "pct_kritikal", "pct_esensial", "pct_non_esensial", "created_at"]
    readonly_fields = ["created_at"]

    def get_list_display(self, request: HttpRequest) -> list:
        today = timezone.localdate()
        # The same rule as screening.selectors: the latest effective date that is not after today.
        in_force_id = (
            RestrictionLevel.objects.filter(effective_from__lte=today)
            .order_by("-effective_from")
            .values_list("pk", flat=True)
            .first()
        )
        columns = list(super().get_list_display(request))
        columns.insert(3, level_state_column(in_force_id=in_force_id, today=today))
        return columns


@admin.register(ScreeningPolicy)
class ScreeningPolicyAdmin(ScreeningSettingsAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "require_booster", "unknown_status_denies", "isolation_days", "updated_at"]
    fields = ["require_booster", "unknown_status_denies", "isolation_days", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row only (the model pins it to id 1): adding is offered only to recreate a missing policy.
        return super().has_add_permission(request) and not ScreeningPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: ScreeningPolicy | None = None) -> bool:
        return False
