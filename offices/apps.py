"""App configuration for offices: connects the audit entry for login lockouts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OfficesConfig(AppConfig):
    name = "offices"
    verbose_name = _("Offices")

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from .logins import lockout_audit

        user_locked_out.connect(lockout_audit, dispatch_uid="offices.lockout_audit")
