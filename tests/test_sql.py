"""Raw SQL helpers of the check-in's hot path: INSERTs that write what save() writes, and prepared statements."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from denpasar_checkin.sql import prepared_cursor, row_insert
from tests.factories import EntranceFactory, PersonFactory
from tests.test_settings import ROOT
from visitors.models import Device, ScanEvent

pytestmark = pytest.mark.django_db


def _event_values(entrance, **extra) -> dict:
    return {
        "entrance_id": entrance.pk,
        "office_id": entrance.office_id,
        "outcome": "denied",
        "reason": "not_vaccinated",
        "created_at": timezone.now(),
        **extra,
    }


def test_row_insert_fills_the_other_columns_as_save_would():
    entrance = EntranceFactory()
    event_id = row_insert(ScanEvent, values=_event_values(entrance))
    event = ScanEvent.objects.get(pk=event_id)
    # Field defaults (action, alert, dependants) and blank strings, exactly as ScanEvent.objects.create gives them.
    reference = ScanEvent.objects.create(**_event_values(entrance))
    for field in ("action", "alert", "dependants", "colour", "kind", "note", "resolution", "nonce", "visit_id"):
        assert getattr(event, field) == getattr(reference, field), field
    assert (event.action, event.alert, event.dependants, event.note) == ("checkin", False, 0, "")


def test_row_insert_leaves_out_nullable_columns_without_a_default():
    entrance = EntranceFactory()
    with CaptureQueriesContext(connection) as queries:
        event_id = row_insert(ScanEvent, values=_event_values(entrance))
    event = ScanEvent.objects.get(pk=event_id)
    # NULL from the table, as save() would have written it; and the column is not sent at all.
    assert (event.resolved_at, event.resolved_by_id, event.officer_id, event.person_id) == (None, None, None, None)
    assert "resolved_at" not in queries.captured_queries[0]["sql"]
    assert "resolution_note" in queries.captured_queries[0]["sql"]  # blank text is sent: the table has no default


def test_row_insert_sets_auto_now_add_columns():
    person = PersonFactory()
    before = timezone.now()
    device_id = row_insert(Device, values={"token_hash": "a" * 64, "person_id": person.pk})
    assert Device.objects.get(pk=device_id).created_at >= before - datetime.timedelta(seconds=1)


def test_row_insert_names_an_unknown_column():
    with pytest.raises(TypeError, match="no column for office"):
        row_insert(ScanEvent, values={"office": 1})


def test_row_insert_goes_through_the_orm_when_save_signals_listen():
    entrance = EntranceFactory()
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((instance.pk, created))

    post_save.connect(receiver, sender=ScanEvent)
    try:
        event_id = row_insert(ScanEvent, values=_event_values(entrance))
    finally:
        post_save.disconnect(receiver, sender=ScanEvent)
    assert seen == [(event_id, True)]


def test_row_insert_raises_djangos_integrity_error_and_writes_nothing():
    entrance = EntranceFactory()
    row_insert(ScanEvent, values=_event_values(entrance, nonce="same-nonce-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(ScanEvent, values=_event_values(entrance, nonce="same-nonce-1"))
    assert ScanEvent.objects.count() == 1


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_prepared_cursor_plans_a_statement_once_per_connection(require_postgres):
    entrance = EntranceFactory()
    sql = "SELECT code FROM offices_entrance WHERE id = %s AND active = %s"
    for _ in range(3):
        with prepared_cursor() as cursor:
            cursor.execute(sql, [entrance.pk, True])
            assert cursor.fetchone() == (entrance.code,)
    prepared = [statement for statement in _prepared_statements() if "FROM offices_entrance WHERE id = $1" in statement]
    assert len(prepared) == 1


def test_prepared_cursor_logs_the_statement_with_its_values(require_postgres):
    entrance = EntranceFactory()
    with CaptureQueriesContext(connection) as captured, prepared_cursor() as cursor:
        cursor.execute("SELECT code FROM offices_entrance WHERE id = %s", [entrance.pk])
    assert captured.captured_queries[-1]["sql"] == f"SELECT code FROM offices_entrance WHERE id = {entrance.pk}"


def test_prepared_cursor_raises_djangos_errors(require_postgres):
    entrance = EntranceFactory()
    row_insert(ScanEvent, values=_event_values(entrance, nonce="same-nonce-2"))
    row_insert(ScanEvent, values=_event_values(entrance))
    with pytest.raises(IntegrityError), transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute("UPDATE visitors_scanevent SET nonce = %s WHERE nonce IS NULL", ["same-nonce-2"])


def test_without_prepared_statements_the_cursor_is_djangos_own(require_postgres):
    options = connection.settings_dict["OPTIONS"]
    saved = options.pop("prepare_threshold", None)
    try:
        with prepared_cursor() as cursor:
            cursor.execute("SELECT 1 AS never_prepared_here WHERE %s", [True])
    finally:
        if saved is not None:
            options["prepare_threshold"] = saved
    assert not [s for s in _prepared_statements() if "never_prepared_here" in s]


@pytest.mark.parametrize(
    ("environment", "expected"),
    [({}, "0"), ({"DB_PREPARED_STATEMENTS": "false"}, "None"), ({"DB_POOL_MAX_SIZE": "0"}, "None")],
    ids=["default", "turned-off", "no-pool"],
)
def test_db_prepared_statements_setting(environment, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("DB_PREPARED_STATEMENTS", "DB_POOL_MAX_SIZE")}
    env |= {"DEBUG": "true", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/never-used", **environment}
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold'))"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr
