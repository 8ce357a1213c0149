"""Read side of the door console: event cards by id cursor, the pending queue, alerts, occupancy, people inside.

Everything here is for logged-in officers of the office: full names and the NIK's last four digits, which the
officer checks against the KTP. The anonymous side (phone pages, anonymous API) never reads from here.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from offices.models import Entrance, Office
from screening.selectors import effective_capacity, restriction_level_current
from screening.vocabulary import Colour, PersonKind, ScanAction
from visitors.messages import reason_label
from visitors.models import ScanEvent, Visit
from visitors.pending import pending_open, pending_open_q

EVENT_BATCH = 200
RECENT_EVENTS = 30
QUEUE_LIMIT = 50
INSIDE_LIMIT = 20
# The gauge turns amber from this share of the effective capacity.
NEAR_FULL_PERCENT = 80

HEADLINES = {
    "admitted": _("Admitted"),
    "pending": _("Officer check"),
    "denied": _("Denied"),
    "checked_out": _("Checked out"),
    "alert": ScanAction.STATUS_ALERT.label,
}

# A check-out and a status alert are headlined by what they are; a check-in by its outcome.
ACTION_HEADLINE_KEYS = {ScanAction.CHECKOUT: "checked_out", ScanAction.STATUS_ALERT: "alert"}

INSIDE_LABELS = {True: _("Still inside"), False: _("Not inside")}

GAUGE_STATES = {"over": _("Over capacity"), "full": _("Full"), "near": _("Nearly full")}

_CARD_FIELDS = (
    "id",
    "created_at",
    "action",
    "outcome",
    "reason",
    "colour",
    "kind",
    "alert",
    "dependants",
    "officer_id",
    "resolution",
    "alert_acknowledged_at",
    "person__name",
    "person__nik_last4",
)

# A scan that names nobody (a name that did not match its NIK) shows this instead of a name.
NO_NAME = "—"


# --- event cards -------------------------------------------------------------------------------------------------


def _children(count: int) -> str:
    if not count:
        return ""
    return ngettext("+%(n)d child", "+%(n)d children", count) % {"n": count}


def door_who(*, name: str | None, nik_last4: str = "") -> str:
    """How the officer's screens name someone in a sentence: 'I Made Wirawan · NIK …0001'."""
    who = name or NO_NAME
    return f"{who} · NIK …{nik_last4}" if nik_last4 else who


def _card(row: dict[str, Any]) -> dict[str, Any]:
    """One scan as the officer's screen shows it: the true outcome and reason, the full name and the NIK's last
    four digits (to check the KTP against); never the whole NIK."""
    at = timezone.localtime(row["created_at"])
    headline_key = {ScanAction.CHECKOUT: "checked_out", ScanAction.STATUS_ALERT: "alert"}.get(
        row["action"], row["outcome"]
    )
    return {
        "id": row["id"],
        "at": at.isoformat(),
        "time": at.strftime("%H:%M:%S"),
        "action": row["action"],
        "outcome": row["outcome"],
        "reason": row["reason"],
        "headline": str(HEADLINES.get(headline_key, headline_key)),
        "reason_label": str(reason_label(row["reason"])),
        "colour": row["colour"] or "",
        "colour_label": str(Colour(row["colour"]).label) if row["colour"] else "",
        "kind": row["kind"] or "",
        "kind_label": str(PersonKind(row["kind"]).label) if row["kind"] else "",
        "dependants": row["dependants"],
        "dependants_label": _children(row["dependants"]),
        "name": row["person__name"] or NO_NAME,
        "nik_last4": row["person__nik_last4"] or "",
        "alert": row["alert"],
        "by_officer": row["officer_id"] is not None,
        "resolution": row["resolution"],
        "acknowledged": row["alert_acknowledged_at"] is not None,
    }


def door_events_after(*, entrance_id: int, after: int, limit: int = EVENT_BATCH) -> list[dict[str, Any]]:
    """Events at an entrance with an id above the cursor, oldest first (the (entrance, id) index)."""
    rows = ScanEvent.objects.filter(entrance_id=entrance_id, id__gt=after).order_by("id").values(*_CARD_FIELDS)[:limit]
    return [_card(row) for row in rows]


