"""Live door QR codes: a token lives for two 30-second periods, is bound to the entrance's code, and passes carry a
good scan into the form for ten minutes; the six digits under the kiosk QR live exactly as long. Pure: entrances are
unsaved, times are passed in."""

from __future__ import annotations

import datetime

import pytest

from offices.live_codes import (
    PASS_MAX_AGE_SECONDS,
    PERIOD_SECONDS,
    live_digits_grouped,
    live_digits_make,
    live_digits_matches,
    live_digits_normalise,
    live_pass_check,
    live_pass_make,
    live_period,
    live_proof_check,
    live_seconds_left,
    live_token_check,
    live_token_make,
    live_url,
)
from offices.models import Entrance

T0 = datetime.datetime(2021, 8, 2, 1, 0, 10, tzinfo=datetime.UTC)  # 10 s into a period


def later(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def entrance() -> Entrance:
    return Entrance(pk=7, code="door-code-aaaa")


def test_token_is_valid_in_its_own_period(entrance):
    token = live_token_make(entrance=entrance, at=T0)
    check = live_token_check(entrance=entrance, token=token, at=later(5))
    assert (check.ok, check.reason) == (True, "ok")
    assert check.pass_value


def test_token_is_still_valid_one_period_later(entrance):
    token = live_token_make(entrance=entrance, at=T0)
    assert live_token_check(entrance=entrance, token=token, at=later(PERIOD_SECONDS)).ok


def test_token_two_periods_old_is_expired(entrance):
    token = live_token_make(entrance=entrance, at=T0)
    check = live_token_check(entrance=entrance, token=token, at=later(2 * PERIOD_SECONDS))
    assert (check.ok, check.reason, check.pass_value) == (False, "expired", "")


def test_tampered_token_is_invalid(entrance):
    period, signature = live_token_make(entrance=entrance, at=T0).split(".")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    for token in (f"{period}.{flipped}", f"{int(period) + 1}.{signature}", f"{period}.", "", None, "x" * 500):
        assert live_token_check(entrance=entrance, token=token, at=T0).reason == "invalid", token


def test_old_period_with_forged_signature_is_invalid_not_expired(entrance):
    period = live_period(T0) - 5
    assert live_token_check(entrance=entrance, token=f"{period}.0123456789abcdef", at=T0).reason == "invalid"


def test_token_from_the_future_is_invalid(entrance):
    token = live_token_make(entrance=entrance, at=later(PERIOD_SECONDS))
    assert live_token_check(entrance=entrance, token=token, at=T0).reason == "invalid"


def test_token_of_another_entrance_is_invalid(entrance):
    other = Entrance(pk=8, code="door-code-bbbb")
    token = live_token_make(entrance=other, at=T0)
    assert live_token_check(entrance=entrance, token=token, at=T0).reason == "invalid"


def test_rotating_the_entrance_code_retires_live_tokens(entrance):
    token = live_token_make(entrance=entrance, at=T0)
    entrance.code = "door-code-rotated"
    assert live_token_check(entrance=entrance, token=token, at=T0).reason == "invalid"


def test_live_url_is_the_entrance_url_with_the_token(entrance, settings):
    settings.SITE_URL = "https://checkin.denpasarkota.go.id"
    token = live_token_make(entrance=entrance, at=T0)
    assert live_url(entrance=entrance, at=T0) == f"https://checkin.denpasarkota.go.id/c/door-code-aaaa/?t={token}"


def test_seconds_left_counts_to_the_period_boundary():
    assert live_seconds_left(T0) == pytest.approx(PERIOD_SECONDS - 10)
    assert live_period(later(PERIOD_SECONDS - 10)) == live_period(T0) + 1


def test_pass_is_valid_for_ten_minutes_then_expired(entrance):
    value = live_pass_make(entrance=entrance, at=T0)
    assert live_pass_check(entrance=entrance, value=value, at=later(PASS_MAX_AGE_SECONDS)).ok
    assert live_pass_check(entrance=entrance, value=value, at=later(PASS_MAX_AGE_SECONDS + 1)).reason == "expired"


def test_pass_of_another_entrance_or_tampered_is_invalid(entrance):
    value = live_pass_make(entrance=Entrance(pk=8, code="door-code-bbbb"), at=T0)
    assert live_pass_check(entrance=entrance, value=value, at=T0).reason == "invalid"
    mine = live_pass_make(entrance=entrance, at=T0)
    assert live_pass_check(entrance=entrance, value=mine[:-1] + ("A" if mine[-1] != "A" else "B"), at=T0).reason == (
        "invalid"
    )


def test_proof_takes_a_token_or_a_pass_and_keeps_the_pass(entrance):
    token = live_token_make(entrance=entrance, at=T0)
    from_token = live_proof_check(entrance=entrance, value=token, at=T0)
    assert from_token.ok and ":" in from_token.pass_value
    # A pass is carried on as it is, never renewed: it cannot be stretched past its ten minutes.
    from_pass = live_proof_check(entrance=entrance, value=from_token.pass_value, at=later(60))
    assert from_pass.ok and from_pass.pass_value == from_token.pass_value
    assert live_proof_check(entrance=entrance, value=None, at=T0).reason == "invalid"


# --- the six digits under the kiosk QR --------------------------------------------------------------------------


def test_digits_are_six_ascii_digits_fixed_for_a_period(entrance):
    digits = live_digits_make(entrance=entrance, at=T0)
    assert len(digits) == 6 and digits.isascii() and digits.isdigit()
    assert live_digits_make(entrance=entrance, at=later(PERIOD_SECONDS - 11)) == digits  # still the same period


def test_digits_change_with_the_period_the_entrance_and_its_code(entrance):
    digits = live_digits_make(entrance=entrance, at=T0)
    # One of these could match by chance (one in a million each); all three never do for a fixed secret.
    assert live_digits_make(entrance=entrance, at=later(PERIOD_SECONDS)) != digits
    assert live_digits_make(entrance=Entrance(pk=8, code="door-code-bbbb"), at=T0) != digits
    entrance.code = "door-code-rotated"
    assert live_digits_make(entrance=entrance, at=T0) != digits


def test_digits_are_not_the_token(entrance):
    # Their own salt: the screen's digits tell nothing about the QR's signature.
    signature = live_token_make(entrance=entrance, at=T0).split(".")[1]
    assert live_digits_make(entrance=entrance, at=T0) not in signature


def test_digits_match_in_their_period_and_the_next_then_not(entrance):
    other = Entrance(pk=8, code="door-code-bbbb")
    digits = live_digits_make(entrance=entrance, at=T0)
    assert live_digits_matches(entrances=[other, entrance], digits=digits, at=T0) == [entrance]
    assert live_digits_matches(entrances=[other, entrance], digits=digits, at=later(PERIOD_SECONDS)) == [entrance]
    assert live_digits_matches(entrances=[other, entrance], digits=digits, at=later(2 * PERIOD_SECONDS)) == []


def test_digits_of_the_next_period_do_not_match_yet(entrance):
    digits = live_digits_make(entrance=entrance, at=later(PERIOD_SECONDS))
    assert live_digits_matches(entrances=[entrance], digits=digits, at=T0) == []


def test_digits_read_as_typed_with_spaces_or_a_dash():
    for typed in ("123456", "123 456", " 123-456 ", "12 34 56"):
        assert live_digits_normalise(typed) == "123456", typed
    for typed in ("", None, "12345", "1234567", "12345a", "١٢٣٤٥٦", "ABCDEFGH", "1" * 100):
        assert live_digits_normalise(typed) is None, typed


def test_digits_are_shown_in_two_groups_of_three():
    assert live_digits_grouped("123456") == "123 456"
