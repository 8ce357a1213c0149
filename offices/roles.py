"""The role names (Django groups) and which of them see every office."""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

ROLE_OFFICER = "Petugas"
ROLE_OFFICE_ADMIN = "Admin Kantor"
ROLE_CITY_ADMIN = "Admin Kota"
ROLE_SATGAS = "Satgas"

ROLE_LABELS = {
    ROLE_OFFICER: _("Door officer"),
    ROLE_OFFICE_ADMIN: _("Office admin"),
    ROLE_CITY_ADMIN: _("City admin"),
    ROLE_SATGAS: _("Health task force (Satgas)"),
}

# Roles whose work spans the city; the others see only the offices they are assigned to.
CITY_WIDE_ROLES = frozenset({ROLE_CITY_ADMIN, ROLE_SATGAS})

_ALL = ("add", "change", "delete", "view")
_VIEW = ("view",)

# The model permissions each role holds (object scoping to offices is done in code). The data migration
# visitors/0002_roles keeps a frozen copy of this table; `manage.py sync_roles` applies the current one.
ROLE_PERMISSIONS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    ROLE_OFFICER: {
        "offices": {"office": _VIEW, "entrance": _VIEW, "officeoccupancy": _VIEW},
        "visitors": {"visit": _VIEW, "scanevent": _VIEW},
    },
    ROLE_OFFICE_ADMIN: {
        "offices": {
            "office": ("change", "view"),
            "entrance": _ALL,
            "staff": _ALL,
            "officerassignment": _ALL,
            "officeoccupancy": _VIEW,
            "auditevent": _VIEW,
        },
        "screening": {"restrictionlevel": _VIEW},
        "visitors": {"visit": _VIEW, "scanevent": _VIEW},
    },
    ROLE_CITY_ADMIN: {
        "offices": {
            "office": _ALL,
            "entrance": _ALL,
            "staff": _ALL,
            "officerassignment": _ALL,
            "officeoccupancy": _VIEW,
            "auditevent": _VIEW,
        },
        "screening": {"restrictionlevel": _ALL, "screeningpolicy": ("change", "view")},
        "visitors": {"visit": _VIEW, "scanevent": _VIEW},
    },
    ROLE_SATGAS: {
        "offices": {"office": _VIEW, "auditevent": _VIEW},
        "screening": {"healthstatus": _ALL, "screeningpolicy": _VIEW, "restrictionlevel": _VIEW},
        "visitors": {"person": _VIEW, "visit": _VIEW, "scanevent": _VIEW},
    },
}


def roles_sync() -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, by_app in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = [
            Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}")
            for app_label, by_model in by_app.items()
            for model, actions in by_model.items()
            for action in actions
        ]
        group.permissions.set(wanted)
