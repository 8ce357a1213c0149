"""Office scoping for Django admin: office-bound admins list, offer, open and save only the user's offices."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from .access import offices_for_user, user_can_access_office, user_is_city_wide
from .models import Entrance, Office


class OfficeScopedAdminMixin:
    """Mix into a ModelAdmin (before admin.ModelAdmin) of a model that belongs to one office.

    City-wide users (superuser, Admin Kota, Satgas) see everything; everyone else only the offices they are
    assigned to. Another office's object opened by URL is a 403, not Django's "does not exist" redirect, so
    a guessed id never looks like a harmless typo.
    """

    #: Lookup path from the model to its office: "office", "office_id", "entrance__office", or "id" on Office.
    office_path: str = "office"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if user_is_city_wide(request.user):
            return queryset
        # A subquery, not a list of ids: one round trip, and it stays correct inside the changelist's counts.
        return queryset.filter(**{f"{self.office_path}__in": offices_for_user(request.user).values("id")})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> models.Model | None:
        obj = super().get_object(request, object_id, from_field)
        if obj is None and not user_is_city_wide(request.user) and self._exists_unscoped(object_id, from_field):
            raise PermissionDenied
        return obj

    def _exists_unscoped(self, object_id: str, from_field: str | None) -> bool:
        field = self.model._meta.pk if from_field is None else self.model._meta.get_field(from_field)
        try:
            value = field.to_python(object_id)
        except (ValidationError, ValueError):
            return False
        return self.model._default_manager.filter(**{field.name: value}).exists()

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any):
        if "queryset" not in kwargs and not user_is_city_wide(request.user):
            queryset = scoped_choices(db_field.related_model, request.user)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_form(self, request: HttpRequest, form, change: bool) -> models.Model:
        # save_form runs before save_model (which admins override to call services) and inside the admin's
        # transaction, so a refusal here writes nothing, whatever the form's choices let through.
        obj = super().save_form(request, form, change)
        if not user_is_city_wide(request.user):
            office_id = self.office_id_of(obj)
            if office_id is None or not user_can_access_office(request.user, office_id):
                raise PermissionDenied
        return obj

    def office_id_of(self, obj: models.Model) -> int | None:
        """The id of the office `obj` belongs to, following office_path (None when it has none yet)."""
        value: Any = obj
        parts = self.office_path.split("__")
        for position, part in enumerate(parts):
            if position == len(parts) - 1 and isinstance(value, models.Model):
                field = value._meta.get_field(part)
                # Read the raw id of a last-hop foreign key instead of loading the office.
                part = getattr(field, "attname", part)
            value = getattr(value, part, None)
            if value is None:
                return None
        return value.pk if isinstance(value, models.Model) else value


def scoped_choices(model: type[models.Model], user: AbstractBaseUser | AnonymousUser) -> QuerySet | None:
    """The rows of Office or Entrance a scoped user may pick in a form; None for any other model."""
    if model is Office:
        return offices_for_user(user)
    if model is Entrance:
        return Entrance.objects.select_related("office").filter(office__in=offices_for_user(user).values("id"))
    return None
