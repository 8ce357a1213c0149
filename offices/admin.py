"""Django admin for offices, entrances, staff, officer assignments, occupancy and the audit log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from denpasar_checkin.nik import nik_hash, nik_hash_candidates, nik_mask, nik_validate

from .access import offices_for_user, user_is_city_wide
from .admin_scoping import OfficeScopedAdminMixin
from .logins import admin_site_hooks_install
from .models import AuditEvent, Entrance, Office, OfficeOccupancy, OfficerAssignment, Staff
from .services import entrance_code_rotate, office_save
from .staff_import import STAFF_COLUMNS, STAFF_OPTIONAL_COLUMNS, staff_import_csv

# --- Shared pieces: read-only admins and the write-only NIK field (screening's admin uses them too) -------------


class ReadOnlyAdminMixin:
    """Rows written only by services (scans, visits, audit): admins may look, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


class WriteOnlyTextInput(forms.TextInput):
    """A text box that never renders a value: a NIK typed in is not sent back to the browser, not even on error."""

    def format_value(self, value: Any) -> None:
        return None


class NikFormMixin(forms.ModelForm):
    """A write-only `nik` field that fills the model's nik_hash and nik_masked; blank keeps an existing NIK.

    The form keeps the validated NIK only in cleaned_data; the model sees its hash and mask.
    """

    nik = forms.CharField(
        label=_("NIK"),
        required=False,
        max_length=32,
        widget=WriteOnlyTextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "size": 20}),
        help_text=_("16 digits. Stored only as a keyed hash and a masked copy; leave blank to keep the current NIK."),
    )

    def clean_nik(self) -> str:
        raw = self.cleaned_data.get("nik") or ""
        if not raw.strip() and self.instance.pk is not None:
            return ""
        # nik_validate's messages are lazy translations and never contain the NIK itself.
        return nik_validate(raw)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        nik = cleaned.get("nik")
        if nik and self.nik_taken(nik, hash_candidates=nik_hash_candidates(nik)):
            self.add_error("nik", ValidationError(self.nik_taken_message, code="nik_taken"))
        return cleaned

    nik_taken_message = _("This NIK is already registered.")

    def nik_taken(self, nik: str, *, hash_candidates: list[str]) -> bool:
        others = self._meta.model._default_manager.filter(nik_hash__in=hash_candidates)
        if self.instance.pk is not None:
            others = others.exclude(pk=self.instance.pk)
        return others.exists()

    def save(self, commit: bool = True) -> models.Model:
        nik = self.cleaned_data.get("nik")
        if nik:
            self.instance.nik_hash = nik_hash(nik)
            self.instance.nik_masked = nik_mask(nik)
        return super().save(commit)


# --- Staff --------------------------------------------------------------------------------------------------------


class StaffForm(NikFormMixin):
    nik_taken_message = _("This office already has a staff member with this NIK.")

    class Meta:
        model = Staff
        fields = ["office", "name", "nip", "email", "phone", "receives_visitors", "active"]

    def nik_taken(self, nik: str, *, hash_candidates: list[str]) -> bool:
        office = self.cleaned_data.get("office") if "office" in self.fields else None
        office_id = office.pk if office is not None else self.instance.office_id
        if office_id is None:
            # A roster row of an office being created: nobody can be on that roster yet.
            return False
        others = Staff.objects.filter(office_id=office_id, nik_hash__in=hash_candidates)
        if self.instance.pk is not None:
            others = others.exclude(pk=self.instance.pk)
        return others.exists()


class StaffInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # The database refuses one NIK twice on a roster; say so on the form instead of failing on save.
        seen: set[str] = set()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form):
                continue
            nik = form.cleaned_data.get("nik")
            if not nik:
                continue
            if nik in seen:
                form.add_error("nik", ValidationError(StaffForm.nik_taken_message, code="nik_taken"))
            seen.add(nik)


class StaffInline(admin.TabularInline):
    model = Staff
    form = StaffForm
    formset = StaffInlineFormSet
    fields = ["name", "nip", "nik", "nik_masked", "active"]
    readonly_fields = ["nik_masked"]
    extra = 0
    show_change_link = True


