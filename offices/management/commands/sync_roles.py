"""`manage.py sync_roles`: bring the role groups' permissions in line with offices/roles.py after an upgrade."""

from django.core.management.base import BaseCommand

from offices.roles import ROLE_PERMISSIONS, roles_sync


class Command(BaseCommand):
    help = "Create the role groups (Petugas, Admin Kantor, Admin Kota, Satgas) and set their permissions."

    def handle(self, *args, **options) -> None:
        roles_sync()
        self.stdout.write(f"Roles synchronised: {', '.join(ROLE_PERMISSIONS)}.")
