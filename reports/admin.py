"""Admin for the exposure notice text: Satgas (and superusers) edit the one row; nobody deletes it."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from offices.access import user_may_trace

from .models import ExposureAdvice
from .notices import ADVICE_DEFAULT


@admin.register(ExposureAdvice)
class ExposureAdviceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "updated_at"]
    fields = ["text"]

    # Satgas own the wording, whatever model permissions their group holds.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_may_trace(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_may_trace(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_may_trace(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return user_may_trace(request.user) and not ExposureAdvice.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"text": str(ADVICE_DEFAULT)}