@admin.register(Staff)
class StaffAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    office_path = "office"
    form = StaffForm
    list_display = ["name", "office", "nip", "nik_masked", "receives_visitors", "active"]
    list_filter = [("office", admin.RelatedOnlyFieldListFilter), "receives_visitors", "active"]
    list_select_related = ["office"]
    search_fields = ["name", "nip"]
    fields = [
        "office",
        "name",
        "nip",
        "nik",
        "nik_masked",
        "email",
        "phone",
        "receives_visitors",
        "active",
        "created_at",
    ]
    readonly_fields = ["nik_masked", "created_at"]

    def get_urls(self) -> list[URLPattern]:
        upload = path("import/", self.admin_site.admin_view(self.import_view), name="offices_staff_import")
        return [upload, *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """The roster CSV as an upload: the same file and the same rules as `manage.py import_staff`."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StaffImportForm(request.POST or None, request.FILES or None, user=request.user)
        result = None
        if request.method == "POST" and form.is_valid():
            result = staff_import_csv(
                office=form.cleaned_data["office"], text=form.cleaned_data["file"], actor=request.user
            )
            if result.loaded:
                self.message_user(
                    request,
                    _(
                        "%(office)s: %(created)d new, %(updated)d updated, %(unchanged)d unchanged, %(deactivated)d "
                        "marked inactive."
                    )
                    % {
                        "office": form.cleaned_data["office"].name,
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                        "deactivated": result.deactivated,
                    },
                    messages.SUCCESS,
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import staff from CSV"),
            "form": form,
            "result": result,
            "columns": ",".join(STAFF_COLUMNS) + "[," + ",".join(STAFF_OPTIONAL_COLUMNS) + "]",
        }
        return TemplateResponse(request, "admin/offices/staff/import.html", context, status=400 if form.errors else 200)


class StaffImportForm(forms.Form):
    office = forms.ModelChoiceField(queryset=Office.objects.none(), label=_("office"))
    file = forms.FileField(label=_("CSV file (UTF-8)"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = offices_for_user(user).order_by("name")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text; save the CSV as UTF-8."), code="encoding") from None


# --- Offices and entrances ----------------------------------------------------------------------------------------


class EntranceInline(admin.TabularInline):
    model = Entrance
    fields = ["name", "code", "active", "live_qr"]
    readonly_fields = ["code"]
    extra = 0
    show_change_link = True


@admin.register(Office)
class OfficeAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    office_path = "id"
    list_display = ["name", "sector", "capacity", "occupancy_display", "opening_hours"]
    list_filter = ["sector"]
    list_select_related = ["occupancy"]
    search_fields = ["name", "address"]
    fields = ["name", "address", "sector", "capacity", "opens_at", "closes_at", "deny_staff_when_full", "created_at"]
    readonly_fields = ["created_at"]
    inlines = [EntranceInline, StaffInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Office | None = None) -> list[str]:
        # The sector sets the office's capacity share under each restriction level: the city's lever, not the office's.
        readonly = list(super().get_readonly_fields(request, obj))
        if not user_is_city_wide(request.user):
            readonly.append("sector")
        return readonly

    @admin.display(description=_("inside / capacity"))
    def occupancy_display(self, office: Office) -> str:
        try:
            inside = office.occupancy.inside
        except OfficeOccupancy.DoesNotExist:
            inside = 0
        return f"{inside} / {office.capacity}"

    @admin.display(description=_("opening hours"), ordering="opens_at")
    def opening_hours(self, office: Office) -> str:
        return f"{office.opens_at:%H:%M}–{office.closes_at:%H:%M}"

    def save_model(self, request: HttpRequest, obj: Office, form: forms.ModelForm, change: bool) -> None:
        # Through the service, so a new office gets its occupancy counter in the same transaction.
        office_save(office=obj)


@admin.register(Entrance)
class EntranceAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    office_path = "office"
    list_display = ["name", "office", "active", "live_qr", "code_rotated_at"]
    list_filter = [("office", admin.RelatedOnlyFieldListFilter), "active", "live_qr"]
    list_select_related = ["office"]
    search_fields = ["name", "office__name"]
    fields = [
        "office",
        "name",
        "active",
        "live_qr",
        "code",
        "short_code",
        "poster_url",
        "code_rotated_at",
        "created_at",
    ]
    readonly_fields = ["code", "short_code", "poster_url", "code_rotated_at", "created_at"]
    actions = ["rotate_code"]

    @admin.display(description=_("poster URL"))
    def poster_url(self, entrance: Entrance) -> str:
        return entrance.url if entrance.pk else "—"

    def get_urls(self) -> list[URLPattern]:
        rotate = path(
            "<path:object_id>/rotate-code/",
            self.admin_site.admin_view(self.rotate_code_view),
            name="offices_entrance_rotate_code",
        )
        return [rotate, *super().get_urls()]

    def rotate_code_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks for confirmation; POST gives the entrance a new code (the change page's button)."""
        # get_object is scoped: another office's entrance is a 403, like on the change page.
        entrance = self.get_object(request, unquote(object_id))
        if entrance is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, entrance):
            raise PermissionDenied
        if request.method == "POST":
            entrance_code_rotate(entrance=entrance, actor=request.user)
            self.message_user(
                request,
                _("“%(entrance)s” has a new QR code; its old posters no longer work. Print the new poster.")
                % {"entrance": entrance},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:offices_entrance_change", args=[entrance.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Rotate QR code"),
            "subtitle": str(entrance),
            "opts": self.opts,
            "object": entrance,
        }
        return TemplateResponse(request, "admin/offices/entrance/rotate_code_confirmation.html", context)

    @admin.action(description=_("Rotate QR code"), permissions=["change"])
    def rotate_code(self, request: HttpRequest, queryset: QuerySet[Entrance]) -> None:
        count = 0
        for entrance in queryset.select_related("office"):
            entrance_code_rotate(entrance=entrance, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d entrance has a new QR code; its old posters no longer work.",
                "%(count)d entrances have a new QR code; their old posters no longer work.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


# --- Assignments, occupancy, audit --------------------------------------------------------------------------------


@admin.register(OfficerAssignment)
class OfficerAssignmentAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    office_path = "office"
    list_display = ["user", "office", "created_at"]
    list_filter = [("office", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "office"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "office__name"]

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any):
        if db_field.name == "user":
            # Only accounts that can log in to the admin or the door console are worth assigning.
            kwargs["queryset"] = get_user_model()._default_manager.filter(is_active=True, is_staff=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(OfficeOccupancy)
class OfficeOccupancyAdmin(OfficeScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    office_path = "office_id"
    list_display = ["office", "staff_inside", "visitors_inside", "inside", "updated_at"]
    list_select_related = ["office"]
    search_fields = ["office__name"]
    ordering = ["office__name"]

    @admin.display(description=_("inside"))
    def inside(self, occupancy: OfficeOccupancy) -> int:
        return occupancy.inside


# The words for the audit log's action codes. The codes stay as written (filters, exports and tests use them); people
# read these. A code missing here shows as itself, so a new action is never hidden.
AUDIT_ACTION_LABELS: dict[str, Any] = {
    "alert.acknowledged": _("Alert acknowledged by the officer"),
    "entrance.code_rotated": _("Rotate QR code"),
    "exposure.export": _("Contact tracing exported"),
    "exposure.notified": _("Exposure notices sent"),
    "staff.imported": _("Staff roster imported"),
    "notice.acknowledged": _("Exposure notice read by its contact"),
    "person.data_exported": _("A person's own data downloaded"),
    "person.data_erased": _("A person's own data deleted"),
    "exposure.query": _("Contact tracing search"),
    "health_status.changed": _("Health status saved"),
    "health_status.deleted": _("Health status deleted"),
    "health_status.imported": _("Health statuses imported"),
    "login.locked_out": _("Login locked after failed tries"),
    "occupancy.reconciled": _("Occupancy count corrected"),
    "office.day_closed": _("Day closed at the door"),
    "report.export": _("Report exported"),
    "restrictionlevel.changed": _("Restriction level saved"),
    "restrictionlevel.deleted": _("Restriction level deleted"),
    "retention.purged": _("Old personal data deleted"),
    "scan.approval_refused": _("Approval refused: office full"),
    "scan.approved": _("Pending case approved"),
    "scan.denied": _("Pending case denied"),
    "scan.expired": _("Pending case expired unanswered"),
    "scan.superseded": _("Pending case closed: admitted elsewhere"),
    "scan.manual_checkin": _("Manual check-in by the officer"),
    "screeningpolicy.changed": _("Screening policy saved"),
    "screeningpolicy.deleted": _("Screening policy deleted"),
    "two_factor.enrolled": _("Second factor set up"),
    "visit.checked_out_by_officer": _("Checked out by the officer"),
    "visits.auto_checked_out": _("Visits closed automatically"),
}


def audit_action_label(action: str) -> str:
    return str(AUDIT_ACTION_LABELS.get(action, action))


class AuditActionFilter(admin.SimpleListFilter):
    """The action filter in words; it offers only the actions the log holds."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        actions = model_admin.get_queryset(request).order_by().values_list("action", flat=True).distinct()
        return sorted(((action, audit_action_label(action)) for action in actions), key=lambda pair: pair[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(OfficeScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    office_path = "office"
    list_display = ["created_at", "action_label", "actor", "office", "object_display"]
    list_filter = [AuditActionFilter, ("office", admin.RelatedOnlyFieldListFilter), "created_at"]
    list_select_related = ["actor", "office"]
    search_fields = ["action", "object_type", "object_id", "actor__username"]
    date_hierarchy = "created_at"
    fields = ["created_at", "action_detail", "actor", "office", "object_type", "object_id", "detail"]
    readonly_fields = ["action_detail"]

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, event: AuditEvent) -> str:
        label = audit_action_label(event.action)
        return format_html('<span title="{}" data-action="{}">{}</span>', event.action, event.action, label)

    @admin.display(description=_("action"))
    def action_detail(self, event: AuditEvent) -> str:
        # The page of one entry also gives the code, which is what exports and the API carry.
        label = audit_action_label(event.action)
        return format_html('<span data-action="{}">{}</span> <code>{}</code>', event.action, label, event.action)

    @admin.display(description=_("object"))
    def object_display(self, event: AuditEvent) -> str:
        return f"{event.object_type} #{event.object_id}" if event.object_type else "—"


admin_site_hooks_install(admin.site)
