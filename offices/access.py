"""Who may do what, where: every role and office-scope check of admin, door, reports and API lives here."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from .models import Entrance, Office
from .roles import CITY_WIDE_ROLES, ROLE_CITY_ADMIN, ROLE_OFFICE_ADMIN, ROLE_OFFICER, ROLE_SATGAS

User = AbstractBaseUser | AnonymousUser

# Roles that work a door: they see true outcomes and colours for the offices in their scope.
DOOR_ROLES = (ROLE_OFFICER, ROLE_OFFICE_ADMIN, ROLE_CITY_ADMIN)


def user_roles(user: User) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def user_has_role(user: User, role: str) -> bool:
    """A superuser holds every role."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or role in user_roles(user)


def user_is_city_wide(user: User) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(user_roles(user) & CITY_WIDE_ROLES)


def user_needs_second_factor(user: User) -> bool:
    """Whether the user's roles call for a second factor (settings.REQUIRE_2FA_GROUPS; a superuser holds them all)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(user_roles(user) & set(settings.REQUIRE_2FA_GROUPS))


def offices_for_user(user: User) -> QuerySet[Office]:
    """The offices a user may see: all for superusers and city-wide roles, otherwise their assignments."""
    if not user.is_authenticated or not user.is_active:
        return Office.objects.none()
    if user_is_city_wide(user):
        return Office.objects.all()
    return Office.objects.filter(assignments__user=user)


def office_ids_for_user(user: User) -> set[int] | None:
    """Office ids a user is limited to, or None when they see every office."""
    if user_is_city_wide(user):
        return None
    return set(offices_for_user(user).values_list("id", flat=True))


def user_can_access_office(user: User, office_id: int) -> bool:
    ids = office_ids_for_user(user)
    return ids is None or office_id in ids


# --- the door ---------------------------------------------------------------------------------------------------


def user_works_doors(user: User) -> bool:
    return any(user_has_role(user, role) for role in DOOR_ROLES)


def user_may_work_door(user: User, *, office_id: int) -> bool:
    """An officer or admin of the office (superusers and city admins: every office)."""
    return user_works_doors(user) and user_can_access_office(user, office_id)


def door_entrances_for_user(user: User) -> QuerySet[Entrance]:
    if not user_works_doors(user):
        return Entrance.objects.none()
    return (
        Entrance.objects.filter(office__in=offices_for_user(user))
        .select_related("office")
        .order_by("office__name", "name")
    )


def user_sees_truth_at(user: User, *, office_id: int | None) -> bool:
    """Whether a caller gets the true outcome, colour and reason of a scan at this office (not the public one)."""
    return office_id is not None and user_may_work_door(user, office_id=office_id)


# --- reports ----------------------------------------------------------------------------------------------------


def user_sees_dashboards(user: User) -> bool:
    return user_has_role(user, ROLE_OFFICE_ADMIN) or user_has_role(user, ROLE_CITY_ADMIN)


def user_sees_city(user: User) -> bool:
    return user_has_role(user, ROLE_CITY_ADMIN)


def user_may_trace(user: User) -> bool:
    """Satgas (and superusers): contact tracing and health-status work, city-wide."""
    return user_has_role(user, ROLE_SATGAS)


def user_sees_office_dashboard(user: User, *, office_id: int) -> bool:
    return user_sees_dashboards(user) and user_can_access_office(user, office_id)
