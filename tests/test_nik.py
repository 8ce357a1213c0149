"""Tests for denpasar_checkin.nik: validation rules, date part, keyed hash, encryption and masking."""

from __future__ import annotations

import base64
import calendar
import datetime

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from denpasar_checkin.nik import (
    NIK_HASH_MAX_LENGTH,
    NIK_LENGTH,
    nik_age,
    nik_birth_date,
    nik_decrypt,
    nik_encrypt,
    nik_hash,
    nik_hash_candidates,
    nik_is_female,
    nik_mask,
    nik_normalize,
    nik_validate,
)

MAN = "5171010101900001"  # Bali (51), district 7101, born 01-01-90, serial 0001
WOMAN = "5171014510920002"  # day 45 = the 5th + 40, October 1992, serial 0002
TODAY = datetime.date(2025, 6, 15)

FERNET_KEY_A = Fernet.generate_key().decode()
FERNET_KEY_B = Fernet.generate_key().decode()


def make_nik(
    *, province: int = 51, district: int = 7101, day: int = 1, month: int = 1, yy: int = 90, serial: int = 1
) -> str:
    """A 16-digit string from its parts; `day` is the raw DD (add 40 for women)."""
    return f"{province:02d}{district:04d}{day:02d}{month:02d}{yy:02d}{serial:04d}"


def error_code(raw: object) -> str:
    with pytest.raises(ValidationError) as excinfo:
        nik_validate(raw)  # type: ignore[arg-type]
    return excinfo.value.code


def error_text(raw: object) -> str:
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        nik_validate(raw)  # type: ignore[arg-type]
    return " ".join([*excinfo.value.messages, str(excinfo.value), repr(excinfo.value)])


# --- Strategies ----------------------------------------------------------------------------------------------------


@st.composite
def valid_parts(draw: st.DrawFn) -> dict[str, int]:
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(2000, month)[1]))
    female = draw(st.booleans())
    return {
        "province": draw(st.integers(11, 94)),
        "district": draw(st.integers(0, 9999)),
        "day": day + (40 if female else 0),
        "month": month,
        "yy": draw(st.integers(0, 99)),
        "serial": draw(st.integers(1, 9999)),
    }


valid_niks = valid_parts().map(lambda parts: make_nik(**parts))


@st.composite
def invalid_niks(draw: st.DrawFn) -> tuple[str, str]:
    """A 16-digit string with exactly one bad part, and the error code it must raise."""
    parts = draw(valid_parts())
    broken = draw(st.sampled_from(["province", "day", "month", "day_in_month", "serial"]))
    if broken == "province":
        parts["province"] = draw(st.one_of(st.integers(0, 10), st.integers(95, 99)))
        return make_nik(**parts), "province"
    if broken == "day":
        parts["day"] = draw(st.one_of(st.just(0), st.integers(32, 40), st.integers(72, 99)))
        return make_nik(**parts), "birth_day"
    if broken == "month":
        parts["month"] = draw(st.one_of(st.just(0), st.integers(13, 99)))
        parts["day"] = draw(st.integers(1, 28))
        return make_nik(**parts), "birth_month"
    if broken == "day_in_month":
        month = draw(st.sampled_from([2, 4, 6, 9, 11]))
        day = draw(st.integers(calendar.monthrange(2000, month)[1] + 1, 31))
        parts["month"] = month
        parts["day"] = day + draw(st.sampled_from([0, 40]))
        return make_nik(**parts), "birth_day"
    parts["serial"] = 0
    return make_nik(**parts), "serial"


fernet_keys = st.binary(min_size=32, max_size=32).map(lambda b: base64.urlsafe_b64encode(b).decode())
hash_secrets = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40)


# --- Bad inputs, one code each -------------------------------------------------------------------------------------


def test_15_digits_is_length() -> None:
    assert error_code(MAN[:15]) == "length"


def test_17_digits_is_length() -> None:
    assert error_code(MAN + "1") == "length"


def test_length_message_gives_count() -> None:
    assert "15" in error_text(MAN[:15])


def test_letters_is_not_digits() -> None:
    assert error_code("5171O10190000001") == "not_digits"


def test_unicode_digits_are_not_digits() -> None:
    assert error_code("٥١٧١٠١٠١٩٠٠٠٠٠٠١") == "not_digits"


