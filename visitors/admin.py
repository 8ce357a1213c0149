"""Read-only Django admin for people, visits, scan events and remembered devices (services write them all)."""

from __future__ import annotations

from django.contrib import admin

from offices.admin import ReadOnlyAdminMixin
from offices.admin_scoping import OfficeScopedAdminMixin

from .models import Device, Person, ScanEvent, Visit


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
