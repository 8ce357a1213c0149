"""Short entrance codes: 8 Crockford base32 characters, unique in the database, read back in any form people type
them, rotated with the QR code, and filled in for entrances that existed before them."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from offices.models import Entrance
from offices.services import entrance_code_rotate
from offices.short_codes import ALPHABET, short_code_grouped, short_code_new, short_code_normalise
from tests.factories import EntranceFactory

CROCKFORD = re.compile(r"^[0-9A-HJKMNP-TV-Z]{8}$")


# --- the code itself (pure) -------------------------------------------------------------------------------------


def test_alphabet_is_crockford_base32_without_i_l_o_u():
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert not set("ILOU") & set(ALPHABET)


def test_new_codes_are_8_characters_of_the_alphabet_and_use_all_of_it():
    codes = [short_code_new() for _ in range(2000)]

    assert all(CROCKFORD.match(code) for code in codes)
    assert set("".join(codes)) == set(ALPHABET)  # 16,000 draws: every character turns up
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize(
    "typed",
    ["ABCD EFGH", "abcd efgh", "abcd-efgh", "AbCd–EfGh", " abcdefgh ", "ab cd ef gh", "ABCD\u00a0EFGH"],
)
def test_normalise_ignores_case_spaces_and_dashes(typed):
    assert short_code_normalise(typed) == "ABCDEFGH"


def test_normalise_reads_look_alikes_as_crockford_does():
    # i, I, l and L are 1; o and O are 0.
    assert short_code_normalise("iIlL oO2z") == "1111002Z"


@pytest.mark.parametrize(
    "typed",
    ["", None, "ABCDEFG", "ABCDEFGHJ", "ABCDEFGU", "ABCD_EFGH", "ABCD.EFGH", "ABCDEFG\u00e9", "１２３４５６７８"]
    + ["A" * 500],
)
def test_normalise_refuses_what_cannot_be_a_short_code(typed):
    assert short_code_normalise(typed) is None


def test_grouped_is_two_groups_of_four():
    assert short_code_grouped("ABCD1234") == "ABCD 1234"


# --- the model and the database ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_new_entrance_gets_its_own_short_code():
    first, second = EntranceFactory(), EntranceFactory()

    assert CROCKFORD.match(first.short_code) and CROCKFORD.match(second.short_code)
    assert first.short_code != second.short_code


@pytest.mark.django_db
def test_database_refuses_two_entrances_with_one_short_code():
    first, second = EntranceFactory(), EntranceFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Entrance.objects.filter(pk=second.pk).update(short_code=first.short_code)


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["ABCDEFGI", "abcdefgh", "ABCDEFG", "ABCD EFG"])
def test_database_refuses_a_short_code_outside_crockford_base32(bad):
    entrance = EntranceFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Entrance.objects.filter(pk=entrance.pk).update(short_code=bad)


@pytest.mark.django_db
def test_a_clashing_short_code_is_drawn_again_on_create():
    taken = EntranceFactory()
    clash = Entrance(office=taken.office, name="Pintu Baru", short_code=taken.short_code)

    clash.save()

    clash.refresh_from_db()
    assert clash.short_code != taken.short_code
    assert CROCKFORD.match(clash.short_code)


@pytest.mark.django_db
def test_another_constraint_still_fails_and_is_not_retried():
    taken = EntranceFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Entrance(office=taken.office, name=taken.name).save()  # same office and name


@pytest.mark.django_db
def test_rotating_the_code_rotates_the_short_code_too():
    entrance = EntranceFactory()
    old_code, old_short = entrance.code, entrance.short_code

    entrance_code_rotate(entrance=entrance, actor=None)

    entrance.refresh_from_db()
    assert entrance.code != old_code
    assert entrance.short_code != old_short and CROCKFORD.match(entrance.short_code)
    assert not Entrance.objects.filter(short_code=old_short).exists()


# --- the migrations ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migrations_give_existing_entrances_distinct_short_codes():
    before = [("offices", "0002_entrance_short_code")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    office = old_apps.get_model("offices", "Office").objects.create(name="Dinas Lama", capacity=10)
    OldEntrance = old_apps.get_model("offices", "Entrance")
    for number in range(5):
        OldEntrance.objects.create(office=office, name=f"Pintu {number}", code=f"old-code-{number}")
    assert set(OldEntrance.objects.values_list("short_code", flat=True)) == {None}

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    codes = list(Entrance.objects.filter(office__name="Dinas Lama").values_list("short_code", flat=True))
    assert len(codes) == 5 and len(set(codes)) == 5
    assert all(CROCKFORD.match(code) for code in codes)


# --- admin -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_shows_the_short_code_and_never_takes_a_typed_one(admin_client):
    entrance = EntranceFactory()
    url = f"/admin/offices/entrance/{entrance.pk}/change/"

    page = admin_client.get(url).content.decode()
    assert entrance.short_code in page
    assert 'name="short_code"' not in page  # read-only: no field to type into

    admin_client.post(url, {"office": entrance.office_id, "name": entrance.name, "short_code": "ZZZZZZZZ"})
    entrance.refresh_from_db()
    assert entrance.short_code != "ZZZZZZZZ"
