"""Exposure notices: Satgas tells the contacts of a positive case (gateway webhook, remembered phone), never who.

A notice is a row first (once per contact per case, under the unique constraint) and a gateway message second:
one Celery task per notice after commit, marked sent on a 2xx, and a beat sweep that re-queues the ones a lost
broker or an exhausted retry left unsent.
"""

from __future__ import annotations

import datetime
import functools
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.celery import task_enqueue
from offices.services import audit_record
from screening.notifications import AlertNotSent, webhook_post
from visitors.models import Device, ExposureCase, ExposureNotice, Person

from .models import ExposureAdvice
from .selectors import ExposureContact, local_midnight
from .services import exposure_person_or_miss, exposure_report_run

logger = logging.getLogger(__name__)

SEND_TASK = "reports.tasks.exposure_notice_send"
WEBHOOK_TIMEOUT = 5.0  # seconds per attempt; the task's own retries cover longer outages
# The sweep leaves a fresh notice to the task queued with it for this long, gives up on notices older than
# RESEND_WINDOW (news that late helps nobody) or tried RESEND_MAX_ATTEMPTS times, and re-queues RESEND_BATCH a run.
RESEND_GRACE = datetime.timedelta(minutes=2)
RESEND_WINDOW = datetime.timedelta(days=3)
RESEND_MAX_ATTEMPTS = 20
RESEND_BATCH = 200

ADVICE_DEFAULT = _(
    "Satgas COVID-19 Kota Denpasar: on {date} between {from} and {until} WITA you were at {office} at the same time "
    "as a person who has since tested positive for COVID-19. Watch your health for 14 days and wear a mask. If you "
    "get a fever, a cough, or lose your sense of taste or smell, stay at home and contact the nearest puskesmas or "
    "call 119."
)


class NoticeNotSent(Exception):
    """The gateway did not take the notice; the task retries with backoff."""


@dataclass(frozen=True, slots=True)
class ExposureNotifyResult:
    case_id: int
    notified: int  # notices created now
    already: int  # contacts told before, for this case
    unreachable: int  # contacts with neither a phone nor a remembered device: no notice


def exposure_advice_text() -> str:
    """The notice text Satgas set in admin, or the built-in one."""
    text = ExposureAdvice.objects.values_list("text", flat=True).first()
    return text if text and text.strip() else str(ADVICE_DEFAULT)


def notice_message(*, advice: str, office: str, window_from: datetime.datetime, window_until: datetime.datetime) -> str:
    """The advice with the day, office and window filled in (local time). Plain replacement, so a brace typed by
    Satgas cannot break it."""
    start, end = timezone.localtime(window_from), timezone.localtime(window_until)
    until = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%d/%m/%Y %H:%M")
    values = {"{date}": start.strftime("%d/%m/%Y"), "{office}": office, "{from}": start.strftime("%H:%M")}
    values["{until}"] = until
    for placeholder, value in values.items():
        advice = advice.replace(placeholder, value)
    return advice


def _first_per_contact(contacts: list[ExposureContact]) -> list[ExposureContact]:
    """One row per contact: the first overlap (contacts come ordered first contact first)."""
    first: dict[int, ExposureContact] = {}
    for contact in contacts:
        first.setdefault(contact.person_id, contact)
    return list(first.values())


def exposure_notify(
    *,
    actor: AbstractBaseUser | None,
    person: Person,
    since: datetime.date | None,
    now: datetime.datetime,
    channel: str,
) -> ExposureNotifyResult:
    """Tell every contact of `person` since `since` (default: two days before the positive test) once per case.

    The case is (person, start of the `since` day); sending again finds it and skips contacts already told. A
    contact with a phone is sent to the gateway (after commit, when NOTIFY_WEBHOOK_URL is set); one with a
    remembered device sees the notice on their next check-in page. Audited once, with counts and never a NIK.
    Raises ExposureSinceRequired like the report.
    """
    report = exposure_report_run(person=person, since=since, now=now)
    contacts = _first_per_contact(report.contacts)
    devices = set(
        Device.objects.filter(person_id__in=[c.person_id for c in contacts]).values_list("person_id", flat=True)
    )
    advice = exposure_advice_text()
    to_send: list[int] = []
    notified = already = unreachable = 0
    with transaction.atomic():
        case = _case_for(person=person, window_from=local_midnight(report.since), now=now, actor=actor)
        told = set(ExposureNotice.objects.filter(case=case).values_list("person_id", flat=True))
        for contact in contacts:
            phone = (contact.phone or "")[:20]
            if contact.person_id in told:
                already += 1
            elif not phone and contact.person_id not in devices:
                unreachable += 1
            elif (notice := _notice_create(case=case, contact=contact, phone=phone, advice=advice, now=now)) is None:
                already += 1
            else:
                notified += 1
                if notice.phone:
                    to_send.append(notice.pk)
        result = ExposureNotifyResult(case_id=case.pk, notified=notified, already=already, unreachable=unreachable)
        audit_record(
            actor=actor,
            action="exposure.notified",
            obj=case,
            detail={
                "case_id": case.pk,
                "person_id": person.pk,
                "since": report.since.isoformat(),
                "until": now.isoformat(),
                "notified": notified,
                "already": already,
                "unreachable": unreachable,
                "channel": channel,
            },
        )
        if settings.NOTIFY_WEBHOOK_URL:
            for notice_id in to_send:
                transaction.on_commit(functools.partial(task_enqueue, SEND_TASK, notice_id=notice_id))
    return result


