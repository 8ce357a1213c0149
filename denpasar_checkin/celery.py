"""The Celery application; the beat schedule is defined here, in one place."""

import logging
import os

from celery import Celery, Task
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "denpasar_checkin.settings")

logger = logging.getLogger(__name__)

app = Celery("denpasar_checkin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _every(task: str, *, seconds: float) -> dict:
    """A beat entry run every `seconds`; a run the worker did not start within that time is dropped, not piled up."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


app.conf.beat_schedule = {
    # Keep the status cache warm for staff and people seen in the last 14 days (and ask the upstream source again).
    "status-refresh": _every("screening.tasks.health_statuses_refresh", seconds=3600.0),
    # Close forgotten visits at the office's closing time (plus grace) or after the maximum stay.
    "auto-checkout": _every("visitors.tasks.visits_auto_checkout", seconds=300.0),
    # Counters against open visits; drift is fixed, logged and audited.
    "occupancy-reconcile": _every("visitors.tasks.occupancy_reconcile", seconds=900.0),
    # Satgas alerts not yet notified: every check-in alert (no request queues one), and status alerts whose own task
    # was lost or gave up.
    "scan-alerts-send": _every("visitors.tasks.scan_alerts_send", seconds=10.0),
    # Exposure notices still unsent to the WhatsApp/SMS gateway (task lost with the broker, or out of retries).
    "exposure-notices-requeue": _every("reports.tasks.exposure_notices_requeue", seconds=300.0),
    # Pending cases past PENDING_EXPIRE_MINUTES, or settled by an admission elsewhere, are closed and audited. The
    # door queue already hides them at read time; this keeps the records (and the queue's index) true.
    "pending-expire": _every("visitors.tasks.pending_expire", seconds=60.0),
    # UU PDP: personal data past RETENTION_DAYS, statuses not refreshed for STATUS_RETENTION_DAYS.
    "retention-purge": {
        "task": "visitors.tasks.retention_purge",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 6 * 3600},
    },
}

# A web request that queues work must not hang on a broker that is down: one quick retry, then give up.
_QUICK_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def task_registered(name: str) -> Task:
    """The task registered under `name`, importing every app's tasks module first if this process has not yet.

    Lets a module queue a task whose module builds on it, without importing that module (imports run one way).
    Raises KeyError for a name no app registers: a programming error, not an outage.
    """
    if name not in app.tasks:
        # Imports <app>.tasks of every installed app now, as a worker does at start (without its system checks).
        app.autodiscover_tasks(force=True)
    return app.tasks[name]


def task_enqueue(task: Task | str, /, **kwargs) -> bool:
    """Queue `task` (or the task registered under that name) with keyword arguments (ids and NIK hashes only).

    Meant for `transaction.on_commit` callbacks in web requests: when Redis is unreachable the request still
    succeeds and the loss is logged. Periodic tasks and the database remain the source of truth.
    """
    if isinstance(task, str):
        task = task_registered(task)
    try:
        task.apply_async(kwargs=kwargs, retry=True, retry_policy=_QUICK_RETRY)
    except Exception:
        logger.warning("could not queue %s", task.name, exc_info=True)
        return False
    return True
