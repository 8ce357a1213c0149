"""Database constraints on visits and scan events: the rules hold even for code that skips the services."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.factories import EntranceFactory, PersonFactory, VisitFactory
from visitors.models import ScanEvent


def close(visit, *, at: datetime.datetime | None = None, by: str = "person") -> None:
    visit.checked_out_at = at or visit.checked_in_at + datetime.timedelta(hours=1)
    visit.closed_by = by
    visit.save()


def scan_event(**fields) -> ScanEvent:
    entrance = fields.pop("entrance", None) or EntranceFactory()
    defaults = {"outcome": "admitted", "reason": "ok", "created_at": timezone.now()}
    return ScanEvent.objects.create(entrance=entrance, office=entrance.office, **{**defaults, **fields})


@pytest.mark.django_db
def test_second_open_visit_for_one_person_is_refused():
    person = PersonFactory()
    VisitFactory(person=person)

    with pytest.raises(IntegrityError), transaction.atomic():
        VisitFactory(person=person)


@pytest.mark.django_db
def test_second_visit_is_allowed_once_the_first_is_closed():
    person = PersonFactory()
    first = VisitFactory(person=person)
    close(first)

    second = VisitFactory(person=person)

    assert second.is_open
    assert person.visits.count() == 2


@pytest.mark.django_db
def test_check_out_before_check_in_is_refused():
    visit = VisitFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        close(visit, at=visit.checked_in_at - datetime.timedelta(minutes=1))


@pytest.mark.django_db
def test_closed_visit_without_closed_by_is_refused():
    visit = VisitFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        close(visit, by="")


@pytest.mark.django_db
def test_open_visit_with_closed_by_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitFactory(closed_by="system")


@pytest.mark.django_db
def test_closed_visit_with_unknown_closer_is_refused():
    visit = VisitFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        close(visit, by="robot")


@pytest.mark.django_db
def test_invalid_visit_kind_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitFactory(kind="vendor")


@pytest.mark.django_db
def test_scan_event_nonce_is_unique():
    scan_event(nonce="phone-retry-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        scan_event(nonce="phone-retry-1")


@pytest.mark.django_db
def test_scan_events_without_a_nonce_do_not_collide():
    scan_event(nonce=None)
    scan_event(nonce=None)

    assert ScanEvent.objects.filter(nonce__isnull=True).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [{"outcome": "maybe"}, {"reason": "felt_like_it"}, {"action": "wave"}],
    ids=["outcome", "reason", "action"],
)
def test_scan_event_with_an_unknown_code_is_refused(fields):
    entrance = EntranceFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        scan_event(entrance=entrance, **fields)


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["Visit", "ScanEvent"])
def test_every_reference_leads_some_index(model):
    """Keys without an index of their own are covered by a composite or partial one, so deleting a user, an
    entrance or a visit never scans the whole table for rows that point at it."""
    from django.db import connection

    import visitors.models

    model_class = getattr(visitors.models, model)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model_class._meta.db_table)
    leading = {info["columns"][0] for info in constraints.values() if (info["index"] or info["unique"])}
    references = [f.column for f in model_class._meta.concrete_fields if f.is_relation]
    assert references
    assert [column for column in references if column not in leading] == []


@pytest.mark.django_db
def test_every_declared_constraint_and_index_exists_in_the_migrated_database():
    """Migrations and models agree: a migration that dropped one (Django drops every index on a column when a
    foreign key loses db_index, unique ones included) would leave the rule in code only."""
    from django.apps import apps
    from django.db import connection

    missing = []
    with connection.cursor() as cursor:
        for app_label in ("offices", "screening", "visitors"):
            for model in apps.get_app_config(app_label).get_models():
                found = connection.introspection.get_constraints(cursor, model._meta.db_table)
                for declared in [*model._meta.constraints, *model._meta.indexes]:
                    if declared.name not in found:
                        missing.append(f"{model._meta.label}.{declared.name}")
    assert missing == []
