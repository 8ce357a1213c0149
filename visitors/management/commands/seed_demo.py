"""`manage.py seed_demo [--if-empty]`: load the demo offices, users and registry people (safe to run twice)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from visitors.demo import demo_is_needed, demo_seed


class Command(BaseCommand):
    help = (
        "Load demo data: three Denpasar offices with entrances and staff, the users admin, petugas and satgas "
        "(passwords printed once, when created) and one registry person per health colour. Running it again "
        "creates nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has offices (what `make run` uses).",
        )

    def handle(self, *args, if_empty: bool, **options) -> None:
        if if_empty and not demo_is_needed():
            self.stdout.write("Offices already exist; demo data not loaded.")
            return
        demo_seed(stdout_write=self.stdout.write)
