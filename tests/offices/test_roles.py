"""The role groups: the data migration and roles_sync agree, and sync is idempotent."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from offices.roles import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, set[str]]:
    return {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions__content_type")
    }


def test_migration_and_current_role_table_agree():
    migrated = _snapshot()
    call_command("sync_roles", stdout=io.StringIO())
    assert _snapshot() == migrated
    assert set(migrated) == set(ROLE_PERMISSIONS)


def test_sync_restores_a_removed_permission():
    group = Group.objects.get(name="Satgas")
    group.permissions.clear()
    call_command("sync_roles", stdout=io.StringIO())
    assert "screening.change_healthstatus" in _snapshot()["Satgas"]