def test_province_00() -> None:
    assert error_code(make_nik(province=0)) == "province"


def test_province_95() -> None:
    assert error_code(make_nik(province=95)) == "province"


def test_day_32() -> None:
    assert error_code(make_nik(day=32)) == "birth_day"


def test_day_00() -> None:
    assert error_code(make_nik(day=0)) == "birth_day"


def test_day_72() -> None:
    assert error_code(make_nik(day=72)) == "birth_day"


def test_month_13() -> None:
    assert error_code(make_nik(month=13)) == "birth_month"


def test_month_00() -> None:
    assert error_code(make_nik(month=0)) == "birth_month"


def test_feb_30() -> None:
    assert error_code(make_nik(day=30, month=2)) == "birth_day"


def test_feb_30_woman() -> None:
    assert error_code(make_nik(day=70, month=2)) == "birth_day"


def test_serial_0000() -> None:
    assert error_code(make_nik(serial=0)) == "serial"


def test_empty() -> None:
    assert error_code("") == "required"


def test_only_separators_is_required() -> None:
    assert error_code("  . - ") == "required"


def test_none_is_invalid_type() -> None:
    assert error_code(None) == "invalid_type"


def test_int_is_invalid_type() -> None:
    assert error_code(5171010190000001) == "invalid_type"


def test_normalize_rejects_non_str() -> None:
    with pytest.raises(ValidationError) as excinfo:
        nik_normalize(5171010190000001)  # type: ignore[arg-type]
    assert excinfo.value.code == "invalid_type"


def test_one_message_per_error() -> None:
    with pytest.raises(ValidationError) as excinfo:
        nik_validate(make_nik(province=0, serial=0))
    assert len(excinfo.value.messages) == 1
    assert excinfo.value.code == "province"


# --- Good inputs ---------------------------------------------------------------------------------------------------


def test_constants_match_their_parts() -> None:
    assert make_nik(day=1, month=1, yy=90, serial=1) == MAN
    assert make_nik(day=45, month=10, yy=92, serial=2) == WOMAN


def test_man() -> None:
    assert nik_validate(MAN) == MAN


def test_woman_day_plus_40() -> None:
    assert nik_validate(WOMAN) == WOMAN


def test_feb_29_allowed() -> None:
    assert nik_validate(make_nik(day=29, month=2, yy=1)) == make_nik(day=29, month=2, yy=1)


def test_spaces_dots_hyphens_are_normalized() -> None:
    assert nik_validate(" 5171 0101.0190-0001\t") == MAN


def test_normalize_keeps_other_characters() -> None:
    assert nik_normalize(" 51 71.01-0x ") == "5171010x"


# --- Properties of validation --------------------------------------------------------------------------------------


@given(valid_niks)
def test_valid_nik_validates(nik: str) -> None:
    assert nik_validate(nik) == nik


@given(valid_niks, st.lists(st.sampled_from([" ", ".", "-"]), min_size=NIK_LENGTH, max_size=NIK_LENGTH))
def test_valid_nik_round_trips_through_separators(nik: str, separators: list[str]) -> None:
    typed = "".join(digit + sep for digit, sep in zip(nik, separators, strict=True))
    assert nik_validate(typed) == nik
    assert nik_validate(nik_validate(typed)) == nik


@given(invalid_niks())
def test_nik_with_one_invalid_part_is_rejected(case: tuple[str, str]) -> None:
    nik, code = case
    assert error_code(nik) == code


@given(invalid_niks())
def test_error_message_never_contains_16_digit_input(case: tuple[str, str]) -> None:
    nik, _code = case
    assert nik not in error_text(nik)


@given(st.text(alphabet="0123456789", min_size=8, max_size=30).filter(lambda s: len(s) != NIK_LENGTH))
def test_error_message_never_contains_wrong_length_input(digits: str) -> None:
    assert digits not in error_text(digits)


@given(st.text(alphabet="0123456789#@!", min_size=8, max_size=30).filter(lambda s: not s.isdigit()))
def test_error_message_never_contains_text_input(raw: str) -> None:
    assert raw not in error_text(raw)


# --- Date part -----------------------------------------------------------------------------------------------------


