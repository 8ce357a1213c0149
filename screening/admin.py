"""Django admin for the health-status registry (Satgas), restriction levels and the screening policy (city admin)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from offices.admin import NikFormMixin
from offices.services import audit_record

from .importing import CSV_COLUMNS, health_statuses_changed_announce, health_statuses_import_csv
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
    change_list_template = "admin/screening/healthstatus/change_list.html"

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