def _case_for(
    *, person: Person, window_from: datetime.datetime, now: datetime.datetime, actor: AbstractBaseUser | None
) -> ExposureCase:
    """The case of (person, window start), made now or found again; a later send stretches its window to now."""
    case, created = ExposureCase.objects.get_or_create(
        case_person=person,
        window_from=window_from,
        defaults={
            "window_until": now,
            "created_at": now,
            "created_by": actor if actor is not None and actor.is_authenticated else None,
        },
    )
    if not created and case.window_until < now:
        ExposureCase.objects.filter(pk=case.pk, window_until__lt=now).update(window_until=now)
    return case


def _notice_create(
    *, case: ExposureCase, contact: ExposureContact, phone: str, advice: str, now: datetime.datetime
) -> ExposureNotice | None:
    """The contact's notice for this case, or None when it already existed (a concurrent send of the same case)."""
    # get_or_create under the unique (case, person): a concurrent send of the same case creates it once.
    notice, made = ExposureNotice.objects.get_or_create(
        case=case,
        person_id=contact.person_id,
        defaults={
            "office_id": contact.office_id,
            "window_from": contact.first_overlap_at,
            "window_until": contact.last_overlap_at,
            "phone": phone,
            "message": notice_message(
                advice=advice,
                office=contact.office,
                window_from=contact.first_overlap_at,
                window_until=contact.last_overlap_at,
            ),
            "created_at": now,
        },
    )
    return notice if made else None


def exposure_notify_by_nik(
    *,
    actor: AbstractBaseUser | None,
    nik: str,
    name: str,
    since: datetime.date | None,
    now: datetime.datetime,
    channel: str,
) -> ExposureNotifyResult:
    """exposure_notify for the person with this (validated) NIK and name; a miss is audited (masked NIK only).

    Raises ExposurePersonNotFound or ExposureSinceRequired.
    """
    person = exposure_person_or_miss(actor=actor, nik=nik, name=name, action="exposure.notified", channel=channel)
    return exposure_notify(actor=actor, person=person, since=since, now=now, channel=channel)


def notice_payload(notice: ExposureNotice) -> dict:
    """What the gateway gets: the contact's phone and the message, office, day and window; nothing of the case."""
    start, end = timezone.localtime(notice.window_from), timezone.localtime(notice.window_until)
    return {
        "kind": "exposure",
        "phone": notice.phone,
        "message": notice.message,
        "office": notice.office.name,
        "date": start.date().isoformat(),
        "window": {"from": start.isoformat(), "until": end.isoformat()},
    }


def exposure_notice_send(*, notice_id: int) -> bool:
    """POST one notice to the gateway unless it was sent already; True when it went out now.

    The row stays locked while the gateway answers, so the task and a re-queued copy never both send it; a worker
    that skips a locked row leaves it to the one sending. Every try counts in webhook_attempts; raises NoticeNotSent
    when the gateway did not take it.
    """
    url = settings.NOTIFY_WEBHOOK_URL
    if not url:
        return False
    with transaction.atomic():
        notice = (
            ExposureNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("office")
            .filter(pk=notice_id, webhook_sent_at__isnull=True)
            .exclude(phone="")
            .first()
        )
        if notice is None:
            return False  # gone, sent, no phone, or being sent by another worker right now
        failure = ""
        try:
            webhook_post(
                url=url, payload=notice_payload(notice), token=settings.NOTIFY_WEBHOOK_TOKEN, timeout=WEBHOOK_TIMEOUT
            )
        except AlertNotSent as error:
            failure = str(error)
        ExposureNotice.objects.filter(pk=notice.pk).update(
            webhook_attempts=F("webhook_attempts") + 1, webhook_sent_at=None if failure else timezone.now()
        )
    if failure:
        raise NoticeNotSent(failure)
    return True


def exposure_notices_requeue(*, now: datetime.datetime | None = None) -> int:
    """Queue a send task again for each notice with a phone still unsent (Celery beat): the broker lost it, or its
    retries ran out while the gateway was down. Sending is idempotent, so a copy still in the queue costs nothing."""
    if not settings.NOTIFY_WEBHOOK_URL:
        return 0
    now = now or timezone.now()
    pending = (
        ExposureNotice.objects.filter(
            webhook_sent_at__isnull=True,
            webhook_attempts__lt=RESEND_MAX_ATTEMPTS,
            created_at__gte=now - RESEND_WINDOW,
            created_at__lte=now - RESEND_GRACE,
        )
        .exclude(phone="")
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:RESEND_BATCH]
    )
    return sum(1 for notice_id in list(pending) if task_enqueue(SEND_TASK, notice_id=notice_id))
