"""Read-only Django admin for people, visits, scan events, remembered devices and exposure notices (services write
them all)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from offices.access import user_may_trace
from offices.admin import ReadOnlyAdminMixin
from offices.admin_scoping import OfficeScopedAdminMixin

from .models import Device, ExposureCase, ExposureNotice, Person, ScanEvent, Visit


@admin.register(Person)
class PersonAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Only the masked NIK: the hash and the encrypted copy are never listed in `fields`, so never shown.
    list_display = ["name", "nik_masked", "phone", "created_at", "last_seen_at"]
    search_fields = ["name"]
    date_hierarchy = "created_at"
    fields = ["name", "nik_masked", "phone", "created_at", "last_seen_at"]
    readonly_fields = fields


@admin.register(Visit)
class VisitAdmin(OfficeScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    office_path = "office"
    list_display = ["person", "office", "kind", "entrance_in", "checked_in_at", "checked_out_at", "closed_by"]
    list_filter = [
        ("office", admin.RelatedOnlyFieldListFilter),
        "kind",
        "closed_by",
        ("checked_out_at", admin.EmptyFieldListFilter),
        "checked_in_at",
    ]
    list_select_related = ["person", "office", "entrance_in__office"]
    search_fields = ["person__name"]
    date_hierarchy = "checked_in_at"
    fields = [
        "person",
        "office",
        "kind",
        "guardian_visit",
        "entrance_in",
        "checked_in_at",
        "entrance_out",
        "checked_out_at",
        "closed_by",
        "closed_by_user",
    ]
    readonly_fields = fields


@admin.register(ScanEvent)
class ScanEventAdmin(OfficeScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    office_path = "office"
    list_display = [
        "id",
        "created_at",
        "entrance",
        "action",
        "outcome",
        "reason",
        "colour",
        "kind",
        "person",
        "officer",
    ]
    list_filter = [
        ("office", admin.RelatedOnlyFieldListFilter),
        "outcome",
        "reason",
        "action",
        "kind",
        "alert",
        "created_at",
    ]
    list_select_related = ["entrance__office", "person", "officer"]
    search_fields = ["person__name", "entrance__name"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "office",
        "entrance",
        "action",
        "outcome",
        "reason",
        "colour",
        "kind",
        "alert",
        "dependants",
        "person",
        "visit",
        "officer",
        "note",
    ]
    readonly_fields = fields


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # The token hash stays out of every page: it is the only server-side half of a remembered phone.
    list_display = ["id", "person", "created_at", "last_used_at"]
    list_select_related = ["person"]
    search_fields = ["person__name"]
    date_hierarchy = "created_at"
    fields = ["person", "created_at", "last_used_at"]
    readonly_fields = fields


class _TracingOnlyAdminMixin:
    """Who was exposed, and to which case, is for the health task force (and superusers) alone."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_may_trace(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_may_trace(request.user)


@admin.register(ExposureCase)
class ExposureCaseAdmin(_TracingOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "case_person", "window_from", "window_until", "created_at", "closed_at"]
    list_select_related = ["case_person"]
    date_hierarchy = "created_at"
    fields = ["case_person", "window_from", "window_until", "created_by", "created_at", "closed_at"]
    readonly_fields = fields


@admin.register(ExposureNotice)
class ExposureNoticeAdmin(_TracingOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "case", "person", "office", "window_from", "webhook_sent_at", "acknowledged_at"]
    list_select_related = ["case", "person", "office"]
    date_hierarchy = "created_at"
    fields = [
        "case",
        "person",
        "office",
        "window_from",
        "window_until",
        "phone",
        "message",
        "created_at",
        "webhook_sent_at",
        "webhook_attempts",
        "acknowledged_at",
    ]
    readonly_fields = fields