def test_man_birth_date_1900s() -> None:
    assert nik_birth_date(MAN, today=TODAY) == datetime.date(1990, 1, 1)


def test_woman_birth_date_and_female() -> None:
    assert nik_birth_date(WOMAN, today=TODAY) == datetime.date(1992, 10, 5)
    assert nik_is_female(WOMAN)


def test_man_is_not_female() -> None:
    assert not nik_is_female(MAN)


def test_yy_equal_to_today_is_2000s() -> None:
    assert nik_birth_date(make_nik(day=1, month=3, yy=25), today=TODAY) == datetime.date(2025, 3, 1)


def test_yy_after_today_is_1900s() -> None:
    assert nik_birth_date(make_nik(day=1, month=3, yy=26), today=TODAY) == datetime.date(1926, 3, 1)


def test_same_yy_later_in_year_is_not_in_the_future() -> None:
    assert nik_birth_date(make_nik(day=1, month=12, yy=25), today=TODAY) == datetime.date(1925, 12, 1)


def test_feb_29_in_non_leap_year_becomes_feb_28() -> None:
    assert nik_birth_date(make_nik(day=69, month=2, yy=1), today=TODAY) == datetime.date(2001, 2, 28)


def test_feb_29_in_leap_year_kept() -> None:
    assert nik_birth_date(make_nik(day=29, month=2, yy=4), today=TODAY) == datetime.date(2004, 2, 29)


def test_age_before_and_after_birthday() -> None:
    nik = make_nik(day=15, month=6, yy=90)
    assert nik_age(nik, today=datetime.date(2025, 6, 14)) == 34
    assert nik_age(nik, today=datetime.date(2025, 6, 15)) == 35


def test_age_of_child() -> None:
    assert nik_age(make_nik(day=1, month=1, yy=20), today=TODAY) == 5


def test_birth_date_rejects_invalid_nik() -> None:
    with pytest.raises(ValidationError):
        nik_birth_date(make_nik(month=13), today=TODAY)


@given(valid_niks, st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2099, 12, 31)))
def test_birth_date_never_in_future_and_age_non_negative(nik: str, today: datetime.date) -> None:
    assert nik_birth_date(nik, today=today) <= today
    assert 0 <= nik_age(nik, today=today) < 101


# --- Keyed hash ----------------------------------------------------------------------------------------------------


@override_settings(NIK_HASH_KEY="3:secret")
def test_hash_has_version_prefix_and_length() -> None:
    value = nik_hash(MAN)
    assert value.startswith("v3$")
    assert len(value) == len("v3$") + 64 <= NIK_HASH_MAX_LENGTH


@override_settings(NIK_HASH_KEY="plainsecret")
def test_plain_key_is_version_1() -> None:
    assert nik_hash(MAN).startswith("v1$")


def test_hash_of_typed_and_normalized_nik_match() -> None:
    with override_settings(NIK_HASH_KEY="1:k"):
        assert nik_hash("5171 0101 0190 0001") == nik_hash(MAN)


@given(valid_niks, hash_secrets)
def test_hash_is_deterministic(nik: str, secret: str) -> None:
    with override_settings(NIK_HASH_KEY=f"1:{secret}"):
        assert nik_hash(nik) == nik_hash(nik)
        assert nik not in nik_hash(nik)


@given(valid_niks, hash_secrets, hash_secrets)
def test_hash_differs_across_keys(nik: str, secret_a: str, secret_b: str) -> None:
    if secret_a == secret_b:
        return
    with override_settings(NIK_HASH_KEY=f"1:{secret_a}"):
        first = nik_hash(nik)
    with override_settings(NIK_HASH_KEY=f"1:{secret_b}"):
        second = nik_hash(nik)
    assert first != second


@given(valid_niks, hash_secrets, hash_secrets)
def test_candidates_list_current_first(nik: str, new: str, old: str) -> None:
    with override_settings(NIK_HASH_KEY=f"2:{old}"):
        old_hash = nik_hash(nik)
    with override_settings(NIK_HASH_KEY=f"7:{new}, 2:{old}"):
        candidates = nik_hash_candidates(nik)
        assert candidates[0] == nik_hash(nik)
    assert candidates[0].startswith("v7$")
    assert candidates[1] == old_hash
    assert len(candidates) == 2


