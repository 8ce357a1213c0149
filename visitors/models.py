"""People who scan, their visits, every scan event, and remembered devices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from offices.models import Entrance, Office
from screening.vocabulary import STORED_REASONS, Colour, Outcome, PersonKind, Reason, ScanAction


class Person(models.Model):
    nik_hash = models.CharField(_("NIK hash"), max_length=80, unique=True, editable=False)
    nik_encrypted = models.TextField(_("encrypted NIK"), editable=False)
    nik_masked = models.CharField(_("NIK"), max_length=16, editable=False)
    # The officer checks the KTP against these digits at the door; kept in the clear so screens never decrypt.
    nik_last4 = models.CharField(_("NIK's last four digits"), max_length=4, blank=True, default="", editable=False)
    name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.nik_masked})"


class ClosedBy(models.TextChoices):
    PERSON = "person", _("Person")
    OFFICER = "officer", _("Officer")
    SYSTEM = "system", _("System")


class Visit(models.Model):
    # Foreign keys covered by a composite index below (or a partial one, when mostly empty) have no index of their
    # own: every index is one more write per check-in.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="visits", verbose_name=_("person"), db_index=False
    )
    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="visits", verbose_name=_("office"), db_index=False
    )
    entrance_in = models.ForeignKey(
        Entrance, on_delete=models.PROTECT, related_name="visits_in", verbose_name=_("entrance in")
    )
    entrance_out = models.ForeignKey(
        Entrance,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits_out",
        verbose_name=_("entrance out"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=8, choices=PersonKind.choices)
    guardian_visit = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="dependant_visits",
        verbose_name=_("accompanying adult's visit"),
        db_index=False,
    )
    # The phone given with this check-in: contact tracing reaches people through the visit that overlapped.
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    closed_by = models.CharField(_("closed by"), max_length=8, choices=ClosedBy.choices, blank=True)
    closed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by officer"),
        db_index=False,
    )

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-checked_in_at"]
        constraints = [
            # A person is inside at most one office at a time; the gate relies on this to stay race-free.
            models.UniqueConstraint(
                fields=["person"], condition=Q(checked_out_at__isnull=True), name="visit_one_open_per_person"
            ),
            models.CheckConstraint(condition=Q(kind__in=[c.value for c in PersonKind]), name="visit_kind_valid"),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=F("checked_in_at")),
                name="visit_out_after_in",
            ),
            # Open visits have no closer; closed ones always say who closed them.
            models.CheckConstraint(
                condition=(Q(checked_out_at__isnull=True) & Q(closed_by=""))
                | (Q(checked_out_at__isnull=False) & Q(closed_by__in=[c.value for c in ClosedBy])),
                name="visit_closed_by_consistent",
            ),
        ]
        indexes = [
            # Occupancy, reconciliation and exposure overlap queries scan an office's visits by time.
            models.Index(fields=["office", "checked_in_at"], name="visit_office_in_idx"),
            models.Index(fields=["office", "checked_out_at"], name="visit_office_out_idx"),
            models.Index(fields=["office"], condition=Q(checked_out_at__isnull=True), name="visit_open_by_office_idx"),
            models.Index(fields=["person", "checked_in_at"], name="visit_person_in_idx"),
            # Mostly empty references: only the rows that have one are indexed (deletes of the target find them).
            models.Index(
                fields=["entrance_out"], condition=Q(entrance_out__isnull=False), name="visit_entrance_out_idx"
            ),
            models.Index(
                fields=["guardian_visit"], condition=Q(guardian_visit__isnull=False), name="visit_guardian_idx"
            ),
            models.Index(
                fields=["closed_by_user"], condition=Q(closed_by_user__isnull=False), name="visit_closed_by_user_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.office}"

    @property
    def is_open(self) -> bool:
        return self.checked_out_at is None


class Resolution(models.TextChoices):
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    # Nobody answered within PENDING_EXPIRE_MINUTES, or the person was admitted somewhere since (visitors.pending).
    EXPIRED = "expired", _("Expired")


class ScanEvent(models.Model):
    """Every scan, admitted or not; the door screen, reports and audits all read this table."""

    # As on Visit: no index of their own for keys covered by a composite or partial index below.
    entrance = models.ForeignKey(
        Entrance, on_delete=models.PROTECT, related_name="scan_events", verbose_name=_("entrance"), db_index=False
    )
    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="scan_events", verbose_name=_("office"), db_index=False
    )
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="scan_events", verbose_name=_("person")
    )
    visit = models.ForeignKey(
        Visit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scan_events",
        verbose_name=_("visit"),
        db_index=False,
    )
    action = models.CharField(_("action"), max_length=8, choices=ScanAction.choices, default=ScanAction.CHECKIN)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices)
    colour = models.CharField(_("colour"), max_length=8, choices=Colour.choices, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=PersonKind.choices, blank=True)
    alert = models.BooleanField(_("alert"), default=False)
    dependants = models.PositiveSmallIntegerField(_("dependants"), default=0)
    # The children who came with a pending adult: an officer's approval lets them in together.
    dependant_people = models.ManyToManyField(
        Person, blank=True, related_name="+", verbose_name=_("children with this person")
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scan_events",
        verbose_name=_("officer"),
        db_index=False,
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    nonce = models.CharField(_("nonce"), max_length=64, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("time"), db_index=True)
    # The door officer's answer to a pending scan; the answer itself is a new ScanEvent, this closes the case.
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
        db_index=False,
    )
    resolution = models.CharField(_("resolution"), max_length=8, choices=Resolution.choices, blank=True)
    resolution_note = models.CharField(_("resolution note"), max_length=500, blank=True)
    alert_acknowledged_at = models.DateTimeField(_("alert acknowledged at"), null=True, blank=True)
    # Set once every configured Satgas channel (e-mail, webhook) has sent this alert; the resend sweep looks for
    # alerts without it (their task was lost with the broker, or ran out of retries).
    notified_at = models.DateTimeField(_("Satgas notified at"), null=True, blank=True, editable=False)
    alert_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("alert acknowledged by"),
        db_index=False,
    )

    class Meta:
        verbose_name = _("scan event")
        verbose_name_plural = _("scan events")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["nonce"], condition=Q(nonce__isnull=False), name="scan_nonce_unique"),
            models.CheckConstraint(condition=Q(outcome__in=[c.value for c in Outcome]), name="scan_outcome_valid"),
            models.CheckConstraint(condition=Q(reason__in=[c.value for c in STORED_REASONS]), name="scan_reason_valid"),
            models.CheckConstraint(condition=Q(action__in=[c.value for c in ScanAction]), name="scan_action_valid"),
            # An open case has no answer; a resolved one always says which.
            models.CheckConstraint(
                condition=(Q(resolved_at__isnull=True) & Q(resolution=""))
                | (Q(resolved_at__isnull=False) & Q(resolution__in=[c.value for c in Resolution])),
                name="scan_resolution_consistent",
            ),
        ]
        indexes = [
            # The door screen follows one entrance by id cursor.
            models.Index(fields=["entrance", "id"], name="scan_entrance_cursor_idx"),
            models.Index(fields=["office", "created_at"], name="scan_office_time_idx"),
            # Reports count denied and pending scans per office and day; the admitted majority stays out of it,
            # so the index is small and check-ins that pass do not write to it.
            models.Index(
                fields=["office", "created_at"],
                condition=Q(outcome__in=[Outcome.DENIED, Outcome.PENDING]),
                name="scan_office_problem_idx",
            ),
            # The door screen's queue and alert banner: small partial indexes, only open cases are in them.
            models.Index(
                fields=["entrance", "id"],
                condition=Q(outcome="pending", resolved_at__isnull=True),
                name="scan_pending_queue_idx",
            ),
            models.Index(
                fields=["entrance", "id"],
                condition=Q(alert=True, alert_acknowledged_at__isnull=True),
                name="scan_open_alert_idx",
            ),
            # The Satgas resend sweep: alerts not yet notified, by time (empty once every alert went out).
            models.Index(
                fields=["created_at"],
                condition=Q(alert=True, notified_at__isnull=True),
                name="scan_alert_unnotified_idx",
            ),
            # Mostly empty references: only the rows that have one are indexed (deletes of the target find them).
            models.Index(fields=["visit"], condition=Q(visit__isnull=False), name="scan_visit_idx"),
            models.Index(fields=["officer"], condition=Q(officer__isnull=False), name="scan_officer_idx"),
            models.Index(fields=["resolved_by"], condition=Q(resolved_by__isnull=False), name="scan_resolved_by_idx"),
            models.Index(
                fields=["alert_acknowledged_by"],
                condition=Q(alert_acknowledged_by__isnull=False),
                name="scan_alert_acknowledged_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.outcome}/{self.reason}"


class Device(models.Model):
    """A remembered phone: the cookie holds a random token, we keep only its hash."""

    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="devices", verbose_name=_("person"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("remembered device")
        verbose_name_plural = _("remembered devices")

    def __str__(self) -> str:
        return f"{self.person} device {self.pk}"


class ExposureCase(models.Model):
    """A positive case Satgas told its contacts about: each contact is told once; while the case is open, their
    visits inside its window are kept past a deletion request (until the retention period ends them)."""

    case_person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("case")
    )
    window_from = models.DateTimeField(_("window from"))
    window_until = models.DateTimeField(_("window until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"))
    # Open while empty; the retention purge deletes a case (and its notices) once its window is past retention.
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("exposure case")
        verbose_name_plural = _("exposure cases")
        constraints = [
            # Sending again for the same case and window finds this row: the contacts already told are skipped.
            models.UniqueConstraint(fields=["case_person", "window_from"], name="exposure_case_once_per_window"),
            models.CheckConstraint(condition=Q(window_until__gte=F("window_from")), name="exposure_case_window"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.window_from:%Y-%m-%d}"


class NoticeChannel(models.TextChoices):
    WEBHOOK = "webhook", _("WhatsApp/SMS gateway")
    DEVICE = "device", _("Remembered phone")


class ExposureNotice(models.Model):
    """One contact told about one case: the office, date and time window they shared, never who the case is."""

    case = models.ForeignKey(ExposureCase, on_delete=models.CASCADE, related_name="notices", verbose_name=_("case"))
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="exposure_notices", verbose_name=_("contact")
    )
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+", verbose_name=_("office"))
    window_from = models.DateTimeField(_("shared from"))
    window_until = models.DateTimeField(_("shared until"))
    # The phone given with the overlapping visit, for the gateway; empty: only the remembered phone can tell them.
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    message = models.TextField(_("message"))
    created_at = models.DateTimeField(_("created at"))
    webhook_sent_at = models.DateTimeField(_("sent to the gateway at"), null=True, blank=True)
    webhook_attempts = models.PositiveSmallIntegerField(_("gateway attempts"), default=0)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("exposure notice")
        verbose_name_plural = _("exposure notices")
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="exposure_notice_once_per_contact"),
        ]
        indexes = [
            # The check-in pages of a remembered phone look for its person's unacknowledged notices.
            models.Index(fields=["person"], condition=Q(acknowledged_at__isnull=True), name="notice_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"notice #{self.pk} case {self.case_id}"
