"""One rule for text that people type or files carry: no control characters, so none reaches a row, a log or a screen.

PostgreSQL refuses NUL in text (a DataError, so a 500), and the other C0/C1 controls and the bidirectional overrides
can hide or reorder what an officer reads on the door screen. Refused: every character of Unicode category Cc (C0
U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F), the bidirectional embedding, override and isolate controls
(U+202A-U+202E, U+2066-U+2069), and lone surrogates (JSON can carry them; UTF-8 cannot store them). Allowed where a
field says so: tab, line feed and carriage return, the whitespace a pasted name or a note may hold before it is
collapsed to single spaces. Everything else, zero-width joiners and all letters of every script included, is text.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

CONTROL_MESSAGE = _("Remove the control characters from this field.")
CONTROL_CODE = "control_characters"

_NOT_C0 = r"\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"  # DEL, C1, bidi controls, lone surrogates
_ANY_CONTROL = re.compile(rf"[\x00-\x1f{_NOT_C0}]")
_CONTROL_BUT_WHITESPACE = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f{_NOT_C0}]")


def text_has_control(value: str, *, allow_whitespace: bool = False) -> bool:
    """Whether `value` holds a refused character; with allow_whitespace, tab, LF and CR are not counted."""
    pattern = _CONTROL_BUT_WHITESPACE if allow_whitespace else _ANY_CONTROL
    return pattern.search(value) is not None


def text_check(value: Any, *, field_name: str | None = None, allow_whitespace: bool = False) -> None:
    """Raise ValidationError (under `field_name` when given) if `value` is a string with a refused character."""
    if isinstance(value, str) and text_has_control(value, allow_whitespace=allow_whitespace):
        message = CONTROL_MESSAGE if field_name is None else {field_name: CONTROL_MESSAGE}
        raise ValidationError(message, code=CONTROL_CODE)


@deconstructible
class NoControlCharactersValidator:
    """The same rule as a Django/DRF field validator: `validators=[NoControlCharactersValidator()]`."""

    message = CONTROL_MESSAGE
    code = CONTROL_CODE

    def __init__(self, *, allow_whitespace: bool = False):
        self.allow_whitespace = allow_whitespace

    def __call__(self, value: Any) -> None:
        if isinstance(value, str) and text_has_control(value, allow_whitespace=self.allow_whitespace):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharactersValidator) and other.allow_whitespace == self.allow_whitespace
