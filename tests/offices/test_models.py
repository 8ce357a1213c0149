"""Database constraints on offices and their occupancy counters."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from offices.models import OfficeOccupancy
from tests.factories import EntranceFactory, OfficeFactory


@pytest.mark.django_db
@pytest.mark.parametrize("counter", ["staff_inside", "visitors_inside"])
def test_negative_occupancy_counter_is_refused(counter):
    office = OfficeFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        OfficeOccupancy.objects.filter(office=office).update(**{counter: F(counter) - 1})


@pytest.mark.django_db
def test_office_without_capacity_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        OfficeFactory(capacity=0)


@pytest.mark.django_db
def test_office_closing_before_it_opens_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        OfficeFactory(opens_at=datetime.time(16, 0), closes_at=datetime.time(8, 0))


@pytest.mark.django_db
def test_entrance_names_are_unique_within_an_office():
    entrance = EntranceFactory(name="Pintu Utama")

    with pytest.raises(IntegrityError), transaction.atomic():
        EntranceFactory(office=entrance.office, name="Pintu Utama")
    assert EntranceFactory(name="Pintu Utama").office != entrance.office
