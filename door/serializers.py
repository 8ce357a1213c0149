"""REST API shapes of the door console: an officer's decision on a pending scan, and a scan as the screen shows it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from screening.vocabulary import Outcome
from visitors.serializers import TextField

REASON_MAX_LENGTH = 500


class DecisionRequestSerializer(serializers.Serializer):
    """`{"decision": "approve"|"deny", "reason"?}`; a deny must say why (it goes to the audit log and the scan)."""

    decision = serializers.ChoiceField(choices=["approve", "deny"])
    reason = TextField(
        required=False,
        allow_blank=True,
        max_length=REASON_MAX_LENGTH,
        help_text=_("Why: required to deny, an optional note to approve."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["reason"] = attrs.get("reason", "").strip()
        if attrs["decision"] == "deny" and not attrs["reason"]:
            raise serializers.ValidationError({"reason": [_("Give a reason.")]}, code="required")
        return attrs


class DoorEventSerializer(serializers.Serializer):
    """One scan as the door screen shows it (documentation of the answer; the selector builds the dicts)."""

    id = serializers.IntegerField(help_text=_("The ScanEvent id: the cursor for the next call's `after`."))
    at = serializers.DateTimeField()
    time = serializers.CharField(help_text=_("Local time, HH:MM:SS."))
    action = serializers.ChoiceField(choices=["checkin", "checkout"])
    outcome = serializers.ChoiceField(choices=[o.value for o in Outcome])
    reason = serializers.CharField(help_text=_("A stable reason code."))
    headline = serializers.CharField()
    reason_label = serializers.CharField(help_text=_("The reason in words, in the request's language."))
    colour = serializers.CharField(allow_blank=True)
    colour_label = serializers.CharField(allow_blank=True)
    kind = serializers.CharField(allow_blank=True)
    kind_label = serializers.CharField(allow_blank=True)
    dependants = serializers.IntegerField()
    name = serializers.CharField(
        help_text=_("The person's full name (officers only), or a dash for a scan that names nobody.")
    )
    nik_last4 = serializers.CharField(
        allow_blank=True, help_text=_("The NIK's last four digits, to check against the KTP; never the whole NIK.")
    )
    alert = serializers.BooleanField()
    by_officer = serializers.BooleanField()
    resolution = serializers.CharField(allow_blank=True, help_text=_("approved or denied, once a case is answered."))
    acknowledged = serializers.BooleanField()
