"""Read-only queries about offices: which offices a user may see, and their occupancy."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from .models import Entrance, Office
from .roles import CITY_WIDE_ROLES


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def user_has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    """A superuser holds every role."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or role in user_roles(user)


def user_is_city_wide(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(user_roles(user) & CITY_WIDE_ROLES)


def offices_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Office]:
    """The offices a user may see: all for superusers and city-wide roles, otherwise their assignments."""
    if not user.is_authenticated or not user.is_active:
        return Office.objects.none()
    if user_is_city_wide(user):
        return Office.objects.all()
    return Office.objects.filter(assignments__user=user)


def office_ids_for_user(user: AbstractBaseUser | AnonymousUser) -> set[int] | None:
    """Office ids a user is limited to, or None when they see every office."""
    if user_is_city_wide(user):
        return None
    return set(offices_for_user(user).values_list("id", flat=True))


def user_can_access_office(user: AbstractBaseUser | AnonymousUser, office_id: int) -> bool:
    ids = office_ids_for_user(user)
    return ids is None or office_id in ids


def entrance_office_id(*, code: str) -> int | None:
    """The office of an entrance code, or None for an unknown or retired code."""
    return Entrance.objects.filter(code=code).values_list("office_id", flat=True).first()
