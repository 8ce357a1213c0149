"""Celery tasks of reports: thin wrappers that take ids and call one service each; all safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import notices


# Gateways fail for minutes at a time: retry with growing pauses (about 30 s to 15 min). A notice is marked once
# sent, so a retry or a redelivery (acks_late: a worker that died mid-way) does not send it again.
@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(notices.NoticeNotSent,),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=8,
)
def exposure_notice_send(notice_id: int) -> bool:
    return notices.exposure_notice_send(notice_id=notice_id)


# The safety net under exposure_notice_send: notices whose task was lost with the broker or gave up.
@shared_task(acks_late=True, ignore_result=True)
def exposure_notices_requeue() -> int:
    return notices.exposure_notices_requeue()