def door_events_recent(*, entrance_id: int, limit: int = RECENT_EVENTS) -> list[dict[str, Any]]:
    """The last few events, oldest first, to fill a screen that has just opened."""
    rows = list(ScanEvent.objects.filter(entrance_id=entrance_id).order_by("-id").values(*_CARD_FIELDS)[:limit])
    return [_card(row) for row in reversed(rows)]


def door_cursor_latest(*, entrance_id: int) -> int:
    return ScanEvent.objects.filter(entrance_id=entrance_id).order_by("-id").values_list("id", flat=True).first() or 0


def door_scan_office_id(*, scan_event_id: int) -> int | None:
    """The office a scan happened at (whose officers may answer it), or None for an unknown scan."""
    return ScanEvent.objects.filter(pk=scan_event_id).values_list("office_id", flat=True).first()


def _today_start() -> datetime.datetime:
    # Yesterday's unanswered cases are people long gone; the queue starts fresh each local day.
    return timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))


def door_pending(*, entrance_id: int) -> list[dict[str, Any]]:
    """The cases still waiting at this door, oldest first: one past PENDING_EXPIRE_MINUTES, or whose person was
    admitted somewhere since, is gone at once (visitors.pending), without waiting for the sweep to close it."""
    rows = (
        pending_open(
            ScanEvent.objects.filter(entrance_id=entrance_id, created_at__gte=_today_start()), now=timezone.now()
        )
        .order_by("id")
        .values(*_CARD_FIELDS)[:QUEUE_LIMIT]
    )
    return [_card(row) for row in rows]


def door_alerts_open(*, entrance_id: int) -> list[dict[str, Any]]:
    """Unacknowledged alerts of today, each saying whether the person is inside the office now (same query)."""
    inside = Visit.objects.filter(
        person_id=OuterRef("person_id"), office_id=OuterRef("office_id"), checked_out_at__isnull=True
    )
    rows = (
        ScanEvent.objects.filter(
            entrance_id=entrance_id, alert=True, alert_acknowledged_at__isnull=True, created_at__gte=_today_start()
        )
        .annotate(inside=Exists(inside))
        .order_by("id")
        .values(*_CARD_FIELDS, "inside")[:QUEUE_LIMIT]
    )
    return [{**_card(row), "inside": row["inside"], "inside_label": str(INSIDE_LABELS[row["inside"]])} for row in rows]


# --- occupancy ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoorOccupancy:
    inside: int
    staff_inside: int
    visitors_inside: int
    capacity: int
    effective_capacity: int
    level: int
    level_name: str
    percentage: int
    state: str  # ok | near | full | over

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "level_text": self.level_text(), "state_text": self.state_text()}

    def level_text(self) -> str:
        if not self.level:
            return gettext("No restriction · %(cap)d places") % {"cap": self.capacity}
        return gettext("PPKM level %(level)d · %(pct)d%% of %(cap)d places") % {
            "level": self.level,
            "pct": self.percentage,
            "cap": self.capacity,
        }

    def state_text(self) -> str:
        return str(GAUGE_STATES.get(self.state, ""))


def gauge_state(*, inside: int, limit: int) -> str:
    if inside > limit:
        return "over"
    if inside >= limit:
        return "full"
    if inside * 100 >= limit * NEAR_FULL_PERCENT:
        return "near"
    return "ok"


def door_occupancy(*, office_id: int) -> DoorOccupancy:
    """Inside now against the effective capacity under today's restriction level (the same one check-in uses)."""
    office = (
        Office.objects.filter(pk=office_id)
        .values("capacity", "sector", "occupancy__staff_inside", "occupancy__visitors_inside")
        .get()
    )
    return _occupancy_of(office, level=restriction_level_current())


def _occupancy_of(office: dict[str, Any], *, level) -> DoorOccupancy:
    """An office row (capacity, sector, occupancy__*) under the restriction level in force."""
    percentage = level.percentage_for(office["sector"])
    limit = effective_capacity(capacity=office["capacity"], percentage=percentage)
    staff = office["occupancy__staff_inside"] or 0
    visitors = office["occupancy__visitors_inside"] or 0
    return DoorOccupancy(
        inside=staff + visitors,
        staff_inside=staff,
        visitors_inside=visitors,
        capacity=office["capacity"],
        effective_capacity=limit,
        level=level.level,
        level_name=level.name,
        percentage=percentage,
        state=gauge_state(inside=staff + visitors, limit=limit),
    )


