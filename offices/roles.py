"""The role names (Django groups) and which of them see every office."""

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
