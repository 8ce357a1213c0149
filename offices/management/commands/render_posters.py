"""`manage.py render_posters --office ID --out DIR`: print-ready posters of one office, written to a folder."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from offices.models import Office
from offices.posters import office_posters_filename, office_posters_pdf, poster_filename, poster_render_png


class Command(BaseCommand):
    help = (
        "Write one PNG poster (A4, 300 dpi) per active entrance of an office, and one PDF with a page per "
        "active entrance, into a folder (created when missing). Prints the path of each file written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--office", type=int, required=True, help="Id of the office.")
        parser.add_argument("--out", required=True, help="Folder to write the posters into.")

    def handle(self, *args, office: int, out: str, **options) -> None:
        found = Office.objects.filter(pk=office).first()
        if found is None:
            raise CommandError(_("There is no office with id %(id)d.") % {"id": office})
        entrances = list(found.entrances.filter(active=True).select_related("office").order_by("name", "id"))
        if not entrances:
            raise CommandError(_("Office %(id)d has no active entrances: nothing to print.") % {"id": office})

        folder = Path(out)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            used: set[str] = set()
            for entrance in entrances:
                name = poster_filename(entrance=entrance, extension="png")
                if name in used:
                    # Two entrance names can share a slug ("Pintu A" and "pintu-a"): never overwrite a poster.
                    name = f"{name.removesuffix('.png')}-{entrance.pk}.png"
                used.add(name)
                path = folder / name
                path.write_bytes(poster_render_png(entrance=entrance))
                self.stdout.write(str(path))
            pdf_path = folder / office_posters_filename(office=found)
            pdf_path.write_bytes(office_posters_pdf(office=found))
            self.stdout.write(str(pdf_path))
        except OSError as error:
            reason = error.strerror or str(error)
            raise CommandError(
                _("Cannot write posters to %(folder)s: %(error)s") % {"folder": folder, "error": reason}
            ) from error
