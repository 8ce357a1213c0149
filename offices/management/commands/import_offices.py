"""`manage.py import_offices FILE.csv [--json]`: the city's bulk set-up of offices and entrances."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from denpasar_checkin.commands import utf8_file_read
from offices.importing import COLUMNS, ImportResult, offices_import_csv


class Command(BaseCommand):
    help = (
        f"Create or update offices and their entrances from a UTF-8 CSV file with the header {','.join(COLUMNS)} "
        "(one row per entrance; re-importing the same file changes nothing). Prints each entrance's office id, "
        "entrance id and URL; with --json, standard output holds only a JSON list of them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path to the CSV file.")
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help='Print only a JSON list of {"office_id", "office", "entrance_id", "entrance", "url", "short_code"} on '
            "standard output; errors and the summary go to standard error.",
        )

    def handle(self, *args, file: str, as_json: bool, **options) -> None:
        text = utf8_file_read(Path(file))
        result = offices_import_csv(text=text)

        for error in result.errors:
            self.stderr.write(_("line %(line)d: %(message)s") % {"line": error.line, "message": error.message})
        if not result.rows and result.errors:
            raise CommandError(
                _("Nothing was imported: the file has no valid rows (%(count)d error(s) above).")
                % {"count": len(result.errors)}
            )

        if as_json:
            payload = [
                {
                    "office_id": row.office_id,
                    "office": row.office,
                    "entrance_id": row.entrance_id,
                    "entrance": row.entrance,
                    "url": row.url,
                    "short_code": row.short_code,
                }
                for row in result.rows
            ]
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            self.stderr.write(self._summary(result), style_func=lambda text: text)
            return

        for row in result.rows:
            mark = _("new") if row.created else _("unchanged")
            label = f"{row.office} — {row.entrance}"
            self.stdout.write(f"office {row.office_id}\tentrance {row.entrance_id}\t{row.url}\t{label}\t({mark})")
        self.stdout.write(self._summary(result))

    def _summary(self, result: ImportResult) -> str:
        return _(
            "%(entrances)d entrance(s) imported (%(entrances_created)d new); offices: %(offices_created)d new, "
            "%(offices_updated)d updated; %(errors)d error(s)."
        ) % {
            "entrances": len(result.rows),
            "entrances_created": result.entrances_created,
            "offices_created": result.offices_created,
            "offices_updated": result.offices_updated,
            "errors": len(result.errors),
        }
