"""Alerts to Satgas (the health task force): e-mail through Django's mail settings and an optional webhook.

Messages carry the office, the entrance, the time and the masked NIK, never the NIK itself, plus a link into
admin where a logged-in Satgas member sees the rest.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

SENT_MARK_TTL = 7 * 24 * 3600  # redelivered or retried tasks within a week do not send the same alert twice


class AlertNotSent(Exception):
    """One or more channels failed; the task retries, and channels that succeeded are not repeated."""


@dataclass(frozen=True, slots=True)
class SatgasAlert:
    key: str  # stable per alert (e.g. the scan event id): sending is idempotent per key and channel
    kind: str  # "checkin": a black status at the door; "inside": someone inside turned black
    office_id: int
    office_name: str
    entrance_name: str
    at: datetime.datetime
    nik_masked: str
    person_kind: str
    url: str

    def as_payload(self) -> dict:
        return {
            "type": "health_status_black",
            "kind": self.kind,
            "key": self.key,
            "office": {"id": self.office_id, "name": self.office_name},
            "entrance": self.entrance_name,
            "at": self.at.isoformat(),
            "nik_masked": self.nik_masked,
            "person_kind": self.person_kind,
            "url": self.url,
        }


def _email_send(alert: SatgasAlert) -> None:
    when = timezone.localtime(alert.at).strftime("%Y-%m-%d %H:%M")
    if alert.kind == "inside":
        subject = _("Black health status inside %(office)s") % {"office": alert.office_name}
        lead = _("Someone who is inside the office now has turned black (positive case or close contact).")
    else:
        subject = _("Black health status at the door of %(office)s") % {"office": alert.office_name}
        lead = _("A person with a black health status (positive case or close contact) scanned at the door.")
    body = "\n".join(
        [
            str(lead),
            "",
            f"{_('Office')}: {alert.office_name}",
            f"{_('Entrance')}: {alert.entrance_name}",
            f"{_('Time')}: {when}",
            f"NIK: {alert.nik_masked}",
            f"{_('Kind')}: {alert.person_kind}",
            "",
            f"{_('Details (login required)')}: {alert.url}",
        ]
    )
    send_mail(f"[Denpasar Check-in] {subject}", body, settings.DEFAULT_FROM_EMAIL, settings.SATGAS_ALERT_EMAILS)


def webhook_post(
    *,
    url: str,
    payload: dict,
    token: str = "",
    timeout: float = 5.0,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """POST JSON, retrying timeouts, connection errors, 5xx, 408 and 429 with exponential backoff; raises
    AlertNotSent when every attempt failed or the receiver refused the request (other 4xx)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise AlertNotSent("the webhook URL must be http or https")
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "denpasar-checkin"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for attempt in range(max(1, attempts)):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
                if 200 <= response.status < 300:
                    return
                reason = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500 and error.code not in (408, 429):
                raise AlertNotSent(f"webhook refused the alert: HTTP {error.code}") from None
            reason = f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            reason = type(error).__name__
        logger.warning("alert webhook attempt %d failed: %s", attempt + 1, reason)
        if attempt < attempts - 1:
            sleep(backoff * (2**attempt))
    raise AlertNotSent(f"webhook failed after {attempts} attempts")


def _once(mark: str, send: Callable[[], None]) -> bool:
    """Send unless this mark was already set; unset it again when sending fails, so a retry sends."""
    try:
        if not cache.add(mark, 1, timeout=SENT_MARK_TTL):
            return False
    except Exception:
        logger.warning("cache unavailable: alert sent without duplicate check", exc_info=True)
        send()
        return True
    try:
        send()
    except Exception:
        try:
            cache.delete(mark)
        except Exception:
            logger.warning("cache unavailable: could not clear the alert mark", exc_info=True)
        raise
    return True


def satgas_alert_configured() -> bool:
    """Whether any Satgas channel (e-mail, webhook) is configured, i.e. whether an alert has anything to send."""
    return bool(settings.SATGAS_ALERT_EMAILS or settings.ALERT_WEBHOOK_URL)


def satgas_alert_send(*, alert: SatgasAlert) -> dict[str, bool]:
    """Send the alert on every configured channel, each at most once per alert key.

    Returns which channels sent now; raises AlertNotSent if any failed (after trying all of them).
    """
    sent = {"email": False, "webhook": False}
    failures: list[str] = []
    channels: list[tuple[str, Callable[[], None]]] = []
    if settings.SATGAS_ALERT_EMAILS:
        channels.append(("email", lambda: _email_send(alert)))
    if settings.ALERT_WEBHOOK_URL:
        channels.append(
            (
                "webhook",
                lambda: webhook_post(
                    url=settings.ALERT_WEBHOOK_URL,
                    payload=alert.as_payload(),
                    token=settings.ALERT_WEBHOOK_TOKEN,
                    timeout=settings.ALERT_WEBHOOK_TIMEOUT,
                ),
            )
        )
    for channel, send in channels:
        try:
            sent[channel] = _once(f"alert:v1:{channel}:{alert.key}", send)
        except Exception as error:
            logger.warning("Satgas alert by %s failed: %s", channel, type(error).__name__)
            failures.append(channel)
    if failures:
        raise AlertNotSent(f"not sent by: {', '.join(failures)}")
    return sent
