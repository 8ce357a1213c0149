"""The words of a scan, defined once with their labels: colour, case status, outcome, reason, kind, action.

The decision, the models' choices and constraints, the API and every screen use these; the stored values are the
stable strings of the public API, the labels are what an officer reads.
"""

from __future__ import annotations

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Colour(TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")
    BLACK = "black", _("Black")
    UNKNOWN = "unknown", _("Unknown")


class CaseStatus(TextChoices):
    NONE = "none", _("None")
    POSITIVE = "positive", _("Positive")
    CLOSE_CONTACT = "close_contact", _("Close contact")


class Outcome(TextChoices):
    """The true outcome of a scan, for the record and for officers."""

    ADMITTED = "admitted", _("Admitted")
    PENDING = "pending", _("Pending")
    DENIED = "denied", _("Denied")


class PublicOutcome(TextChoices):
    """What anyone who is not an officer of that office sees: every health-based result is see_officer."""

    ADMITTED = "admitted", _("Admitted")
    SEE_OFFICER = "see_officer", _("See the officer")
    DENIED = "denied", _("Denied")


class Reason(TextChoices):
    OK = "ok", _("Admitted")
    CAPACITY_FULL = "capacity_full", _("Office is at its limit")
    NOT_VACCINATED = "not_vaccinated", _("Not vaccinated (red)")
    PARTIALLY_VACCINATED = "partially_vaccinated", _("First dose only (yellow): re-check")
    ISOLATION = "isolation", _("Positive case or close contact (black): isolation not over")
    STATUS_UNKNOWN = "status_unknown", _("Status unknown or name does not match: check identity")
    ENTRANCE_CLOSED = "entrance_closed", _("Entrance closed")
    ALREADY_INSIDE = "already_inside", _("Already inside")
    CHECKED_OUT = "checked_out", _("Checked out")
    SEE_OFFICER = "see_officer", _("See the officer")


# see_officer is only ever an answer to an anonymous caller; a stored scan always keeps its true reason.
STORED_REASONS: tuple[Reason, ...] = tuple(reason for reason in Reason if reason != Reason.SEE_OFFICER)

HEALTH_REASONS: frozenset[Reason] = frozenset(
    {Reason.NOT_VACCINATED, Reason.PARTIALLY_VACCINATED, Reason.ISOLATION, Reason.STATUS_UNKNOWN}
)


class PersonKind(TextChoices):
    STAFF = "staff", _("Staff")
    VISITOR = "visitor", _("Visitor")


class ScanAction(TextChoices):
    CHECKIN = "checkin", _("Check-in")
    CHECKOUT = "checkout", _("Check-out")
    # Not a scan at the door: the registry turned someone black while they were inside.
    STATUS_ALERT = "alert", _("Status alert")
