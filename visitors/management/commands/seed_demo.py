"""`manage.py seed_demo [--if-empty]`: load the demo offices, users and registry people (safe to run twice)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from offices.models import Entrance
from visitors.demo import demo_is_needed, demo_seed


class Command(BaseCommand):
    help = (
        "Load demo data: three Denpasar offices with entrances and staff, the users admin, petugas and satgas "
        "(passwords printed once, when created) and one registry person per health colour. Running it again "
        "creates nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (it creates a superuser with a printed password: never on a live site).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has offices (what `make run` uses).",
        )

    def handle(self, *args, if_empty: bool, allow_production: bool, **options) -> None:
        if not settings.DEMO_SEED_ALLOWED and not allow_production:
            raise CommandError("seed_demo creates demo users and is refused with DEBUG off (see --allow-production).")
        if if_empty and not demo_is_needed():
            self.stdout.write("Offices already exist; demo data not loaded. Entrance URLs:")
            for entrance in Entrance.objects.select_related("office").order_by("office__name", "name")[:10]:
                self.stdout.write(f"  {entrance.url}  {entrance}")
            return
        demo_seed(stdout_write=self.stdout.write)
