"""`manage.py import_staff OFFICE_ID FILE.csv`: an office's roster (civil servants) from the city's staff CSV."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from denpasar_checkin.commands import utf8_file_read
from offices.models import Office
from offices.staff_import import STAFF_COLUMNS, STAFF_OPTIONAL_COLUMNS, staff_import_csv


class Command(BaseCommand):
    help = (
        f"Load an office's staff from a UTF-8 CSV with the header {','.join(STAFF_COLUMNS)}"
        f"[,{','.join(STAFF_OPTIONAL_COLUMNS)}]. Loading the same file again changes nothing; bad lines are reported "
        "by number and skipped; staff the file no longer lists are marked inactive (only when no line was bad)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("office_id", type=int, help="The office's id (import_offices prints it).")
        parser.add_argument("file", help="Path to the CSV file.")

    def handle(self, *args, office_id: int, file: str, **options) -> None:
        office = Office.objects.filter(pk=office_id).first()
        if office is None:
            raise CommandError(_("No office has the id %(id)d.") % {"id": office_id})
        result = staff_import_csv(office=office, text=utf8_file_read(Path(file)))
        for error in result.errors:
            self.stderr.write(_("line %(line)d: %(message)s") % {"line": error.line, "message": error.message})
        if result.deactivation_skipped:
            self.stderr.write(result.deactivation_skipped)
        summary = _(
            "%(office)s: %(created)d new, %(updated)d updated, %(unchanged)d unchanged, %(deactivated)d marked "
            "inactive, %(errors)d line(s) skipped."
        ) % {
            "office": office.name,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "deactivated": result.deactivated,
            "errors": len(result.errors),
        }
        if not result.loaded and result.errors:
            raise CommandError(summary)
        self.stdout.write(summary)
