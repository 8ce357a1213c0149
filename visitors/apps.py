"""App configuration for visitors."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitorsConfig(AppConfig):
    name = "visitors"
    verbose_name = _("Visitors")

    def ready(self) -> None:
        # Screening asks through its hooks; answering here keeps imports one way (visitors -> screening).
        from screening import signals

        from . import receivers

        signals.status_refresh_people.connect(receivers.recent_people, dispatch_uid="visitors.recent_people")
        signals.status_people_resolve.connect(receivers.people_resolve, dispatch_uid="visitors.people_resolve")
        signals.health_statuses_now_black.connect(
            receivers.statuses_now_black, dispatch_uid="visitors.statuses_now_black"
        )
