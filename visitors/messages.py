"""The words shown for each outcome and reason code: one table, used by the pages, the API and the door screen."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from screening.vocabulary import Reason

# What anyone who is not a logged-in officer sees. Every health-based result shares the see_officer words, so
# a phone (or a stranger holding someone's NIK) can never tell yellow from red from black from unknown.
PUBLIC_MESSAGES = {
    ("admitted", "ok"): _("Welcome. You may enter."),
    ("admitted", "already_inside"): _("You are already checked in here. Leaving? Check out below."),
    ("admitted", "checked_out"): _("You have checked out. Thank you for your visit."),
    # One text for every referral: it keeps the queue safe whatever the reason, and tells a case nothing new.
    ("see_officer", "see_officer"): _(
        "Please wait outside, keep your distance and wear a mask: the officer at the door will call you."
    ),
    ("denied", "capacity_full"): _("The office is full right now. Please wait outside and try again shortly."),
    # The officer's answer to a referral, the same for every reason.
    ("denied", "not_admitted"): _("You are not admitted today. Please ask the officer at the door."),
    # A referral nobody answered within PENDING_EXPIRE_MINUTES: the same words whatever the reason was.
    ("denied", "pending_expired"): _("This check-in has expired. Please scan the poster at the door again."),
    ("denied", "entrance_closed"): _("This entrance is closed. Please use another entrance."),
}


# What a referred visitor should have in hand when the officer calls them (shown under the referral text).
REFERRAL_READY = _("Have ready: your KTP and your vaccination certificate.")


def public_message(outcome: str, reason: str) -> str:
    return str(PUBLIC_MESSAGES.get((outcome, reason), PUBLIC_MESSAGES[("see_officer", "see_officer")]))


def reason_label(reason: str) -> str:
    """The true reason in words, for logged-in officers only."""
    return str(Reason(reason).label) if reason in Reason.values else reason


# Refusals at an entrance that accepts only the live QR on the door screen (keyed by the live check's reason).
LIVE_CODE_TITLES = {
    "expired": _("This QR code has expired"),
    "invalid": _("Scan the code on the door screen"),
}
LIVE_CODE_MESSAGES = {
    "expired": _("This QR code has expired. Please scan the code on the screen at the door again."),
    "invalid": _(
        "This entrance accepts only the QR code shown on the screen at the door. Please scan the code on the screen."
    ),
}


def live_code_refusal(reason: str) -> tuple[str, str, str]:
    """(code, title, text) for a refused live check; anything but "expired" reads as invalid."""
    key = "expired" if reason == "expired" else "invalid"
    return f"live_code_{key}", str(LIVE_CODE_TITLES[key]), str(LIVE_CODE_MESSAGES[key])
