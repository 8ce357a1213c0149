"""The Celery application; the beat schedule is defined here, in one place."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "denpasar_checkin.settings")

app = Celery("denpasar_checkin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work is added here by the apps' issues (status refresh, auto check-out, reconcile, purge).
app.conf.beat_schedule = {}
