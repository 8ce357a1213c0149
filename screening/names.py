"""Name matching for status lookups: case, spacing and punctuation do not matter."""

import re
import unicodedata

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def name_normalize(name: str) -> str:
    """'I Gusti  Ngurah-Rai, S.H.' and 'i gusti ngurah rai sh' compare equal."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(_NOT_WORD.split(without_marks))


def names_match(given: str, registered: str) -> bool:
    given_key = name_normalize(given)
    return bool(given_key) and given_key == name_normalize(registered)
