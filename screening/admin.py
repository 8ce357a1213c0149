"""Django admin for the health-status registry (Satgas), restriction levels and the screening policy (city admin)."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from offices.admin import NikFormMixin
from offices.services import audit_record

from .models import HealthStatus, RestrictionLevel, ScreeningPolicy, StatusSource
from .services import health_status_cache_invalidate, screening_settings_invalidate

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


class HealthStatusForm(NikFormMixin):
    nik_taken_message = _("A health status for this NIK already exists.")

    class Meta:
        model = HealthStatus
        fields = list(_AUDITED_FIELDS)


@admin.register(HealthStatus)
class HealthStatusAdmin(admin.ModelAdmin):
    form = HealthStatusForm
    list_display = [
        "name",
        "nik_masked",
        "doses",
        "last_dose_on",
        "case_status",
        "isolated_until",
        "source",
        "refreshed_at",
    ]
    list_filter = ["case_status", "doses", "source"]
    search_fields = ["name"]
    date_hierarchy = "refreshed_at"
    fieldsets = [
        (None, {"fields": ["nik", "nik_masked", "name"]}),
        (_("Vaccination"), {"fields": ["doses", "last_dose_on", "exemption_until"]}),
        (_("Case"), {"fields": ["case_status", "case_reported_on", "isolated_until"]}),
        (_("Record"), {"fields": ["source", "refreshed_at", "updated_at"]}),
    ]
    readonly_fields = ["nik_masked", "source", "refreshed_at", "updated_at"]

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
        transaction.on_commit(lambda: health_status_cache_invalidate(nik_hashes=[digest]))

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


@admin.register(RestrictionLevel)
class RestrictionLevelAdmin(ScreeningSettingsAdminMixin, admin.ModelAdmin):
    list_display = ["name", "level", "effective_from", "pct_kritikal", "pct_esensial", "pct_non_esensial"]
    list_filter = ["level"]
    date_hierarchy = "effective_from"
    fields = ["level", "name", "effective_from", "pct_kritikal", "pct_esensial", "pct_non_esensial", "created_at"]
    readonly_fields = ["created_at"]


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
