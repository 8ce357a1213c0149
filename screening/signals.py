"""Hooks through which screening asks about people without importing the visitors app (imports run one way).

The visitors app connects its receivers in its AppConfig.ready, as pretix plugins answer pretix's signals.
"""

from django.dispatch import Signal

# kwargs: since (datetime). Receivers return an iterable of NIK hashes of people seen since then, whose statuses
# Celery keeps warm besides staff.
status_refresh_people = Signal()

# kwargs: nik_hashes (list[str]). Receivers return {nik_hash: (nik, name)} for the people they can read the NIK of;
# used only to ask the upstream HTTP source, inside a worker, and never stored or logged.
status_people_resolve = Signal()

# kwargs: nik_hashes (list[str]). Sent from a worker after committed registry changes left these people black; the
# visitors app alerts the door of any office they are inside now (and Satgas).
health_statuses_now_black = Signal()