@pytest.mark.parametrize(
    "setting",
    ["", " ", "1:a,1:b", "0:a", "-1:a", "x:a", "1:", "1:a,", "1:a,,2:b", "1:a,b:c:d", "a,b"],
)
def test_bad_hash_key_setting(setting: str) -> None:
    with override_settings(NIK_HASH_KEY=setting), pytest.raises(ImproperlyConfigured):
        nik_hash(MAN)


@pytest.mark.parametrize("setting", ["1:Qz7kWv,1:Jx9pRt", "Qz7kWv:Jx9pRt", "0:Qz7kWv"])
def test_bad_hash_key_message_hides_key(setting: str) -> None:
    with override_settings(NIK_HASH_KEY=setting), pytest.raises(ImproperlyConfigured) as excinfo:
        nik_hash(MAN)
    assert "Qz7kWv" not in str(excinfo.value)
    assert "Jx9pRt" not in str(excinfo.value)


# --- Encryption ----------------------------------------------------------------------------------------------------


@given(valid_niks, fernet_keys)
def test_encryption_round_trips(nik: str, key: str) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=key):
        token = nik_encrypt(nik)
        assert nik not in token
        assert nik_decrypt(token) == nik


@given(valid_niks, fernet_keys, fernet_keys)
def test_rotation_old_token_decrypts_with_old_key_second(nik: str, new: str, old: str) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=old):
        token = nik_encrypt(nik)
    with override_settings(FIELD_ENCRYPTION_KEY=f"{new},{old}"):
        assert nik_decrypt(token) == nik


def test_new_token_uses_first_key() -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=f"{FERNET_KEY_A},{FERNET_KEY_B}"):
        token = nik_encrypt(MAN)
    assert Fernet(FERNET_KEY_A).decrypt(token.encode()).decode() == MAN


def test_token_from_removed_key_fails() -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=FERNET_KEY_B):
        token = nik_encrypt(MAN)
    with override_settings(FIELD_ENCRYPTION_KEY=FERNET_KEY_A), pytest.raises(ValueError):
        nik_decrypt(token)


@pytest.mark.parametrize("garbage", ["not-a-token", "", "gAAAAA" + MAN, "\u00e9\u00e9", MAN])
def test_decrypt_garbage_raises_value_error_without_token(garbage: str) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=FERNET_KEY_A), pytest.raises(ValueError) as excinfo:
        nik_decrypt(garbage)
    assert not isinstance(excinfo.value, ValidationError)
    if garbage:
        assert garbage not in str(excinfo.value)
    assert MAN not in str(excinfo.value)


@pytest.mark.parametrize("setting", ["", "short", f"{FERNET_KEY_A},", f"{FERNET_KEY_A},nope"])
def test_bad_encryption_key_setting(setting: str) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=setting), pytest.raises(ImproperlyConfigured):
        nik_encrypt(MAN)


# --- Masking -------------------------------------------------------------------------------------------------------


def test_mask_example() -> None:
    assert nik_mask(MAN) == "5171********0001"


@pytest.mark.parametrize("raw", ["", "123", "51710101019000012", "5171O10190000001", "abcdefghijklmnop"])
def test_mask_of_other_strings_is_all_asterisks(raw: str) -> None:
    assert nik_mask(raw) == "*" * len(raw)


@pytest.mark.parametrize("raw", [None, 5171010190000001, b"5171010190000001"])
def test_mask_never_raises_on_non_str(raw: object) -> None:
    assert set(nik_mask(raw)) == {"*"}  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789", min_size=NIK_LENGTH, max_size=NIK_LENGTH))
def test_mask_hides_middle_keeps_ends(digits: str) -> None:
    masked = nik_mask(digits)
    assert len(masked) == NIK_LENGTH
    assert masked[:4] == digits[:4]
    assert masked[-4:] == digits[-4:]
    assert masked[4:12] == "*" * 8
    assert digits[4:12] not in masked


@given(st.text(max_size=40))
def test_mask_of_anything_never_raises_or_leaks(raw: str) -> None:
    masked = nik_mask(raw)
    assert set(masked) <= set("*0123456789")
    if masked.count("*") != len(masked):
        assert len(masked) == NIK_LENGTH
