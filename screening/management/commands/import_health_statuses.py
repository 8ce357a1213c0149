"""`manage.py import_health_statuses FILE.csv`: load the health office's registry export into the status registry."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from screening.importing import CSV_COLUMNS, health_statuses_import_csv
from screening.models import StatusSource


class Command(BaseCommand):
    help = (
        f"Create or update health statuses from a UTF-8 CSV file with the header {','.join(CSV_COLUMNS)} (doses 0-4, "
        "dates YYYY-MM-DD or empty, case_status none|positive|close_contact). Bad rows are reported by line and "
        "skipped; good rows load; re-importing the same file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path to the CSV file.")

    def handle(self, *args, file: str, **options) -> None:
        path = Path(file)
        try:
            with path.open("rb") as handle:
                result = health_statuses_import_csv(stream=handle, source=StatusSource.REGISTRY)
        except FileNotFoundError:
            raise CommandError(_("File not found: %(path)s") % {"path": path}) from None
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror or exc}
            ) from None

        for line, errors in result.errors:
            for field, messages in errors.items():
                label = "" if field == "non_field_errors" else f"{field}: "
                for message in messages:
                    self.stderr.write(_("line %(line)d: %(message)s") % {"line": line, "message": label + message})
        summary = _(
            "%(created)d created, %(updated)d updated, %(unchanged)d unchanged; %(errors)d line(s) with errors."
        ) % {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "errors": len(result.errors),
        }
        if result.errors and not (result.created or result.updated or result.unchanged):
            raise CommandError(_("Nothing was imported. ") + summary)
        self.stdout.write(summary)
