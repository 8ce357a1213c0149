"""Indonesian NIK (national ID number) handling: normalize, validate, read, hash, encrypt and mask."""

from __future__ import annotations

import calendar
import datetime
import functools
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

__all__ = [
    "NIK_HASH_MAX_LENGTH",
    "NIK_LENGTH",
    "nik_age",
    "nik_birth_date",
    "nik_decrypt",
    "nik_encrypt",
    "nik_hash",
    "nik_hash_candidates",
    "nik_is_female",
    "nik_mask",
    "nik_normalize",
    "nik_validate",
]

NIK_LENGTH = 16
# "v" + version + "$" + 64 hex digits; fits a CharField(max_length=80).
NIK_HASH_MAX_LENGTH = 80

PROVINCE_MIN = 11
PROVINCE_MAX = 94
FEMALE_DAY_OFFSET = 40

_SEPARATORS = re.compile(r"[\s.\-]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_VERSIONED_KEY = re.compile(r"([0-9]+):(.*)", re.DOTALL)
_MAX_VERSION_DIGITS = NIK_HASH_MAX_LENGTH - len("v$") - hashlib.sha256().digest_size * 2

# Messages never interpolate the NIK itself; the only parameter is a count of digits.
_MESSAGES = {
    "invalid_type": _("NIK must be given as text."),
    "required": _("NIK is required."),
    "not_digits": _("NIK may contain only digits."),
    "length": ngettext_lazy(
        "NIK must be exactly 16 digits; %(count)d was given.",
        "NIK must be exactly 16 digits; %(count)d were given.",
        "count",
    ),
    "province": _("The first two digits of the NIK (province code) must be between 11 and 94."),
    "birth_day": _("Digits 7-8 of the NIK (day of birth) must be 01-31, or 41-71 for women."),
    "birth_day_in_month": _("The date of birth in the NIK (digits 7-12) is not a real date."),
    "birth_month": _("Digits 9-10 of the NIK (month of birth) must be 01-12."),
    "serial": _("The last four digits of the NIK (serial number) cannot be 0000."),
}


def _error(code: str, *, message_key: str | None = None, params: dict[str, int] | None = None) -> ValidationError:
    return ValidationError(_MESSAGES[message_key or code], code=code, params=params)


# --- Normalization and validation ------------------------------------------------------------------------------


def nik_normalize(raw: str) -> str:
    """Strip whitespace and remove inner spaces, dots and hyphens ("5171 0101.9000-0001" -> "5171010190000001")."""
    if not isinstance(raw, str):
        raise _error("invalid_type")
    return _SEPARATORS.sub("", raw.strip())


def nik_validate(raw: str) -> str:
    """Return the normalized 16-digit NIK, or raise ValidationError with one message and a specific code."""
    nik = nik_normalize(raw)
    if not nik:
        raise _error("required")
    if not _ASCII_DIGITS.fullmatch(nik):
        raise _error("not_digits")
    if len(nik) != NIK_LENGTH:
        raise _error("length", params={"count": len(nik)})
    if not PROVINCE_MIN <= int(nik[0:2]) <= PROVINCE_MAX:
        raise _error("province")
    day, month = _day_and_month(nik)
    if not 1 <= day <= 31:
        raise _error("birth_day")
    if not 1 <= month <= 12:
        raise _error("birth_month")
    # Leap year 2000 stands in for the unknown century, so 29 February is accepted.
    if day > calendar.monthrange(2000, month)[1]:
        raise _error("birth_day", message_key="birth_day_in_month")
    if nik[12:16] == "0000":
        raise _error("serial")
    return nik


def _day_and_month(nik: str) -> tuple[int, int]:
    """Day of birth (women's +40 removed, 0 when out of range) and month from digits 7-10 of a 16-digit string."""
    raw_day = int(nik[6:8])
    if 1 <= raw_day <= 31:
        day = raw_day
    elif 1 + FEMALE_DAY_OFFSET <= raw_day <= 31 + FEMALE_DAY_OFFSET:
        day = raw_day - FEMALE_DAY_OFFSET
    else:
        day = 0
    return day, int(nik[8:10])


# --- Reading the date part ---------------------------------------------------------------------------------------


def nik_is_female(nik: str) -> bool:
    """True when the NIK's day of birth carries the +40 used for women."""
    nik = nik_validate(nik)
    return int(nik[6:8]) > FEMALE_DAY_OFFSET


def nik_birth_date(nik: str, *, today: datetime.date) -> datetime.date:
    """Date of birth from a valid NIK.

    Century: YY <= today's YY means 20YY, otherwise 19YY; a date that would still lie after `today` (same YY,
    later in the year) is taken as 19YY, since nobody has a NIK before being born. 29 February in a non-leap
    year becomes 28 February.
    """
    nik = nik_validate(nik)
    day, month = _day_and_month(nik)
    yy = int(nik[10:12])
    year = (2000 if yy <= today.year % 100 else 1900) + yy
    born = _safe_date(year=year, month=month, day=day)
    if born > today:
        born = _safe_date(year=year - 100, month=month, day=day)
    return born


def nik_age(nik: str, *, today: datetime.date) -> int:
    """Age in full years on `today`."""
    born = nik_birth_date(nik, today=today)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _safe_date(*, year: int, month: int, day: int) -> datetime.date:
    return datetime.date(year, month, min(day, calendar.monthrange(year, month)[1]))


# --- Keyed hash for lookups --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _parse_hash_keys(setting: str) -> tuple[tuple[int, bytes], ...]:
    """Parse NIK_HASH_KEY ("2:new,1:old" or a plain key = version 1); errors name the entry, never the key."""
    entries = setting.split(",")
    keys: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    for position, entry in enumerate(entries, start=1):
        entry = entry.strip()
        match = _VERSIONED_KEY.fullmatch(entry)
        if match:
            version_text, key = match.group(1), match.group(2).strip()
            if len(version_text) > _MAX_VERSION_DIGITS or int(version_text) < 1:
                raise ImproperlyConfigured(
                    f"NIK_HASH_KEY entry {position}: the version must be a positive integer "
                    f"of at most {_MAX_VERSION_DIGITS} digits."
                )
            version = int(version_text)
        elif entry and ":" not in entry:
            version, key = 1, entry
        else:
            raise ImproperlyConfigured(
                f"NIK_HASH_KEY entry {position} is malformed: use 'version:key' entries separated by commas, "
                "e.g. '2:newsecret,1:oldsecret' (the first is current)."
            )
        if not key:
            raise ImproperlyConfigured(f"NIK_HASH_KEY entry {position} has an empty key.")
        if version in seen:
            raise ImproperlyConfigured(f"NIK_HASH_KEY lists version {version} more than once.")
        seen.add(version)
        keys.append((version, key.encode("utf-8")))
    return tuple(keys)


def _hash_keys() -> tuple[tuple[int, bytes], ...]:
    setting = getattr(settings, "NIK_HASH_KEY", None)
    if not isinstance(setting, str) or not setting.strip():
        raise ImproperlyConfigured("NIK_HASH_KEY must be a non-empty string such as '1:secret'.")
    return _parse_hash_keys(setting)


def _hash_with(nik: str, *, version: int, key: bytes) -> str:
    digest = hmac.new(key, nik.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"v{version}${digest}"


def nik_hash(nik: str) -> str:
    """HMAC-SHA256 of the normalized NIK under the current key, as "v{version}${hexdigest}" (at most 80 chars)."""
    normalized = nik_normalize(nik)
    version, key = _hash_keys()[0]
    return _hash_with(normalized, version=version, key=key)


def nik_hash_candidates(nik: str) -> list[str]:
    """The NIK's hash under every configured key, current first: look up with `field__in=` during key rotation."""
    normalized = nik_normalize(nik)
    return [_hash_with(normalized, version=version, key=key) for version, key in _hash_keys()]


# --- Reversible encryption (only where a person must read the NIK back) -------------------------------------------


@functools.lru_cache(maxsize=16)
def _build_fernet(setting: str) -> MultiFernet:
    fernets: list[Fernet] = []
    for position, entry in enumerate(setting.split(","), start=1):
        entry = entry.strip()
        try:
            fernets.append(Fernet(entry))
        except (ValueError, TypeError):
            # The key itself is never repeated in the message.
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY entry {position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with cryptography.fernet.Fernet.generate_key()."
            ) from None
    return MultiFernet(fernets)


def _fernet() -> MultiFernet:
    setting = getattr(settings, "FIELD_ENCRYPTION_KEY", None)
    if not isinstance(setting, str) or not setting.strip():
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be a comma-separated list of Fernet keys.")
    return _build_fernet(setting)


def nik_encrypt(nik: str) -> str:
    """Encrypt the normalized NIK with the current FIELD_ENCRYPTION_KEY; returns an ASCII Fernet token."""
    normalized = nik_normalize(nik)
    return _fernet().encrypt(normalized.encode("utf-8")).decode("ascii")


def nik_decrypt(token: str) -> str:
    """Decrypt a token from nik_encrypt under any configured key; ValueError (token not echoed) when it fails."""
    fernet = _fernet()
    if not isinstance(token, (str, bytes)):
        raise ValueError("Encrypted NIK must be a string.")
    try:
        return fernet.decrypt(token).decode("utf-8")
    except (InvalidToken, ValueError, TypeError):
        raise ValueError("Encrypted NIK could not be decrypted with any configured key.") from None


# --- Display ------------------------------------------------------------------------------------------------------


def nik_mask(nik: str) -> str:
    """Show first and last four digits of a 16-digit string ("5171********0001"), else only asterisks; never raises."""
    if not isinstance(nik, str):
        return "*" * NIK_LENGTH
    normalized = _SEPARATORS.sub("", nik.strip())
    if len(normalized) == NIK_LENGTH and _ASCII_DIGITS.fullmatch(normalized):
        return f"{normalized[:4]}{'*' * 8}{normalized[-4:]}"
    return "*" * len(nik)
