"""Short entrance codes a person can type: 8 characters of Crockford base32, read back in any case and spacing."""

from __future__ import annotations

import secrets

# Crockford's base32: digits and capitals without I, L, O and U, so nothing on the poster looks like anything else.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8  # 40 random bits: about 10^12 codes, so a guess lands on one of a city's entrances once in a billion
SHORT_CODE_REGEX = r"^[0-9A-HJKMNP-TV-Z]{8}$"  # the database's check; the same set as ALPHABET

_BITS = 5 * LENGTH
# People and phone keyboards put these between the two groups; none of them is part of a code.
_SEPARATORS = str.maketrans("", "", " \t\r\n\u00a0\u2007\u202f-\u2010\u2011\u2012\u2013\u2014\u2212")
# What a person may type for a character the alphabet leaves out (Crockford's decoding rules).
_LOOK_ALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_ALLOWED = frozenset(ALPHABET)


def short_code_new() -> str:
    """A fresh random short code (uniqueness is the database's job; Entrance.save draws again on a clash)."""
    number = secrets.randbits(_BITS)
    return "".join(ALPHABET[(number >> shift) & 31] for shift in range(_BITS - 5, -1, -5))


def short_code_normalise(value: str | None) -> str | None:
    """The short code a person meant ("abcd-efgh", "ABCD EFGH", "abcd efgh" with o for 0, i or l for 1), or None
    when the value cannot be one."""
    if not value or len(value) > 4 * LENGTH:
        return None
    code = value.translate(_SEPARATORS).upper().translate(_LOOK_ALIKES)
    if len(code) != LENGTH or not _ALLOWED.issuperset(code):
        return None
    return code


def short_code_grouped(code: str) -> str:
    """'ABCDEFGH' -> 'ABCD EFGH', as printed on the poster."""
    half = LENGTH // 2
    return f"{code[:half]} {code[half:]}"