def door_state(*, entrance_id: int, office_id: int) -> dict[str, Any]:
    """Everything on the screen that is not the feed: the gauge, the pending queue and the open alerts."""
    return {
        "occupancy": door_occupancy(office_id=office_id).as_dict(),
        "pending": door_pending(entrance_id=entrance_id),
        "alerts": door_alerts_open(entrance_id=entrance_id),
    }


# --- people inside (manual check-out) -------------------------------------------------------------------------


def door_people_inside(*, office_id: int, query: str = "", limit: int = INSIDE_LIMIT) -> list[dict[str, Any]]:
    """Adults inside the office (open visits only) whose name contains every word of the query: the full name and
    the NIK's last four digits, for the officer to check against the KTP."""
    visits = Visit.objects.filter(office_id=office_id, checked_out_at__isnull=True, guardian_visit__isnull=True)
    for word in query.split()[:5]:
        visits = visits.filter(person__name__icontains=word)
    rows = (
        visits.annotate(children=Count("dependant_visits", filter=Q(dependant_visits__checked_out_at__isnull=True)))
        .order_by("-checked_in_at")
        .values("id", "person__name", "person__nik_last4", "kind", "checked_in_at", "children")[:limit]
    )
    return [
        {
            "visit_id": row["id"],
            "name": row["person__name"] or NO_NAME,
            "nik_last4": row["person__nik_last4"],
            "kind": row["kind"],
            "kind_label": str(PersonKind(row["kind"]).label) if row["kind"] else "",
            "since": timezone.localtime(row["checked_in_at"]).strftime("%H:%M"),
            "dependants": row["children"],
            "dependants_label": _children(row["children"]),
        }
        for row in rows
    ]


# --- the door list (/door/): each entrance's live state at a glance ------------------------------------------------


def door_offices_occupancy(*, office_ids: set[int] | list[int]) -> dict[int, DoorOccupancy]:
    """door_occupancy for many offices in one query (and one read of today's level, through the check-in cache)."""
    level = restriction_level_current()
    rows = Office.objects.filter(pk__in=list(office_ids)).values(
        "pk", "capacity", "sector", "occupancy__staff_inside", "occupancy__visitors_inside"
    )
    return {office["pk"]: _occupancy_of(office, level=level) for office in rows}


def door_entrances_open_cases(*, entrance_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per entrance, today's pending cases and unacknowledged alerts (what door_state's queue and banner hold).

    One grouped query over the two small partial indexes' rows: only open cases match the filter.
    """
    pending = pending_open_q(now=timezone.now())
    alerts = Q(alert=True, alert_acknowledged_at__isnull=True)
    rows = (
        ScanEvent.objects.filter(entrance_id__in=entrance_ids, created_at__gte=_today_start())
        .filter(pending | alerts)
        .values("entrance_id")
        .annotate(pending=Count("id", filter=pending), alerts=Count("id", filter=alerts))
        .order_by()
    )
    counts = {entrance_id: {"pending": 0, "alerts": 0} for entrance_id in entrance_ids}
    for row in rows:
        counts[row["entrance_id"]] = {"pending": row["pending"], "alerts": row["alerts"]}
    return counts


def door_list_state(*, entrances: list[Entrance]) -> list[dict[str, Any]]:
    """The door list, office by office: each office's occupancy once, each entrance with its open cases."""
    occupancy = door_offices_occupancy(office_ids={entrance.office_id for entrance in entrances})
    cases = door_entrances_open_cases(entrance_ids=[entrance.pk for entrance in entrances])
    offices: dict[int, dict[str, Any]] = {}
    for entrance in entrances:
        group = offices.get(entrance.office_id)
        if group is None:
            group = offices[entrance.office_id] = {
                "office": entrance.office,
                "occupancy": occupancy[entrance.office_id],
                "entrances": [],
            }
        group["entrances"].append({"entrance": entrance, **cases[entrance.pk]})
    return list(offices.values())
