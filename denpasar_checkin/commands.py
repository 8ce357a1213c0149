"""What the management commands share: reading the UTF-8 CSV a person named, with a plain error when it cannot be."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _


def utf8_file_read(path: Path) -> str:
    """The file's text; a missing, unreadable or non-UTF-8 file is a CommandError in words, not a traceback."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        raise CommandError(_("File not found: %(path)s") % {"path": path}) from None
    except UnicodeDecodeError:
        raise CommandError(_("%(path)s is not UTF-8 text; save the CSV as UTF-8.") % {"path": path}) from None
    except OSError as exc:
        raise CommandError(
            _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror or exc}
        ) from None
