"""Work queued after the response runs once the server closes the response, never before the answer is built."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.signals import request_finished, request_started

from denpasar_checkin.after_response import after_response
from tests.factories import EntranceFactory, HealthStatusFactory, nik_make


def test_outside_a_request_the_work_runs_at_once():
    done = []
    after_response(lambda: done.append(1))
    assert done == [1]


def test_inside_a_request_the_work_waits_for_the_close_and_runs_once():
    done = []
    request_started.send(sender=None)
    after_response(lambda: done.append("first"))
    after_response(lambda: done.append("second"))
    assert done == []
    request_finished.send(sender=None)
    request_finished.send(sender=None)
    assert done == ["first", "second"]


def test_a_failing_piece_of_work_does_not_stop_the_rest(caplog):
    done = []
    request_started.send(sender=None)
    after_response(lambda: 1 / 0)
    after_response(lambda: done.append(1))
    request_finished.send(sender=None)
    assert done == [1]
    assert "work after the response failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_black_checkin_tells_satgas_only_after_its_answer_has_gone_out(settings, celery_eager, served):
    settings.SATGAS_ALERT_EMAILS = ["satgas@denpasarkota.go.id"]
    HealthStatusFactory(
        nik=nik_make(7), name="Orang Sakit", case_status="positive", isolated_until="2099-01-01", doses=2
    )

    response = served(
        "/api/v1/checkins/", {"entrance": EntranceFactory().code, "nik": nik_make(7), "name": "Orang Sakit"}
    )

    assert json.loads(response.content)["outcome"] == "see_officer"
    assert mail.outbox == []  # the answer is ready to send, and Satgas has not been told yet
    response.close()
    assert len(mail.outbox) == 1
